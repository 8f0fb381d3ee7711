// Trilu: keeps the upper (j >= i + k) or lower (j <= i + k) triangle of each matrix in
// the last two dims and zeroes the rest. Zero is all-zero bytes in every dtype.
#include <algorithm>
#include <cstring>

#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

class TriluOp final : public OpKernel {
 public:
  explicit TriluOp(bool upper) : upper_(upper) {}

  Status infer(InferContext& ctx) const override {
    const SymShape* in = ctx.input_shape(0);
    if (in && in->size() < 2) {
      return invalid_argument("input 'input' has shape " + sym_shape_to_string(*in) + " (expected rank >= 2)");
    }
    return infer_same_as_input(ctx);
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (x.rank() < 2) {
      return invalid_argument("input 'input' has shape " + shape_to_string(x.shape()) + " (expected rank >= 2)");
    }
    int64_t k = 0;
    if (ctx.has_input(1)) {
      KILN_ASSIGN_OR_RETURN(k, read_int_scalar(ctx.input(1), "k"));
    }
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, x.dtype(), x.shape()));
    if (x.numel() == 0) return Status::ok();
    if (y->raw() != x.raw()) std::memcpy(y->raw(), x.raw(), x.nbytes());
    const int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
    // Beyond these bounds k changes nothing; clamping keeps i + k from overflowing.
    k = std::clamp<int64_t>(k, -rows - 1, cols + 1);
    const int64_t matrices = x.numel() / (rows * cols);
    const size_t elem = dtype_size(x.dtype());
    char* base = static_cast<char*>(y->raw());
    for (int64_t m = 0; m < matrices; ++m) {
      for (int64_t i = 0; i < rows; ++i) {
        char* row = base + static_cast<size_t>((m * rows + i) * cols) * elem;
        // Zero [begin, end) of this row.
        const int64_t begin = upper_ ? 0 : std::clamp<int64_t>(i + k + 1, 0, cols);
        const int64_t end = upper_ ? std::clamp<int64_t>(i + k, 0, cols) : cols;
        if (end > begin) std::memset(row + static_cast<size_t>(begin) * elem, 0, static_cast<size_t>(end - begin) * elem);
      }
    }
    return Status::ok();
  }

 private:
  bool upper_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_trilu(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t upper, attr_int(init.node, "upper", 1));
  return std::unique_ptr<OpKernel>(new TriluOp(upper != 0));
}

}  // namespace kiln
