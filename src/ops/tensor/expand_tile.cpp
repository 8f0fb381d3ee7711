// Expand (broadcast to a shape) and Tile (repeat along each axis). Both are one strided
// copy: broadcast dims read with stride 0, and a tiled dim d*r is read as [r, d] with
// strides [0, stride of d].
#include <climits>

#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

class ExpandOp final : public OpKernel {
 public:
  Status infer(InferContext& ctx) const override {
    const SymShape* in = ctx.input_shape(0);
    const DType dtype = ctx.input_dtype(0);
    KILN_ASSIGN_OR_RETURN(auto shape, known_int_input(ctx, 1, "shape"));
    if (!in) {
      ctx.set_output(0, dtype, std::nullopt);
      return Status::ok();
    }
    if (shape) {
      Result<SymShape> out = broadcast_sym_shapes(*in, to_sym_shape(*shape));
      if (!out.is_ok()) return out.status().with_context("inputs 'input' and 'shape'");
      ctx.set_output(0, dtype, *out);
      return Status::ok();
    }
    const SymShape* shape_shape = ctx.input_shape(1);
    if (!shape_shape || shape_shape->size() != 1 || !(*shape_shape)[0].known()) {
      ctx.set_output(0, dtype, std::nullopt);
      return Status::ok();
    }
    // Unknown target values: a known input dim other than 1 survives broadcasting.
    const size_t rank = std::max(in->size(), static_cast<size_t>((*shape_shape)[0].value));
    SymShape out = unknown_dims(rank);
    for (size_t i = 0; i < in->size(); ++i) {
      const Dim& d = (*in)[i];
      if (d.known() && d.value != 1) out[rank - in->size() + i] = d;
    }
    ctx.set_output(0, dtype, out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (ctx.input(1).rank() != 1) {
      return invalid_argument("input 'shape' has shape " + shape_to_string(ctx.input(1).shape()) + " (expected rank 1)");
    }
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> shape, read_int_values(ctx.input(1), "shape"));
    Result<Shape> out = broadcast_shapes(x.shape(), shape);
    if (!out.is_ok()) return out.status().with_context("inputs 'input' and 'shape'");
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, x.dtype(), *out));
    copy_strided(x.raw(), y->raw(), dtype_size(x.dtype()), *out, broadcast_strides(x.shape(), *out));
    return Status::ok();
  }
};

class TileOp final : public OpKernel {
 public:
  Status infer(InferContext& ctx) const override {
    const SymShape* in = ctx.input_shape(0);
    const DType dtype = ctx.input_dtype(0);
    KILN_ASSIGN_OR_RETURN(auto repeats, known_int_input(ctx, 1, "repeats"));
    if (!in) {
      ctx.set_output(0, dtype, std::nullopt);
      return Status::ok();
    }
    SymShape out = unknown_dims(in->size());
    if (repeats) {
      KILN_RETURN_IF_ERROR(check_repeats(*repeats, in->size()));
      for (size_t i = 0; i < in->size(); ++i) {
        const Dim& d = (*in)[i];
        const int64_t r = (*repeats)[i];
        out[i] = d.known() ? Dim(d.value * r) : (r == 1 ? d : (r == 0 ? Dim(0) : Dim::unknown()));
      }
    }
    ctx.set_output(0, dtype, out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> repeats, read_int_values(ctx.input(1), "repeats"));
    KILN_RETURN_IF_ERROR(check_repeats(repeats, x.rank()));
    const std::vector<int64_t> in_strides = contiguous_strides(x.shape());
    Shape out_shape(x.rank()), view;
    std::vector<int64_t> strides;
    for (size_t i = 0; i < x.rank(); ++i) {
      if (x.dim(i) != 0 && repeats[i] > INT64_MAX / x.dim(i)) {
        return resource_exhausted("input 'repeats' " + ints_to_string(repeats) + " makes the output too large");
      }
      out_shape[i] = x.dim(i) * repeats[i];
      view.insert(view.end(), {repeats[i], x.dim(i)});
      strides.insert(strides.end(), {0, in_strides[i]});
    }
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, x.dtype(), out_shape));
    copy_strided(x.raw(), y->raw(), dtype_size(x.dtype()), view, strides);
    return Status::ok();
  }

 private:
  static Status check_repeats(const std::vector<int64_t>& repeats, size_t rank) {
    if (repeats.size() != rank) {
      return invalid_argument("input 'repeats' has " + std::to_string(repeats.size()) +
                              " values (expected one per dim of input 'input', " + std::to_string(rank) + ")");
    }
    for (int64_t r : repeats) {
      if (r < 0) return invalid_argument("input 'repeats' " + ints_to_string(repeats) + " has a negative value");
    }
    return Status::ok();
  }
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_expand(const KernelInit&) { return std::unique_ptr<OpKernel>(new ExpandOp()); }
Result<std::unique_ptr<OpKernel>> make_tile(const KernelInit&) { return std::unique_ptr<OpKernel>(new TileOp()); }

}  // namespace kiln
