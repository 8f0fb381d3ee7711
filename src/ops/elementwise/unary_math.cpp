// Unary math: Abs Neg Reciprocal Floor Ceil Round Sign Sqrt Exp Log Erf Tanh Sigmoid and
// the trigonometric and hyperbolic functions.
#include <cmath>

#include "math/vector_math.h"
#include "ops/elementwise/factories.h"
#include "ops/elementwise/unary.h"

namespace kiln::elementwise {
namespace {

// Float-only functions share one shape: kTypes = floats, result = std::fn(x).
#define KILN_FLOAT_UNARY(Name, expr)               \
  struct Name##Fn {                                \
    static constexpr TypeSet kTypes = kFloatTypes; \
    static constexpr bool kBoolOut = false;        \
    template <typename C>                          \
    C operator()(C x) const {                      \
      return expr;                                 \
    }                                              \
  };
// The same with float32 (and 16-bit floats, through float) computed by the vector math
// library over the whole array; `expr` then serves float64 only.
#define KILN_VECTOR_FLOAT_UNARY(Name, vector_fn, expr)                                 \
  KILN_FLOAT_UNARY(Name##Libm, expr)                                                   \
  struct Name##Fn : Name##LibmFn {                                                     \
    void bulk(const float* in, float* out, int64_t n) const { vector_fn(in, out, n); } \
  };

KILN_FLOAT_UNARY(Reciprocal, C(1) / x)
KILN_FLOAT_UNARY(Floor, std::floor(x))
KILN_FLOAT_UNARY(Ceil, std::ceil(x))
// Round half to even, as numpy and ONNX do: nearbyint in the default rounding mode.
KILN_FLOAT_UNARY(Round, std::nearbyint(x))
KILN_VECTOR_FLOAT_UNARY(Exp, math::exp, std::exp(x))
KILN_FLOAT_UNARY(Log, std::log(x))
KILN_VECTOR_FLOAT_UNARY(Erf, math::erf, std::erf(x))
KILN_VECTOR_FLOAT_UNARY(Tanh, math::tanh, std::tanh(x))
KILN_VECTOR_FLOAT_UNARY(Sqrt, math::sqrt, std::sqrt(x))
KILN_FLOAT_UNARY(Sin, std::sin(x))
KILN_FLOAT_UNARY(Cos, std::cos(x))
KILN_FLOAT_UNARY(Tan, std::tan(x))
KILN_FLOAT_UNARY(Asin, std::asin(x))
KILN_FLOAT_UNARY(Acos, std::acos(x))
KILN_FLOAT_UNARY(Atan, std::atan(x))
KILN_FLOAT_UNARY(Sinh, std::sinh(x))
KILN_FLOAT_UNARY(Cosh, std::cosh(x))
KILN_FLOAT_UNARY(Asinh, std::asinh(x))
KILN_FLOAT_UNARY(Acosh, std::acosh(x))
KILN_FLOAT_UNARY(Atanh, std::atanh(x))
// exp of a non-positive argument only, so large |x| neither overflows nor loses 1 - tiny.
KILN_VECTOR_FLOAT_UNARY(Sigmoid, math::sigmoid,
                        x >= C(0) ? C(1) / (C(1) + std::exp(-x)) : std::exp(x) / (C(1) + std::exp(x)))

#undef KILN_FLOAT_UNARY
#undef KILN_VECTOR_FLOAT_UNARY

struct AbsFn {
  static constexpr TypeSet kTypes = kNumericTypes;
  static constexpr bool kBoolOut = false;
  template <typename C>
  C operator()(C x) const {
    if constexpr (std::is_unsigned_v<C>) return x;
    else if constexpr (std::is_integral_v<C>) return x < 0 ? wrap_neg(x) : x;
    else return std::fabs(x);
  }
};

struct NegFn {
  static constexpr TypeSet kTypes = kFloatTypes | kSignedIntTypes;
  static constexpr bool kBoolOut = false;
  template <typename C>
  C operator()(C x) const { return wrap_neg(x); }
};

struct SignFn {
  static constexpr TypeSet kTypes = kNumericTypes;
  static constexpr bool kBoolOut = false;
  template <typename C>
  C operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>) {
      if (x != x) return x;  // NaN stays NaN
    }
    return x > C(0) ? C(1) : (x < C(0) ? static_cast<C>(-1) : C(0));
  }
};

}  // namespace

#define KILN_UNARY_FACTORY(name, Fn) \
  Result<std::unique_ptr<OpKernel>> name(const KernelInit& init) { return make_unary_kernel(init, Fn{}); }

KILN_UNARY_FACTORY(make_abs, AbsFn)
KILN_UNARY_FACTORY(make_neg, NegFn)
KILN_UNARY_FACTORY(make_sign, SignFn)
KILN_UNARY_FACTORY(make_reciprocal, ReciprocalFn)
KILN_UNARY_FACTORY(make_floor, FloorFn)
KILN_UNARY_FACTORY(make_ceil, CeilFn)
KILN_UNARY_FACTORY(make_round, RoundFn)
KILN_UNARY_FACTORY(make_sqrt, SqrtFn)
KILN_UNARY_FACTORY(make_exp, ExpFn)
KILN_UNARY_FACTORY(make_log, LogFn)
KILN_UNARY_FACTORY(make_erf, ErfFn)
KILN_UNARY_FACTORY(make_tanh, TanhFn)
KILN_UNARY_FACTORY(make_sigmoid, SigmoidFn)
KILN_UNARY_FACTORY(make_sin, SinFn)
KILN_UNARY_FACTORY(make_cos, CosFn)
KILN_UNARY_FACTORY(make_tan, TanFn)
KILN_UNARY_FACTORY(make_asin, AsinFn)
KILN_UNARY_FACTORY(make_acos, AcosFn)
KILN_UNARY_FACTORY(make_atan, AtanFn)
KILN_UNARY_FACTORY(make_sinh, SinhFn)
KILN_UNARY_FACTORY(make_cosh, CoshFn)
KILN_UNARY_FACTORY(make_asinh, AsinhFn)
KILN_UNARY_FACTORY(make_acosh, AcoshFn)
KILN_UNARY_FACTORY(make_atanh, AtanhFn)

#undef KILN_UNARY_FACTORY

}  // namespace kiln::elementwise
