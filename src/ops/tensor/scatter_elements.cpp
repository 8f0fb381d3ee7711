// ScatterElements (and its deprecated opset 9-10 name, Scatter): the inverse of
// GatherElements. Each update goes to its own position with the index replacing the
// coordinate along `axis`; `reduction` says how it combines with what is there.
#include <cstring>

#include "ops/op_util.h"
#include "ops/tensor/scatter_reduce.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

class ScatterElementsOp final : public OpKernel {
 public:
  ScatterElementsOp(int64_t axis, ScatterReduction r) : axis_(axis), reduction_(r) {}

  Status infer(InferContext& ctx) const override { return infer_same_as_input(ctx); }

  Status run(RunContext& ctx) const override {
    const Tensor& data = ctx.input(0);
    const Tensor& indices = ctx.input(1);
    const Tensor& updates = ctx.input(2);
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, static_cast<int64_t>(data.rank()), "attribute 'axis'"));
    if (updates.dtype() != data.dtype() || updates.shape() != indices.shape()) {
      return invalid_argument("input 'updates' has shape " + shape_to_string(updates.shape()) + " and dtype " +
                              dtype_name(updates.dtype()) + " (expected the shape of 'indices', " +
                              shape_to_string(indices.shape()) + ", and dtype " + dtype_name(data.dtype()) + ")");
    }
    KILN_RETURN_IF_ERROR(check_indices_shape(data.shape(), indices.shape(), axis, "indices"));
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> idx, checked_indices(indices, axis, data.dim(static_cast<size_t>(axis))));
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, data.dtype(), data.shape()));
    if (y->raw() != data.raw() && data.nbytes()) std::memcpy(y->raw(), data.raw(), data.nbytes());
    const std::vector<int64_t> ds = contiguous_strides(data.shape());
    const int64_t axis_stride = ds[static_cast<size_t>(axis)];
    return dispatch_all(data.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* dst = y->data<T>();
      const T* upd = updates.data<T>();
      for_each_element_offset(indices.shape(), ds, axis, [&](int64_t i, int64_t base) {
        T& out = dst[base + idx[static_cast<size_t>(i)] * axis_stride];
        out = reduction_ == ScatterReduction::kNone ? upd[i] : scatter_combine(out, upd[i], reduction_);
      });
      return Status::ok();
    });
  }

 private:
  int64_t axis_;
  ScatterReduction reduction_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_scatter_elements(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_int(init.node, "axis", 0));
  KILN_ASSIGN_OR_RETURN(ScatterReduction r, parse_scatter_reduction(init.node));
  return std::unique_ptr<OpKernel>(new ScatterElementsOp(axis, r));
}

}  // namespace kiln
