// Clip: bounds from attributes `min`/`max` before opset 11, from optional scalar inputs
// since. The result is min(max(x, lo), hi) as in numpy.clip, so lo > hi gives hi and NaN
// passes through.
#include <limits>
#include <optional>

#include "ops/elementwise/ew_common.h"
#include "ops/elementwise/factories.h"
#include "ops/elementwise/unary.h"

namespace kiln::elementwise {
namespace {

class ClipKernel final : public OpKernel {
 public:
  // attr_min/attr_max are set for opset < 11; `bounds_from_inputs` for opset >= 11.
  ClipKernel(std::string where, bool bounds_from_inputs, std::optional<float> attr_min,
             std::optional<float> attr_max)
      : where_(std::move(where)),
        bounds_from_inputs_(bounds_from_inputs),
        attr_min_(attr_min),
        attr_max_(attr_max) {}

  Status infer(InferContext& ctx) const override {
    const DType dtype = ctx.input_dtype(0);
    KILN_RETURN_IF_ERROR(check_dtype(where_, "input", dtype, types()));
    if (bounds_from_inputs_) {
      for (size_t i = 1; i < 3; ++i) {
        if (ctx.has_input(i)) KILN_RETURN_IF_ERROR(check_bound_dtype(i, dtype, ctx.input_dtype(i)));
      }
    }
    ctx.set_output(0, dtype, optional_shape(ctx.input_shape(0)));
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, x.dtype(), x.shape()));
    const Tensor* min = nullptr;
    const Tensor* max = nullptr;
    if (bounds_from_inputs_) {
      if (ctx.num_inputs() > 1 && ctx.has_input(1)) min = &ctx.input(1);
      if (ctx.num_inputs() > 2 && ctx.has_input(2)) max = &ctx.input(2);
      for (const Tensor* b : {min, max}) {
        if (!b) continue;
        const size_t i = b == min ? 1 : 2;
        KILN_RETURN_IF_ERROR(check_bound_dtype(i, x.dtype(), b->dtype()));
        if (b->numel() != 1) {
          return invalid_argument(where_ + ": input '" + (i == 1 ? "min" : "max") +
                                  "' must be a scalar (got shape " + shape_to_string(b->shape()) + ")");
        }
      }
    }
    return dispatch_numeric(x.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      using C = compute_t<T>;
      C lo = std::numeric_limits<C>::lowest();
      C hi = std::numeric_limits<C>::max();
      if constexpr (std::is_floating_point_v<C>) {
        lo = -std::numeric_limits<C>::infinity();
        hi = std::numeric_limits<C>::infinity();
        if (attr_min_) lo = static_cast<C>(*attr_min_);
        if (attr_max_) hi = static_cast<C>(*attr_max_);
      }
      if (min) lo = load_compute(min->data<T>()[0]);
      if (max) hi = load_compute(max->data<T>()[0]);
      map_unary(x.data<T>(), y->data<T>(), x.numel(), [lo, hi](C v) {
        v = v < lo ? lo : v;
        return v > hi ? hi : v;
      });
      return Status::ok();
    });
  }

 private:
  TypeSet types() const { return bounds_from_inputs_ ? kNumericTypes : kFloatTypes; }

  Status check_bound_dtype(size_t i, DType x, DType bound) const {
    if (bound == x) return Status::ok();
    return invalid_argument(where_ + ": input '" + (i == 1 ? "min" : "max") + "' has dtype " +
                            dtype_name(bound) + "; expected " + dtype_name(x) + " like 'input'");
  }

  std::string where_;
  bool bounds_from_inputs_;
  std::optional<float> attr_min_;
  std::optional<float> attr_max_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_clip(const KernelInit& init) {
  std::optional<float> min, max;
  const bool from_inputs = init.opset >= 11;
  if (!from_inputs) {
    if (has_attr(init.node, "min")) {
      KILN_ASSIGN_OR_RETURN(min, attr_float(init.node, "min", 0.0f));
    }
    if (has_attr(init.node, "max")) {
      KILN_ASSIGN_OR_RETURN(max, attr_float(init.node, "max", 0.0f));
    }
  }
  return std::unique_ptr<OpKernel>(
      std::make_unique<ClipKernel>(init.node.describe(), from_inputs, min, max));
}

}  // namespace kiln::elementwise
