// The elementwise family's registration table. An op gets a second entry at the opset
// where its semantics changed; the factory reads init.opset to pick the behaviour.
#include "ops/elementwise/chain.h"
#include "ops/elementwise/factories.h"
#include "ops/registry.h"

namespace kiln {

using namespace elementwise;  // NOLINT: the table below is nothing but these factories

std::span<const OpRegistration> elementwise_ops() {
  static const OpRegistration kOps[] = {
      // Unary math.
      {"", "Abs", 1, make_abs},
      {"", "Neg", 1, make_neg},
      {"", "Sign", 9, make_sign},
      {"", "Reciprocal", 1, make_reciprocal},
      {"", "Floor", 1, make_floor},
      {"", "Ceil", 1, make_ceil},
      {"", "Round", 11, make_round},
      {"", "Sqrt", 1, make_sqrt},
      {"", "Exp", 1, make_exp},
      {"", "Log", 1, make_log},
      {"", "Erf", 9, make_erf},
      {"", "Tanh", 1, make_tanh},
      {"", "Sigmoid", 1, make_sigmoid},
      {"", "Sin", 7, make_sin},
      {"", "Cos", 7, make_cos},
      {"", "Tan", 7, make_tan},
      {"", "Asin", 7, make_asin},
      {"", "Acos", 7, make_acos},
      {"", "Atan", 7, make_atan},
      {"", "Sinh", 9, make_sinh},
      {"", "Cosh", 9, make_cosh},
      {"", "Asinh", 9, make_asinh},
      {"", "Acosh", 9, make_acosh},
      {"", "Atanh", 9, make_atanh},
      // Activations.
      {"", "Relu", 1, make_relu},
      {"", "LeakyRelu", 1, make_leaky_relu},
      {"", "Elu", 1, make_elu},
      {"", "Selu", 1, make_selu},
      {"", "Celu", 12, make_celu},
      {"", "HardSigmoid", 1, make_hard_sigmoid},
      {"", "HardSwish", 14, make_hard_swish},
      {"", "Softplus", 1, make_softplus},
      {"", "Softsign", 1, make_softsign},
      {"", "Gelu", 20, make_gelu},
      {"kiln", "Gelu", 1, make_gelu},  // Gelu-20 for older graphs, made by fuse_gelu
      {"", "Mish", 18, make_mish},
      {"", "ThresholdedRelu", 10, make_thresholded_relu},
      {"", "PRelu", 1, make_prelu},
      // Clip: bounds are attributes before opset 11, optional inputs from 11 on.
      {"", "Clip", 1, make_clip},
      {"", "Clip", 11, make_clip},
      // Predicates and bit negation.
      {"", "IsNaN", 9, make_isnan},
      {"", "IsInf", 10, make_isinf},
      {"", "Not", 1, make_not},
      {"", "BitwiseNot", 18, make_bitwise_not},
      // Casts.
      {"", "Cast", 1, make_cast},
      {"", "CastLike", 15, make_cast_like},
      // Binary ops: before opset 7 broadcasting was opt-in with `broadcast`/`axis`.
      {"", "Add", 1, make_add},
      {"", "Add", 7, make_add},
      {"", "Sub", 1, make_sub},
      {"", "Sub", 7, make_sub},
      {"", "Mul", 1, make_mul},
      {"", "Mul", 7, make_mul},
      {"", "Div", 1, make_div},
      {"", "Div", 7, make_div},
      {"", "Pow", 1, make_pow},
      {"", "Pow", 7, make_pow},
      {"", "Pow", 12, make_pow},  // the exponent may have its own dtype
      {"", "Mod", 10, make_mod},
      {"", "Equal", 1, make_equal},
      {"", "Equal", 7, make_equal},
      {"", "Less", 1, make_less},
      {"", "Less", 7, make_less},
      {"", "Greater", 1, make_greater},
      {"", "Greater", 7, make_greater},
      {"", "LessOrEqual", 12, make_less_or_equal},
      {"", "GreaterOrEqual", 12, make_greater_or_equal},
      {"", "And", 1, make_and},
      {"", "And", 7, make_and},
      {"", "Or", 1, make_or},
      {"", "Or", 7, make_or},
      {"", "Xor", 1, make_xor},
      {"", "Xor", 7, make_xor},
      {"", "BitwiseAnd", 18, make_bitwise_and},
      {"", "BitwiseOr", 18, make_bitwise_or},
      {"", "BitwiseXor", 18, make_bitwise_xor},
      {"", "BitShift", 11, make_bit_shift},
      {"", "Where", 9, make_where},
      // Variadic: broadcasting since opset 8 (earlier equal shapes, a special case).
      {"", "Max", 1, make_max},
      {"", "Min", 1, make_min},
      {"", "Sum", 1, make_sum},
      {"", "Mean", 1, make_mean},
      // Runs of the ops above as one node, made by fuse_elementwise_chains.
      {"kiln", "ElementwiseChain", 1, make_elementwise_chain},
  };
  return kOps;
}

}  // namespace kiln
