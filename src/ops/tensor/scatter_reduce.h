// The `reduction` attribute shared by ScatterND and ScatterElements (opset 16 adds add and
// mul, 18 adds max and min): how an update combines with the value already there.
#pragma once

#include <algorithm>
#include <string>
#include <type_traits>

#include "ops/op_util.h"

namespace kiln {

enum class ScatterReduction { kNone, kAdd, kMul, kMax, kMin };

inline Result<ScatterReduction> parse_scatter_reduction(const Node& node) {
  KILN_ASSIGN_OR_RETURN(std::string r, attr_string(node, "reduction", "none"));
  if (r == "none") return ScatterReduction::kNone;
  if (r == "add") return ScatterReduction::kAdd;
  if (r == "mul") return ScatterReduction::kMul;
  if (r == "max") return ScatterReduction::kMax;
  if (r == "min") return ScatterReduction::kMin;
  return invalid_model(node.describe() + ": attribute 'reduction' is '" + r +
                       "' (expected none, add, mul, max or min)");
}

// Combines in the compute type (float for 16-bit floats); for bool, add is or and mul is and.
template <typename T>
inline T scatter_combine(T old_value, T update, ScatterReduction r) {
  using C = compute_t<T>;
  const C a = load_compute(old_value);
  const C b = load_compute(update);
  C out = b;
  switch (r) {
    case ScatterReduction::kNone: out = b; break;
    case ScatterReduction::kAdd: out = static_cast<C>(a + b); break;
    case ScatterReduction::kMul: out = static_cast<C>(a * b); break;
    case ScatterReduction::kMax: out = std::max(a, b); break;
    case ScatterReduction::kMin: out = std::min(a, b); break;
  }
  return store_as<T>(out);
}

}  // namespace kiln
