#include "ops/reduce/reduce_common.h"

namespace kiln {

namespace {

template <typename S>
S reduce_dims(const S& in, const std::vector<int64_t>& axes, bool keepdims) {
  S out;
  size_t next = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const bool reduced = next < axes.size() && axes[next] == static_cast<int64_t>(i);
    if (reduced) ++next;
    if (!reduced) {
      out.push_back(in[i]);
    } else if (keepdims) {
      out.push_back(1);
    }
  }
  return out;
}

}  // namespace

SymShape reduced_sym_shape(const SymShape& in, const std::vector<int64_t>& axes, bool keepdims) {
  return reduce_dims(in, axes, keepdims);
}

Shape reduced_shape(const Shape& in, const std::vector<int64_t>& axes, bool keepdims) {
  return reduce_dims(in, axes, keepdims);
}

}  // namespace kiln
