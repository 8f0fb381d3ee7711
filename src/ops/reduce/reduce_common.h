// The shape a reduction produces (Reduce*, ArgMax, and MeanVarianceNormalization's
// statistics). Axis lists and the [outer, axis, inner] view are in ops/op_util.h.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/sym_shape.h"
#include "kiln/tensor.h"

namespace kiln {

// The output shape of reducing `axes` (normalized) of `in`.
SymShape reduced_sym_shape(const SymShape& in, const std::vector<int64_t>& axes, bool keepdims);
Shape reduced_shape(const Shape& in, const std::vector<int64_t>& axes, bool keepdims);

}  // namespace kiln
