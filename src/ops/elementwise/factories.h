// The factories of the elementwise family, for its registration table.
#pragma once

#include <memory>

#include "ops/kernel.h"

namespace kiln::elementwise {

// Unary math (unary_math.cpp)
Result<std::unique_ptr<OpKernel>> make_abs(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_neg(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_sign(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_reciprocal(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_floor(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_ceil(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_round(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_sqrt(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_exp(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_log(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_erf(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_tanh(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_sigmoid(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_sin(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_cos(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_tan(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_asin(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_acos(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_atan(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_sinh(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_cosh(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_asinh(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_acosh(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_atanh(const KernelInit& init);

// Activations (activations.cpp)
Result<std::unique_ptr<OpKernel>> make_relu(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_leaky_relu(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_elu(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_selu(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_celu(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_hard_sigmoid(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_hard_swish(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_softplus(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_softsign(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_gelu(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_mish(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_thresholded_relu(const KernelInit& init);

// Predicates and bit negation (predicates.cpp)
Result<std::unique_ptr<OpKernel>> make_isnan(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_isinf(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_not(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_bitwise_not(const KernelInit& init);

// Clip, PRelu, Cast, Where
Result<std::unique_ptr<OpKernel>> make_clip(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_prelu(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_cast(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_cast_like(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_where(const KernelInit& init);

// Binary arithmetic (arithmetic.cpp, pow.cpp)
Result<std::unique_ptr<OpKernel>> make_add(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_sub(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_mul(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_div(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_mod(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_pow(const KernelInit& init);

// Comparisons, logic and bits (compare_logic.cpp)
Result<std::unique_ptr<OpKernel>> make_equal(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_less(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_greater(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_less_or_equal(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_greater_or_equal(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_and(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_or(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_xor(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_bitwise_and(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_bitwise_or(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_bitwise_xor(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_bit_shift(const KernelInit& init);

// Variadic (variadic.cpp)
Result<std::unique_ptr<OpKernel>> make_max(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_min(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_sum(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_mean(const KernelInit& init);

}  // namespace kiln::elementwise
