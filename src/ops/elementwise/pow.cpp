// Pow: base and exponent broadcast; since opset 12 they may have different dtypes. The
// output has the base's dtype.
#include <cmath>

#include "ops/elementwise/binary.h"
#include "ops/elementwise/factories.h"

namespace kiln::elementwise {
namespace {

constexpr TypeSet kBaseTypes = kFloatTypes | type_bit(DType::kInt32) | type_bit(DType::kInt64);
constexpr TypeSet kExponentTypes = kNumericTypes;

// Integer power by squaring, wrapping on overflow like repeated multiplication would.
// A negative exponent truncates 1 / base^-e toward zero: only |base| == 1 survives.
template <typename C, typename E>
C int_pow(C base, E e) {
  if constexpr (std::is_signed_v<E>) {
    if (e < 0) {
      if (base == C(1)) return C(1);
      if (base == C(-1)) return (e % 2 == 0) ? C(1) : C(-1);
      return C(0);
    }
  }
  C result = 1;
  uint64_t n = static_cast<uint64_t>(e);
  while (n) {
    if (n & 1) result = wrap_mul(result, base);
    base = wrap_mul(base, base);
    n >>= 1;
  }
  return result;
}

template <typename C, typename E>
C pow_elem(C base, E e) {
  if constexpr (std::is_floating_point_v<C>) {
    // float ^ float stays in float; anything involving a double or a wide integer
    // exponent computes in double.
    if constexpr (std::is_same_v<C, float> && (std::is_same_v<E, float> || sizeof(E) <= 2)) {
      return std::pow(base, static_cast<float>(e));
    } else {
      return static_cast<C>(std::pow(static_cast<double>(base), static_cast<double>(e)));
    }
  } else if constexpr (std::is_integral_v<E>) {
    return int_pow(base, e);
  } else {
    return float_to_int<C>(std::pow(static_cast<double>(base), static_cast<double>(e)));
  }
}

class PowKernel final : public OpKernel {
 public:
  PowKernel(std::string where, LegacyBroadcast lb) : where_(std::move(where)), legacy_(lb) {}

  Status infer(InferContext& ctx) const override {
    KILN_RETURN_IF_ERROR(check_dtype(where_, "X", ctx.input_dtype(0), kBaseTypes));
    KILN_RETURN_IF_ERROR(check_dtype(where_, "Y", ctx.input_dtype(1), kExponentTypes));
    KILN_ASSIGN_OR_RETURN(std::optional<SymShape> out,
                          binary_out_shape(legacy_, ctx.input_shape(0), ctx.input_shape(1), where_));
    ctx.set_output(0, ctx.input_dtype(0), std::move(out));
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& y = ctx.input(1);
    KILN_ASSIGN_OR_RETURN(BinaryShapes<Shape> s, binary_shapes(legacy_, x.shape(), y.shape(), where_));
    KILN_ASSIGN_OR_RETURN(Tensor * out, prepare_output(ctx, 0, x.dtype(), s.out));
    Result<BroadcastPlan<2>> plan = plan_broadcast<2>(s.out, {&x.shape(), &s.b}, {"X", "Y"});
    if (!plan.is_ok()) return plan.status().with_context(where_);
    return dispatch_numeric(x.dtype(), [&](auto base_tag) -> Status {
      using T = typename decltype(base_tag)::type;
      if constexpr (type_in<T>(kBaseTypes)) {
        if constexpr (std::is_floating_point_v<compute_t<T>>) {
          if (try_small_exponent<T>(x, y, *out)) return Status::ok();
        }
        return dispatch_numeric(y.dtype(), [&](auto exp_tag) -> Status {
          using E = typename decltype(exp_tag)::type;
          broadcast_binary(*plan, x.data<T>(), y.data<E>(), out->data<T>(),
                           [](T b, E e) { return store_as<T>(pow_elem(load_compute(b), load_compute(e))); });
          return Status::ok();
        });
      } else {
        return wrong_dtype(where_, "X", x.dtype(), kBaseTypes);
      }
    });
  }

 private:
  // x^2 and x^3 with a single exponent (LayerNorm's variance, tanh-GELU's cube) are
  // plain multiplies, which vectorise where pow() does not.
  template <typename T>
  static bool try_small_exponent(const Tensor& x, const Tensor& y, Tensor& out) {
    if (y.numel() != 1 || out.numel() != x.numel()) return false;
    const double e = y.get_as_double(0);
    if (e != 2.0 && e != 3.0) return false;
    const T* in = x.data<T>();
    T* o = out.data<T>();
    const int64_t n = x.numel();
    if (e == 2.0) {
      for (int64_t i = 0; i < n; ++i) o[i] = store_as<T>(load_compute(in[i]) * load_compute(in[i]));
    } else {
      for (int64_t i = 0; i < n; ++i) o[i] = store_as<T>(load_compute(in[i]) * load_compute(in[i]) * load_compute(in[i]));
    }
    return true;
  }

  std::string where_;
  LegacyBroadcast legacy_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_pow(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(LegacyBroadcast lb, read_legacy_broadcast(init));
  return std::unique_ptr<OpKernel>(std::make_unique<PowKernel>(init.node.describe(), lb));
}

}  // namespace kiln::elementwise
