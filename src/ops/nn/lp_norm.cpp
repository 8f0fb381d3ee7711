// LpNormalization: x divided by its L1 or L2 norm along one axis. A zero norm gives 0
// (not NaN), as the reference does.
#include <cmath>

#include "ops/nn/nn_common.h"
#include "ops/nn/nn_ops.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

template <typename T>
void lp_norm_typed(const T* x, T* y, const AxisView& v, int64_t p) {
  using C = CalcType<T>;
  std::vector<C> norm(static_cast<size_t>(v.inner));
  for (int64_t o = 0; o < v.outer; ++o) {
    const T* xs = x + o * v.axis_len * v.inner;
    T* ys = y + o * v.axis_len * v.inner;
    std::fill(norm.begin(), norm.end(), C(0));
    for (int64_t i = 0; i < v.axis_len; ++i) {
      for (int64_t j = 0; j < v.inner; ++j) {
        const C e = load_as<C>(xs[i * v.inner + j]);
        norm[j] += p == 1 ? std::abs(e) : e * e;
      }
    }
    for (C& n : norm) n = p == 1 ? n : std::sqrt(n);
    for (int64_t i = 0; i < v.axis_len; ++i) {
      for (int64_t j = 0; j < v.inner; ++j) {
        const C e = load_as<C>(xs[i * v.inner + j]);
        ys[i * v.inner + j] = store_as<T>(norm[j] == C(0) ? C(0) : e / norm[j]);
      }
    }
  }
}

class LpNormKernel final : public OpKernel {
 public:
  LpNormKernel(int64_t axis, int64_t p) : axis_(axis), p_(p) {}

  Status infer(InferContext& ctx) const override {
    const DType dt = ctx.input_dtype(0);
    KILN_RETURN_IF_ERROR(expect_float_dtype("input", dt));
    if (const SymShape* s = ctx.input_shape(0)) {
      Result<int64_t> axis = normalize_axis(axis_, static_cast<int64_t>(s->size()), "attribute 'axis'");
      if (!axis.is_ok()) return axis.status();
    }
    return infer_same_as_input(ctx);
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, static_cast<int64_t>(x.rank()), "attribute 'axis'"));
    if (x.numel() == 0) return Status::ok();
    const AxisView v = axis_view(x.shape(), axis);
    return dispatch_float(x.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      lp_norm_typed<T>(x.data<T>(), ctx.output(0).data<T>(), v, p_);
      return Status::ok();
    });
  }

 private:
  int64_t axis_;
  int64_t p_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_lp_normalization(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_int(init.node, "axis", -1));
  KILN_ASSIGN_OR_RETURN(int64_t p, attr_int(init.node, "p", 2));
  if (p != 1 && p != 2) {
    return invalid_model(init.node.describe() + ": attribute 'p' is " + std::to_string(p) + " (expected 1 or 2)");
  }
  return std::unique_ptr<OpKernel>(std::make_unique<LpNormKernel>(axis, p));
}

}  // namespace kiln
