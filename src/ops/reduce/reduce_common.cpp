#include "ops/reduce/reduce_common.h"

#include <algorithm>

namespace kiln {

Result<std::vector<int64_t>> normalize_axis_list(const std::vector<int64_t>& axes, int64_t rank,
                                                 const std::string& what) {
  std::vector<int64_t> out;
  out.reserve(axes.size());
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) {
      return invalid_argument(what + ": axis " + std::to_string(a) + " is out of range for rank " +
                              std::to_string(rank) + " (expected [" + std::to_string(-rank) + ", " +
                              std::to_string(rank - 1) + "])");
    }
    out.push_back(a < 0 ? a + rank : a);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

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

AxisView axis_view(const Shape& shape, int64_t axis) {
  AxisView v;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < axis) v.outer *= shape[i];
    else if (i == axis) v.axis_len = shape[i];
    else v.inner *= shape[i];
  }
  return v;
}

}  // namespace kiln
