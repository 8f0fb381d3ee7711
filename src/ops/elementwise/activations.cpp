// Activations: Relu LeakyRelu Elu Selu Celu HardSigmoid HardSwish Softplus Softsign Gelu
// Mish ThresholdedRelu. Attributes are read once here and held by the functor.
#include <cmath>

#include "math/vector_math.h"
#include "ops/elementwise/factories.h"
#include "ops/elementwise/unary.h"

namespace kiln::elementwise {
namespace {

// log(1 + exp(x)) without overflow for large x or lost precision for very negative x.
template <typename C>
inline C softplus(C x) {
  return x > C(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

struct ReluFn {
  static constexpr TypeSet kTypes = kFloatTypes | kSignedIntTypes;
  static constexpr bool kBoolOut = false;
  template <typename C>
  C operator()(C x) const { return x < C(0) ? C(0) : x; }  // NaN passes through
};

struct LeakyReluFn {
  static constexpr TypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = false;
  float alpha;
  template <typename C>
  C operator()(C x) const { return x < C(0) ? C(alpha) * x : x; }
};

struct EluFn {
  static constexpr TypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = false;
  float alpha;
  template <typename C>
  C operator()(C x) const { return x < C(0) ? C(alpha) * std::expm1(x) : x; }
};

struct SeluFn {
  static constexpr TypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = false;
  float alpha, gamma;
  template <typename C>
  C operator()(C x) const { return x > C(0) ? C(gamma) * x : C(gamma) * C(alpha) * std::expm1(x); }
};

struct CeluFn {
  static constexpr TypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = false;
  float alpha;
  template <typename C>
  C operator()(C x) const { return x > C(0) ? x : C(alpha) * std::expm1(x / C(alpha)); }
};

// Clamps to [lo, hi], NaN passing through. The hard activations keep their bounds 0 and 1
// as members rather than literals: with two constant bounds GCC 12 does not vectorise
// the loop ("control flow in loop"), with bounds read from the kernel it does.
template <typename C>
inline C clamp_to(C v, C lo, C hi) {
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
}

struct HardSigmoidFn {
  static constexpr TypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = false;
  float alpha, beta;
  float lo = 0.0f, hi = 1.0f;
  template <typename C>
  C operator()(C x) const { return clamp_to(C(alpha) * x + C(beta), C(lo), C(hi)); }
};

struct HardSwishFn {
  static constexpr TypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = false;
  float lo = 0.0f, hi = 1.0f;
  template <typename C>
  C operator()(C x) const { return x * clamp_to(x / C(6) + C(0.5), C(lo), C(hi)); }
};

struct SoftplusFn {
  static constexpr TypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = false;
  template <typename C>
  C operator()(C x) const { return softplus(x); }
};

struct SoftsignFn {
  static constexpr TypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = false;
  template <typename C>
  C operator()(C x) const { return x / (C(1) + std::fabs(x)); }
};

// Gelu with the exact erf form and with the tanh approximation; two functors rather
// than a flag so each loop holds one of them. float32 and 16-bit floats go through the
// vector math library; float64 keeps libm.
struct GeluErfFn {
  static constexpr TypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = false;
  template <typename C>
  C operator()(C x) const {
    return C(0.5) * x * (C(1) + std::erf(x * C(0.7071067811865476)));  // erf(x / sqrt(2))
  }
  void bulk(const float* in, float* out, int64_t n) const { math::gelu_erf(in, out, n); }
};

struct GeluTanhFn {
  static constexpr TypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = false;
  template <typename C>
  C operator()(C x) const {
    const C inner = C(0.7978845608028654) * (x + C(0.044715) * x * x * x);  // sqrt(2/pi) * ...
    return C(0.5) * x * (C(1) + std::tanh(inner));
  }
  void bulk(const float* in, float* out, int64_t n) const { math::gelu_tanh(in, out, n); }
};

struct MishFn {
  static constexpr TypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = false;
  template <typename C>
  C operator()(C x) const { return x * std::tanh(softplus(x)); }
};

struct ThresholdedReluFn {
  static constexpr TypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = false;
  float alpha;
  template <typename C>
  C operator()(C x) const { return x > C(alpha) ? x : C(0); }
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_relu(const KernelInit& init) {
  return make_unary_kernel(init, ReluFn{});
}

Result<std::unique_ptr<OpKernel>> make_leaky_relu(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(float alpha, attr_float(init.node, "alpha", 0.01f));
  return make_unary_kernel(init, LeakyReluFn{alpha});
}

Result<std::unique_ptr<OpKernel>> make_elu(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(float alpha, attr_float(init.node, "alpha", 1.0f));
  return make_unary_kernel(init, EluFn{alpha});
}

Result<std::unique_ptr<OpKernel>> make_selu(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(float alpha, attr_float(init.node, "alpha", 1.67326319217681884765625f));
  KILN_ASSIGN_OR_RETURN(float gamma, attr_float(init.node, "gamma", 1.05070102214813232421875f));
  return make_unary_kernel(init, SeluFn{alpha, gamma});
}

Result<std::unique_ptr<OpKernel>> make_celu(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(float alpha, attr_float(init.node, "alpha", 1.0f));
  if (alpha == 0.0f) {
    return invalid_model(init.node.describe() + ": attribute 'alpha' must be non-zero (got 0)");
  }
  return make_unary_kernel(init, CeluFn{alpha});
}

Result<std::unique_ptr<OpKernel>> make_hard_sigmoid(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(float alpha, attr_float(init.node, "alpha", 0.2f));
  KILN_ASSIGN_OR_RETURN(float beta, attr_float(init.node, "beta", 0.5f));
  return make_unary_kernel(init, HardSigmoidFn{alpha, beta});
}

Result<std::unique_ptr<OpKernel>> make_hard_swish(const KernelInit& init) {
  return make_unary_kernel(init, HardSwishFn{});
}

Result<std::unique_ptr<OpKernel>> make_softplus(const KernelInit& init) {
  return make_unary_kernel(init, SoftplusFn{});
}

Result<std::unique_ptr<OpKernel>> make_softsign(const KernelInit& init) {
  return make_unary_kernel(init, SoftsignFn{});
}

Result<std::unique_ptr<OpKernel>> make_gelu(const KernelInit& init) {
  Result<std::string> attr = attr_string(init.node, "approximate", "none");
  if (!attr.is_ok()) return attr.status();
  const std::string& approximate = *attr;
  if (approximate != "none" && approximate != "tanh") {
    return invalid_model(init.node.describe() + ": attribute 'approximate' must be \"none\" or " +
                         "\"tanh\" (got \"" + approximate + "\")");
  }
  if (approximate == "tanh") return make_unary_kernel(init, GeluTanhFn{});
  return make_unary_kernel(init, GeluErfFn{});
}

Result<std::unique_ptr<OpKernel>> make_mish(const KernelInit& init) {
  return make_unary_kernel(init, MishFn{});
}

Result<std::unique_ptr<OpKernel>> make_thresholded_relu(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(float alpha, attr_float(init.node, "alpha", 1.0f));
  return make_unary_kernel(init, ThresholdedReluFn{alpha});
}

}  // namespace kiln::elementwise
