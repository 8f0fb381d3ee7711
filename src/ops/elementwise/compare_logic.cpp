// Comparisons (Equal Less Greater LessOrEqual GreaterOrEqual -> bool), logic on bools
// (And Or Xor) and bit operations on integers (BitwiseAnd/Or/Xor, BitShift).
#include "ops/elementwise/binary.h"
#include "ops/elementwise/factories.h"

namespace kiln::elementwise {
namespace {

#define KILN_BINARY_OP(Name, types, bool_out, expr) \
  struct Name##Op {                                  \
    static constexpr TypeSet kTypes = types;         \
    static constexpr bool kBoolOut = bool_out;       \
    template <typename C>                            \
    auto operator()(C a, C b) const {                \
      return expr;                                   \
    }                                                \
  };

KILN_BINARY_OP(Equal, kAllTypes, true, a == b)
KILN_BINARY_OP(Less, kNumericTypes, true, a < b)
KILN_BINARY_OP(Greater, kNumericTypes, true, a > b)
KILN_BINARY_OP(LessOrEqual, kNumericTypes, true, a <= b)
KILN_BINARY_OP(GreaterOrEqual, kNumericTypes, true, a >= b)
KILN_BINARY_OP(And, kBoolType, true, static_cast<bool>(a & b))
KILN_BINARY_OP(Or, kBoolType, true, static_cast<bool>(a | b))
KILN_BINARY_OP(Xor, kBoolType, true, static_cast<bool>(a ^ b))
KILN_BINARY_OP(BitwiseAnd, kIntTypes, false, static_cast<C>(a & b))
KILN_BINARY_OP(BitwiseOr, kIntTypes, false, static_cast<C>(a | b))
KILN_BINARY_OP(BitwiseXor, kIntTypes, false, static_cast<C>(a ^ b))

#undef KILN_BINARY_OP

// Shifts by a negative amount or by the bit width or more are defined here the way the
// ONNX reference does: left gives 0, right gives the sign fill (0 or -1).
struct BitShiftOp {
  static constexpr TypeSet kTypes = kIntTypes;
  static constexpr bool kBoolOut = false;
  bool left;
  template <typename C>
  C operator()(C a, C b) const {
    using U = std::make_unsigned_t<C>;
    constexpr int kBits = static_cast<int>(sizeof(C) * 8);
    // A negative signed amount converts to a huge unsigned one, so one test covers both.
    const bool in_range = static_cast<uint64_t>(b) < static_cast<uint64_t>(kBits);
    if (left) {
      if (!in_range) return C(0);
      // Shift the unsigned pattern: shifting a negative signed value is not portable.
      return static_cast<C>(static_cast<U>(static_cast<U>(a) << static_cast<int>(b)));
    }
    if (!in_range) {
      if constexpr (std::is_signed_v<C>) return a < C(0) ? C(-1) : C(0);
      return C(0);
    }
    return static_cast<C>(a >> static_cast<int>(b));  // arithmetic for signed (C++20)
  }
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_equal(const KernelInit& init) {
  return make_binary_kernel(init, EqualOp{});
}
Result<std::unique_ptr<OpKernel>> make_less(const KernelInit& init) {
  return make_binary_kernel(init, LessOp{});
}
Result<std::unique_ptr<OpKernel>> make_greater(const KernelInit& init) {
  return make_binary_kernel(init, GreaterOp{});
}
Result<std::unique_ptr<OpKernel>> make_less_or_equal(const KernelInit& init) {
  return make_binary_kernel(init, LessOrEqualOp{});
}
Result<std::unique_ptr<OpKernel>> make_greater_or_equal(const KernelInit& init) {
  return make_binary_kernel(init, GreaterOrEqualOp{});
}
Result<std::unique_ptr<OpKernel>> make_and(const KernelInit& init) {
  return make_binary_kernel(init, AndOp{});
}
Result<std::unique_ptr<OpKernel>> make_or(const KernelInit& init) {
  return make_binary_kernel(init, OrOp{});
}
Result<std::unique_ptr<OpKernel>> make_xor(const KernelInit& init) {
  return make_binary_kernel(init, XorOp{});
}
Result<std::unique_ptr<OpKernel>> make_bitwise_and(const KernelInit& init) {
  return make_binary_kernel(init, BitwiseAndOp{});
}
Result<std::unique_ptr<OpKernel>> make_bitwise_or(const KernelInit& init) {
  return make_binary_kernel(init, BitwiseOrOp{});
}
Result<std::unique_ptr<OpKernel>> make_bitwise_xor(const KernelInit& init) {
  return make_binary_kernel(init, BitwiseXorOp{});
}

Result<std::unique_ptr<OpKernel>> make_bit_shift(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(std::string direction, attr_string(init.node, "direction", ""));
  if (direction != "LEFT" && direction != "RIGHT") {
    return invalid_model(init.node.describe() + ": attribute 'direction' must be \"LEFT\" or " +
                         "\"RIGHT\" (got \"" + direction + "\")");
  }
  return make_binary_kernel(init, BitShiftOp{direction == "LEFT"});
}

}  // namespace kiln::elementwise
