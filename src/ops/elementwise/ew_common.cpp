#include "ops/elementwise/ew_common.h"

namespace kiln::elementwise {

std::string type_set_names(TypeSet set) {
  std::string names;
  for (int t = 0; t < 64; ++t) {
    if (!(set & (TypeSet{1} << t))) continue;
    if (!names.empty()) names += ", ";
    names += dtype_name_of(t);
  }
  return names;
}

Status wrong_dtype(const std::string& where, const char* input, DType actual, TypeSet expected) {
  return unsupported(where + ": input '" + input + "' has dtype " + dtype_name(actual) +
                     "; expected one of " + type_set_names(expected));
}

}  // namespace kiln::elementwise
