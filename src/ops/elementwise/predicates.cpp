// IsNaN, IsInf (float -> bool), Not (bool) and BitwiseNot (integers).
#include <cmath>

#include "ops/elementwise/factories.h"
#include "ops/elementwise/unary.h"

namespace kiln::elementwise {
namespace {

struct IsNaNFn {
  static constexpr TypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = true;
  template <typename C>
  bool operator()(C x) const { return x != x; }
};

struct IsInfFn {
  static constexpr TypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = true;
  bool negative, positive;
  template <typename C>
  bool operator()(C x) const {
    return (positive && x == std::numeric_limits<C>::infinity()) ||
           (negative && x == -std::numeric_limits<C>::infinity());
  }
};

struct NotFn {
  static constexpr TypeSet kTypes = kBoolType;
  static constexpr bool kBoolOut = true;
  bool operator()(bool x) const { return !x; }
};

struct BitwiseNotFn {
  static constexpr TypeSet kTypes = kIntTypes;
  static constexpr bool kBoolOut = false;
  template <typename C>
  C operator()(C x) const { return static_cast<C>(~x); }
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_isnan(const KernelInit& init) {
  return make_unary_kernel(init, IsNaNFn{});
}

Result<std::unique_ptr<OpKernel>> make_isinf(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t negative, attr_int(init.node, "detect_negative", 1));
  KILN_ASSIGN_OR_RETURN(int64_t positive, attr_int(init.node, "detect_positive", 1));
  return make_unary_kernel(init, IsInfFn{negative != 0, positive != 0});
}

Result<std::unique_ptr<OpKernel>> make_not(const KernelInit& init) {
  return make_unary_kernel(init, NotFn{});
}

Result<std::unique_ptr<OpKernel>> make_bitwise_not(const KernelInit& init) {
  return make_unary_kernel(init, BitwiseNotFn{});
}

}  // namespace kiln::elementwise
