// OneHot: a new axis of size `depth` holding on_value at each index and off_value
// elsewhere. Negative indices count from the end once; indices outside [-depth, depth)
// give an all-off row, as the spec says (not an error).
#include <cstring>

#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

class OneHotOp final : public OpKernel {
 public:
  explicit OneHotOp(int64_t axis) : axis_(axis) {}

  Status infer(InferContext& ctx) const override {
    const SymShape* in = ctx.input_shape(0);
    const DType dtype = ctx.input_dtype(2);
    if (!in) {
      ctx.set_output(0, dtype, std::nullopt);
      return Status::ok();
    }
    const int64_t rank = static_cast<int64_t>(in->size()) + 1;
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, rank, "attribute 'axis'"));
    Dim depth = Dim::unknown();
    if (const Tensor* d = ctx.input_value(1)) {
      KILN_ASSIGN_OR_RETURN(int64_t v, read_depth(*d));
      depth = Dim(v);
    }
    SymShape out = *in;
    out.insert(out.begin() + axis, depth);
    ctx.set_output(0, dtype, out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& indices = ctx.input(0);
    const Tensor& values = ctx.input(2);
    KILN_ASSIGN_OR_RETURN(int64_t depth, read_depth(ctx.input(1)));
    if (values.numel() != 2) {
      return invalid_argument("input 'values' has shape " + shape_to_string(values.shape()) +
                              " (expected [off_value, on_value])");
    }
    if (indices.dtype() == DType::kBool || !is_supported_dtype(indices.dtype())) {
      return unsupported_dtype("OneHot", "indices", indices.dtype());
    }
    const int64_t rank = static_cast<int64_t>(indices.rank()) + 1;
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, rank, "attribute 'axis'"));
    Shape out_shape = indices.shape();
    out_shape.insert(out_shape.begin() + axis, depth);
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, values.dtype(), out_shape));
    const size_t elem = dtype_size(values.dtype());
    const char* off_value = static_cast<const char*>(values.raw());
    const char* on_value = off_value + elem;
    fill_elements(y->raw(), elem, y->numel(), off_value);
    int64_t inner = 1;
    for (size_t d = static_cast<size_t>(axis); d < indices.rank(); ++d) inner *= indices.dim(d);
    const std::vector<int64_t> idx = indices.to_int64_vector();  // float indices truncate
    char* out = static_cast<char*>(y->raw());
    for (size_t p = 0; p < idx.size(); ++p) {
      int64_t i = idx[p];
      if (!wrap_index(i, depth)) continue;
      const int64_t o = static_cast<int64_t>(p) / inner, r = static_cast<int64_t>(p) % inner;
      std::memcpy(out + static_cast<size_t>((o * depth + i) * inner + r) * elem, on_value, elem);
    }
    return Status::ok();
  }

 private:
  static Result<int64_t> read_depth(const Tensor& t) {
    if (t.numel() != 1 || t.dtype() == DType::kBool || !is_supported_dtype(t.dtype())) {
      return invalid_argument("input 'depth' has shape " + shape_to_string(t.shape()) + " and dtype " +
                              dtype_name(t.dtype()) + " (expected one number)");
    }
    const int64_t depth = t.get_as_int64(0);
    if (depth < 1) return invalid_argument("input 'depth' is " + std::to_string(depth) + " (expected >= 1)");
    return depth;
  }

  int64_t axis_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_one_hot(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_int(init.node, "axis", -1));
  return std::unique_ptr<OpKernel>(new OneHotOp(axis));
}

}  // namespace kiln
