// GlobalAveragePool, GlobalMaxPool and GlobalLpPool: [N, C, spatial...] -> [N, C, 1...],
// one contiguous row reduction per (n, c) plane.
#include <cmath>

#include "math/vector_math.h"
#include "ops/nn/nn_common.h"
#include "ops/nn/nn_ops.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

enum class GlobalKind { kAverage, kMax, kLp };

template <typename T>
void global_pool_typed(const T* x, T* y, int64_t planes, int64_t n, GlobalKind kind, float p) {
  using C = CalcType<T>;
  constexpr bool kDirect = std::is_same_v<T, C>;
  std::vector<C> buf(kDirect && kind != GlobalKind::kLp ? 0 : static_cast<size_t>(n));
  for (int64_t pl = 0; pl < planes; ++pl) {
    const T* src = x + pl * n;
    const C* row;
    if constexpr (kDirect) row = src;
    if (!kDirect || kind == GlobalKind::kLp) {
      for (int64_t i = 0; i < n; ++i) {
        const C v = load_as<C>(src[i]);
        buf[i] = kind != GlobalKind::kLp ? v : (p == 2.0f ? v * v : std::pow(std::abs(v), static_cast<C>(p)));
      }
      row = buf.data();
    }
    C r = C(0);
    switch (kind) {
      case GlobalKind::kAverage: r = math::row_sum(row, n) / static_cast<C>(n); break;
      case GlobalKind::kMax: r = math::row_max(row, n); break;
      case GlobalKind::kLp: {
        const C s = math::row_sum(row, n);
        r = p == 2.0f ? std::sqrt(s) : std::pow(s, C(1) / static_cast<C>(p));
        break;
      }
    }
    y[pl] = store_as<T>(r);
  }
}

class GlobalPoolKernel final : public OpKernel {
 public:
  GlobalPoolKernel(GlobalKind kind, float p) : kind_(kind), p_(p) {}

  Status infer(InferContext& ctx) const override {
    const DType dt = ctx.input_dtype(0);
    KILN_RETURN_IF_ERROR(expect_float_dtype("X", dt));
    const SymShape* in = ctx.input_shape(0);
    if (!in) {
      ctx.set_output(0, dt, std::nullopt);
      return Status::ok();
    }
    KILN_RETURN_IF_ERROR(expect_nc_rank(in));
    SymShape out = *in;
    for (size_t i = 2; i < out.size(); ++i) out[i] = Dim(1);
    ctx.set_output(0, dt, out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    KILN_RETURN_IF_ERROR(expect_nc_rank(x.shape()));
    const int64_t planes = x.dim(0) * x.dim(1);
    int64_t n = 1;
    for (size_t i = 2; i < x.rank(); ++i) n *= x.dim(i);
    if (planes == 0) return Status::ok();
    if (n == 0) {
      return invalid_argument("input 'X' has shape " + shape_to_string(x.shape()) + ": empty spatial dims cannot be pooled");
    }
    return dispatch_float(x.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      global_pool_typed<T>(x.data<T>(), ctx.output(0).data<T>(), planes, n, kind_, p_);
      return Status::ok();
    });
  }

 private:
  GlobalKind kind_;
  float p_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_global_average_pool(const KernelInit&) {
  return std::unique_ptr<OpKernel>(std::make_unique<GlobalPoolKernel>(GlobalKind::kAverage, 0.0f));
}
Result<std::unique_ptr<OpKernel>> make_global_max_pool(const KernelInit&) {
  return std::unique_ptr<OpKernel>(std::make_unique<GlobalPoolKernel>(GlobalKind::kMax, 0.0f));
}
Result<std::unique_ptr<OpKernel>> make_global_lp_pool(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(float p, attr_float(init.node, "p", 2.0f));
  if (!(p > 0)) {
    return invalid_model(init.node.describe() + ": attribute 'p' is " + std::to_string(p) + " (expected > 0)");
  }
  return std::unique_ptr<OpKernel>(std::make_unique<GlobalPoolKernel>(GlobalKind::kLp, p));
}

}  // namespace kiln
