// Identity and Dropout. Both pass the input through as a view: kiln does inference only,
// and inference-mode Dropout is the identity (its optional mask is all true).
#include <cstring>

#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

class IdentityOp final : public OpKernel {
 public:
  Status infer(InferContext& ctx) const override { return infer_same_as_input(ctx); }
  Status run(RunContext& ctx) const override {
    ctx.set_output(0, ctx.input(0));
    return Status::ok();
  }
};

class DropoutOp final : public OpKernel {
 public:
  // Before opset 10 the mask has the data's dtype; from 10 on it is bool. From opset 12
  // ratio and training_mode are inputs.
  DropoutOp(bool mask_is_bool, bool mode_inputs) : mask_is_bool_(mask_is_bool), mode_inputs_(mode_inputs) {}

  Status infer(InferContext& ctx) const override {
    if (mode_inputs_ && ctx.has_input(2) && ctx.input_value(2)) {
      const Tensor* ratio = ctx.has_input(1) ? ctx.input_value(1) : nullptr;
      if (!ctx.has_input(1) || ratio) KILN_RETURN_IF_ERROR(check_mode(ctx.input_value(2), ratio));
    }
    const SymShape* shape = ctx.input_shape(0);
    const DType dtype = ctx.input_dtype(0);
    ctx.set_output(0, dtype, optional_shape(shape));
    if (ctx.num_outputs() > 1 && ctx.has_output(1)) {
      ctx.set_output(1, mask_is_bool_ ? DType::kBool : dtype, optional_shape(shape));
    }
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (mode_inputs_ && ctx.has_input(2)) {
      KILN_RETURN_IF_ERROR(check_mode(&ctx.input(2), ctx.has_input(1) ? &ctx.input(1) : nullptr));
    }
    ctx.set_output(0, x);
    if (ctx.num_outputs() > 1 && ctx.has_output(1)) {
      const DType mask_dtype = mask_is_bool_ ? DType::kBool : x.dtype();
      KILN_ASSIGN_OR_RETURN(Tensor * mask, prepare_output(ctx, 1, mask_dtype, x.shape()));
      // Everything is kept: true, or 1 in the data's dtype for the old float mask.
      KILN_RETURN_IF_ERROR(dispatch_all(mask_dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T one = store_as<T>(1.0f);
        fill_elements(mask->raw(), sizeof(T), mask->numel(), &one);
        return Status::ok();
      }));
    }
    return Status::ok();
  }

 private:
  // Training mode draws a random mask; kiln only runs it when nothing is dropped.
  static Status check_mode(const Tensor* training_mode, const Tensor* ratio) {
    if (training_mode->numel() != 1) {
      return invalid_argument("input 'training_mode' has shape " + shape_to_string(training_mode->shape()) +
                              " (expected a scalar)");
    }
    if (training_mode->get_as_double(0) == 0) return Status::ok();
    const double r = ratio && ratio->numel() > 0 ? ratio->get_as_double(0) : 0.5;
    if (r != 0) {
      return unsupported("Dropout with training_mode=true and ratio " + std::to_string(r) +
                         " is random; kiln runs inference only (set training_mode=false)");
    }
    return Status::ok();
  }

  bool mask_is_bool_;
  bool mode_inputs_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_identity(const KernelInit&) {
  return std::unique_ptr<OpKernel>(new IdentityOp());
}

Result<std::unique_ptr<OpKernel>> make_dropout(const KernelInit& init) {
  return std::unique_ptr<OpKernel>(new DropoutOp(init.opset >= 10, init.opset >= 12));
}

}  // namespace kiln
