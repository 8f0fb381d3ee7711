#include "ir/sym_shape.h"

namespace kiln {

std::string Dim::to_string() const {
  if (known()) return std::to_string(value);
  return symbol.empty() ? "?" : symbol;
}

SymShape to_sym_shape(const Shape& shape) { return SymShape(shape.begin(), shape.end()); }

bool is_concrete(const SymShape& shape) {
  for (const Dim& d : shape) {
    if (!d.known()) return false;
  }
  return true;
}

Shape to_concrete(const SymShape& shape) {
  Shape s;
  s.reserve(shape.size());
  for (const Dim& d : shape) s.push_back(d.value);
  return s;
}

std::string sym_shape_to_string(const SymShape& shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += shape[i].to_string();
  }
  return s;
}

}  // namespace kiln
