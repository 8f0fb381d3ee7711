// Shared pieces of the reduction family: axis lists, the shape a reduction produces, and
// the [outer, axis, inner] view that single-axis ops (ArgMax, TopK) iterate over.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/sym_shape.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln {

// Normalizes every axis to [0, rank), sorts them and drops duplicates; an error names
// `what` (e.g. "input 'axes'") and the offending axis.
Result<std::vector<int64_t>> normalize_axis_list(const std::vector<int64_t>& axes, int64_t rank,
                                                 const std::string& what);

// The output shape of reducing `axes` (normalized) of `in`.
SymShape reduced_sym_shape(const SymShape& in, const std::vector<int64_t>& axes, bool keepdims);
Shape reduced_shape(const Shape& in, const std::vector<int64_t>& axes, bool keepdims);

// A tensor seen as [outer, axis_len, inner] around one axis.
struct AxisView {
  int64_t outer = 1;
  int64_t axis_len = 1;
  int64_t inner = 1;
};
AxisView axis_view(const Shape& shape, int64_t axis);

}  // namespace kiln
