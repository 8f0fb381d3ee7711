// Shapes whose dims may be unknown or symbolic ("batch_size", "seq_length" from the
// exporter's dynamic_axes). Static shape inference works on these; at run time every dim
// is concrete and the same inference code yields concrete shapes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kiln/tensor.h"

namespace kiln {

struct Dim {
  int64_t value = -1;  // >= 0 when known
  std::string symbol;  // name of a symbolic dim, empty when unnamed or known

  Dim() = default;
  Dim(int64_t v) : value(v) {}  // NOLINT: a known dim reads naturally as a number
  static Dim symbolic(std::string name) {
    Dim d;
    d.symbol = std::move(name);
    return d;
  }
  static Dim unknown() { return Dim(); }
  bool known() const { return value >= 0; }
  bool operator==(const Dim& o) const {
    return known() ? value == o.value : (!o.known() && !symbol.empty() && symbol == o.symbol);
  }
  std::string to_string() const;
};

using SymShape = std::vector<Dim>;

SymShape to_sym_shape(const Shape& shape);
bool is_concrete(const SymShape& shape);
Shape to_concrete(const SymShape& shape);  // unknown dims become -1
std::string sym_shape_to_string(const SymShape& shape);

// A value's static type: dtype and, when the rank is known, a shape.
struct TypeInfo {
  DType dtype = DType::kUndefined;
  std::optional<SymShape> shape;
};

}  // namespace kiln
