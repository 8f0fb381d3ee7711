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

Result<Tensor*> output_for(RunContext& ctx, size_t i, DType dtype, const Shape& shape) {
  Tensor& t = ctx.output(i);
  if (t.defined() && t.dtype() == dtype && t.shape() == shape) return &t;
  KILN_RETURN_IF_ERROR(ctx.allocate_output(i, dtype, shape));
  return &ctx.output(i);
}

}  // namespace kiln::elementwise
