// Gather (take along an axis) and GatherElements (numpy take_along_axis). Indices are
// int32 or int64, may be negative (counted from the end, once), and are all checked
// before anything is read, so a bad index is an error and never an out-of-bounds read.
#include <cstring>

#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {

namespace {

class GatherOp final : public OpKernel {
 public:
  explicit GatherOp(int64_t axis) : axis_(axis) {}

  Status infer(InferContext& ctx) const override {
    const SymShape* data = ctx.input_shape(0);
    const SymShape* indices = ctx.input_shape(1);
    if (!data || !indices) {
      ctx.set_output(0, ctx.input_dtype(0), std::nullopt);
      return Status::ok();
    }
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, static_cast<int64_t>(data->size()), "attribute 'axis'"));
    SymShape out(data->begin(), data->begin() + axis);
    out.insert(out.end(), indices->begin(), indices->end());
    out.insert(out.end(), data->begin() + axis + 1, data->end());
    ctx.set_output(0, ctx.input_dtype(0), out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& data = ctx.input(0);
    const Tensor& indices = ctx.input(1);
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, static_cast<int64_t>(data.rank()), "attribute 'axis'"));
    const size_t a = static_cast<size_t>(axis);
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> idx, checked_indices(indices, axis, data.dim(a)));
    Shape out_shape(data.shape().begin(), data.shape().begin() + axis);
    out_shape.insert(out_shape.end(), indices.shape().begin(), indices.shape().end());
    out_shape.insert(out_shape.end(), data.shape().begin() + axis + 1, data.shape().end());
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, data.dtype(), out_shape));
    const auto [outer, axis_dim, inner] = axis_view(data.shape(), axis);
    const int64_t n = static_cast<int64_t>(idx.size());
    return dispatch_elem_size(dtype_size(data.dtype()), [&](auto tag) {
      using T = decltype(tag);
      const T* src = static_cast<const T*>(data.raw());
      T* dst = static_cast<T*>(y->raw());
      for (int64_t o = 0; o < outer; ++o) {
        const T* slab = src + o * axis_dim * inner;
        for (int64_t j = 0; j < n; ++j, dst += inner) {
          if (inner == 1) {
            *dst = slab[idx[static_cast<size_t>(j)]];
          } else {
            std::memcpy(dst, slab + idx[static_cast<size_t>(j)] * inner, static_cast<size_t>(inner) * sizeof(T));
          }
        }
      }
      return Status::ok();
    });
  }

 private:
  int64_t axis_;
};

class GatherElementsOp final : public OpKernel {
 public:
  explicit GatherElementsOp(int64_t axis) : axis_(axis) {}

  Status infer(InferContext& ctx) const override {
    ctx.set_output(0, ctx.input_dtype(0), optional_shape(ctx.input_shape(1)));
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& data = ctx.input(0);
    const Tensor& indices = ctx.input(1);
    const int64_t rank = static_cast<int64_t>(data.rank());
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, rank, "attribute 'axis'"));
    KILN_RETURN_IF_ERROR(check_indices_shape(data.shape(), indices.shape(), axis, "indices"));
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> idx, checked_indices(indices, axis, data.dim(static_cast<size_t>(axis))));
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, data.dtype(), indices.shape()));
    if (y->numel() == 0) return Status::ok();
    const std::vector<int64_t> ds = contiguous_strides(data.shape());
    return dispatch_elem_size(dtype_size(data.dtype()), [&](auto tag) {
      using T = decltype(tag);
      const T* src = static_cast<const T*>(data.raw());
      T* dst = static_cast<T*>(y->raw());
      for_each_element_offset(indices.shape(), ds, axis, [&](int64_t i, int64_t base) {
        dst[i] = src[base + idx[static_cast<size_t>(i)] * ds[static_cast<size_t>(axis)]];
      });
      return Status::ok();
    });
  }

 private:
  int64_t axis_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_gather(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_int(init.node, "axis", 0));
  return std::unique_ptr<OpKernel>(new GatherOp(axis));
}

Result<std::unique_ptr<OpKernel>> make_gather_elements(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_int(init.node, "axis", 0));
  return std::unique_ptr<OpKernel>(new GatherElementsOp(axis));
}

}  // namespace kiln
