// Pieces shared by the nn kernels: the floating type they compute in, parameter tensors
// read as doubles, and the [N, C, ...] input check. The vector math itself (exp, row
// sums, ...) is in math/vector_math.h.
#pragma once

#include <type_traits>
#include <vector>

#include "ir/sym_shape.h"
#include "kiln/status.h"
#include "kiln/tensor.h"
#include "ops/kernel.h"

namespace kiln {

// The type nn kernels compute in: double for double, float for everything else (16-bit
// floats, and the integer inputs Resize and MaxPool accept).
template <typename T>
using CalcType = std::conditional_t<std::is_same_v<T, double>, double, float>;

// A small parameter tensor (scale, bias, mean...) of any numeric dtype, as doubles.
std::vector<double> tensor_to_doubles(const Tensor& t);

// "input 'X' has shape [3] (expected rank >= 2: N, C, ...)" for an input of rank < 2;
// a shape of unknown rank (nullptr) passes.
Status expect_nc_rank(const SymShape* x);
Status expect_nc_rank(const Shape& x);

// infer() for kernels whose output has the dtype and shape of X, a float [N, C, ...]
// tensor (BatchNormalization, InstanceNormalization, GroupNormalization).
Status infer_nc_float(InferContext& ctx);

}  // namespace kiln
