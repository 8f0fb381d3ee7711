// Concat: joins tensors along one axis. Inputs may be empty along that axis.
#include <cstring>

#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

std::string input_name(size_t i) { return "input " + std::to_string(i); }

class ConcatOp final : public OpKernel {
 public:
  explicit ConcatOp(int64_t axis) : axis_(axis) {}

  Status infer(InferContext& ctx) const override {
    const size_t n = ctx.num_inputs();
    const SymShape* first = nullptr;
    for (size_t i = 0; i < n && !first; ++i) first = ctx.input_shape(i);
    const DType dtype = n ? ctx.input_dtype(0) : DType::kUndefined;
    if (!first) {
      ctx.set_output(0, dtype, std::nullopt);
      return Status::ok();
    }
    const int64_t rank = static_cast<int64_t>(first->size());
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, rank, "attribute 'axis'"));
    SymShape out = *first;
    int64_t axis_sum = 0;
    bool axis_known = true;
    for (size_t i = 0; i < n; ++i) {
      const SymShape* s = ctx.input_shape(i);
      const bool dtypes_known = ctx.input_dtype(i) != DType::kUndefined && dtype != DType::kUndefined;
      if (dtypes_known && ctx.input_dtype(i) != dtype) {
        return invalid_argument(input_name(i) + " has dtype " + dtype_name(ctx.input_dtype(i)) + " (expected " +
                                dtype_name(dtype) + " like input 0)");
      }
      if (!s) {
        axis_known = false;
        continue;
      }
      if (s->size() != first->size()) {
        return invalid_argument(input_name(i) + " has shape " + sym_shape_to_string(*s) + " (expected rank " +
                                std::to_string(rank) + " like " + sym_shape_to_string(*first) + ")");
      }
      for (int64_t d = 0; d < rank; ++d) {
        const Dim& dim = (*s)[static_cast<size_t>(d)];
        Dim& o = out[static_cast<size_t>(d)];
        if (d == axis) {
          if (dim.known()) axis_sum += dim.value;
          else axis_known = false;
        } else if (!o.known() && dim.known()) {
          o = dim;
        } else if (o.known() && dim.known() && o.value != dim.value) {
          return invalid_argument(input_name(i) + " has shape " + sym_shape_to_string(*s) +
                                  ", which differs from the other inputs in dim " + std::to_string(d) +
                                  " (expected " + std::to_string(o.value) + ")");
        }
      }
    }
    if (n > 1) out[static_cast<size_t>(axis)] = axis_known ? Dim(axis_sum) : Dim::unknown();
    ctx.set_output(0, dtype, out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const size_t n = ctx.num_inputs();
    if (n == 0) return invalid_argument("Concat needs at least one input");
    const Tensor& x0 = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x0.rank());
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, rank, "attribute 'axis'"));
    const size_t a = static_cast<size_t>(axis);
    Shape out_shape = x0.shape();
    out_shape[a] = 0;
    for (size_t i = 0; i < n; ++i) {
      const Tensor& x = ctx.input(i);
      bool ok = x.rank() == x0.rank() && x.dtype() == x0.dtype();
      for (size_t d = 0; ok && d < x.rank(); ++d) ok = d == a || x.dim(d) == x0.dim(d);
      if (!ok) {
        return invalid_argument(input_name(i) + " has shape " + shape_to_string(x.shape()) + " and dtype " +
                                dtype_name(x.dtype()) + " (expected " + dtype_name(x0.dtype()) +
                                " and the shape of input 0, " + shape_to_string(x0.shape()) +
                                ", except in axis " + std::to_string(axis) + ")");
      }
      out_shape[a] += x.dim(a);
    }
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, x0.dtype(), out_shape));
    const size_t elem = dtype_size(x0.dtype());
    const auto [outer, axis_len, inner] = axis_view(out_shape, static_cast<int64_t>(a));
    // Each input contributes one contiguous block per outer index.
    const size_t out_row = static_cast<size_t>(axis_len * inner) * elem;
    char* dst = static_cast<char*>(y->raw());
    size_t col = 0;
    for (size_t i = 0; i < n; ++i) {
      const Tensor& x = ctx.input(i);
      const size_t block = static_cast<size_t>(x.dim(a) * inner) * elem;
      if (block == 0) continue;
      const char* src = static_cast<const char*>(x.raw());
      for (int64_t o = 0; o < outer; ++o) {
        std::memcpy(dst + static_cast<size_t>(o) * out_row + col, src + static_cast<size_t>(o) * block, block);
      }
      col += block;
    }
    return Status::ok();
  }

 private:
  int64_t axis_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_concat(const KernelInit& init) {
  // Concat-1 made the axis optional (default 1); from opset 4 it is required.
  if (init.opset >= 4 && !has_attr(init.node, "axis")) {
    return invalid_model(init.node.describe() + ": required attribute 'axis' is missing");
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_int(init.node, "axis", 1));
  return std::unique_ptr<OpKernel>(new ConcatOp(axis));
}

}  // namespace kiln
