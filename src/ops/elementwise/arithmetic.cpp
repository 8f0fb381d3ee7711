// Add Sub Mul Div Mod with numpy broadcasting.
#include <cmath>

#include "ops/elementwise/binary.h"
#include "ops/elementwise/factories.h"

namespace kiln::elementwise {
namespace {

struct AddOp {
  static constexpr TypeSet kTypes = kNumericTypes;
  static constexpr bool kBoolOut = false;
  template <typename C>
  C operator()(C a, C b) const { return wrap_add(a, b); }
};

struct SubOp {
  static constexpr TypeSet kTypes = kNumericTypes;
  static constexpr bool kBoolOut = false;
  template <typename C>
  C operator()(C a, C b) const { return wrap_sub(a, b); }
};

struct MulOp {
  static constexpr TypeSet kTypes = kNumericTypes;
  static constexpr bool kBoolOut = false;
  template <typename C>
  C operator()(C a, C b) const { return wrap_mul(a, b); }
};

// Integer division by zero is an error, not a crash (x86 traps on it).
template <typename T>
Status check_divisor(const Tensor& b) {
  if constexpr (std::is_integral_v<T>) {
    if (has_zero<T>(b)) return invalid_argument("integer division by zero: input 'B' has a zero");
  }
  return Status::ok();
}

struct DivOp {
  static constexpr TypeSet kTypes = kNumericTypes;
  static constexpr bool kBoolOut = false;
  template <typename T>
  Status check(const Tensor& b) const { return check_divisor<T>(b); }
  template <typename C>
  C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C> && std::is_signed_v<C>) {
      if (b == C(-1)) return wrap_neg(a);  // INT_MIN / -1 traps too
    }
    return static_cast<C>(a / b);  // integers truncate toward zero, as ONNX specifies
  }
};

// Python's modulo for floats (numpy.mod): the result takes the divisor's sign, and an
// exact zero is signed like the divisor.
template <typename C>
C floor_mod(C a, C b) {
  C mod = std::fmod(a, b);
  if (b == C(0)) return mod;  // NaN
  if (mod != C(0)) {
    if ((b < C(0)) != (mod < C(0))) mod += b;
  } else {
    mod = std::copysign(C(0), b);
  }
  return mod;
}

struct ModOp {
  static constexpr TypeSet kTypes = kNumericTypes;
  static constexpr bool kBoolOut = false;
  bool fmod;
  template <typename T>
  Status check(const Tensor& b) const { return check_divisor<T>(b); }
  template <typename C>
  C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      return fmod ? std::fmod(a, b) : floor_mod(a, b);
    } else if constexpr (std::is_unsigned_v<C>) {
      return static_cast<C>(a % b);
    } else {
      if (b == C(-1)) return C(0);  // INT_MIN % -1 traps
      C r = static_cast<C>(a % b);
      if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<C>(r + b);
      return r;
    }
  }
};

}  // namespace

Result<LegacyBroadcast> read_legacy_broadcast(const KernelInit& init) {
  LegacyBroadcast lb;
  if (init.opset >= 7) return lb;
  KILN_ASSIGN_OR_RETURN(int64_t broadcast, attr_int(init.node, "broadcast", 0));
  if (broadcast != 0 && has_attr(init.node, "axis")) {
    lb.align_at_axis = true;
    KILN_ASSIGN_OR_RETURN(lb.axis, attr_int(init.node, "axis", 0));
  }
  return lb;
}

Result<std::unique_ptr<OpKernel>> make_add(const KernelInit& init) {
  return make_binary_kernel(init, AddOp{});
}
Result<std::unique_ptr<OpKernel>> make_sub(const KernelInit& init) {
  return make_binary_kernel(init, SubOp{});
}
Result<std::unique_ptr<OpKernel>> make_mul(const KernelInit& init) {
  return make_binary_kernel(init, MulOp{});
}
Result<std::unique_ptr<OpKernel>> make_div(const KernelInit& init) {
  return make_binary_kernel(init, DivOp{});
}

Result<std::unique_ptr<OpKernel>> make_mod(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t fmod, attr_int(init.node, "fmod", 0));
  if (fmod != 0 && fmod != 1) {
    return invalid_model(init.node.describe() + ": attribute 'fmod' must be 0 or 1 (got " +
                         std::to_string(fmod) + ")");
  }
  return make_binary_kernel(init, ModOp{fmod == 1});
}

}  // namespace kiln::elementwise
