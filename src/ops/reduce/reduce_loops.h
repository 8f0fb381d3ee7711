// The loop every Reduce* op runs: the input's dims are collapsed into alternating runs
// of kept and reduced dims, then each innermost run is either folded into one
// accumulator (a contiguous row: the common "reduce the last axes" case) or added
// elementwise into a row of accumulators (reducing an outer axis). Both inner loops are
// contiguous and free of index math, so they vectorize.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "kiln/tensor.h"
#include "ops/op_util.h"

namespace kiln {

// Runs of dims after dropping size-1 dims and merging neighbours of the same kind.
struct CollapsedDims {
  std::vector<int64_t> dims;
  std::vector<bool> reduced;
};

inline CollapsedDims collapse_for_reduce(const Shape& in, const std::vector<int64_t>& axes) {
  CollapsedDims c;
  size_t next = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const bool red = next < axes.size() && axes[next] == static_cast<int64_t>(i);
    if (red) ++next;
    if (in[i] == 1) continue;
    if (!c.dims.empty() && c.reduced.back() == red) {
      c.dims.back() *= in[i];
    } else {
      c.dims.push_back(in[i]);
      c.reduced.push_back(red);
    }
  }
  if (c.dims.empty()) {
    c.dims.push_back(1);
    c.reduced.push_back(true);
  }
  return c;
}

// Calls f(r, o) for every innermost run r (rows of c.dims.back() input elements, in
// memory order) with o the output index of its first element: for a kept innermost run
// element j of the row maps to o + j, for a reduced one every element maps to o.
template <typename F>
void visit_reduce_rows(const CollapsedDims& c, F f) {
  const size_t m = c.dims.size();
  if (m == 0) return;
  const int64_t len = c.dims[m - 1];
  std::vector<int64_t> out_stride(m, 0);
  int64_t total = 1;
  int64_t s = 1;
  for (size_t i = m; i-- > 0;) {
    total *= c.dims[i];
    if (!c.reduced[i]) {
      out_stride[i] = s;
      s *= c.dims[i];
    }
  }
  const int64_t rows = len == 0 ? 0 : total / len;
  std::vector<int64_t> idx(m, 0);
  int64_t o = 0;
  for (int64_t r = 0; r < rows; ++r) {
    f(r, o);
    // Odometer over the outer runs; the output offset follows without a division.
    for (size_t d = m - 1; d-- > 0;) {
      if (++idx[d] < c.dims[d]) {
        o += out_stride[d];
        break;
      }
      o -= out_stride[d] * (c.dims[d] - 1);
      idx[d] = 0;
    }
  }
}

// Folds map(x[i], out_index) into acc[out_index] with `combine`, which must be
// associative and commutative (rows are folded in 8 interleaved lanes). `acc` holds one
// element per output, pre-filled with `init`, the identity of `combine`.
template <typename T, typename Acc, typename Map, typename Combine>
void reduce_accumulate(const T* x, Acc* acc, const CollapsedDims& c, Acc init, Map map,
                       Combine combine) {
  const int64_t len = c.dims.back();
  if (c.reduced.back()) {
    visit_reduce_rows(c, [&](int64_t r, int64_t o) {
      const T* row = x + r * len;
      Acc lanes[8];
      for (Acc& l : lanes) l = init;
      int64_t i = 0;
      for (; i + 8 <= len; i += 8) {
        for (int l = 0; l < 8; ++l) lanes[l] = combine(lanes[l], map(load_as<Acc>(row[i + l]), o));
      }
      for (; i < len; ++i) lanes[0] = combine(lanes[0], map(load_as<Acc>(row[i]), o));
      Acc row_total = lanes[0];
      for (int l = 1; l < 8; ++l) row_total = combine(row_total, lanes[l]);
      acc[o] = combine(acc[o], row_total);
    });
  } else {
    visit_reduce_rows(c, [&](int64_t r, int64_t o) {
      const T* row = x + r * len;
      Acc* dst = acc + o;
      for (int64_t j = 0; j < len; ++j) dst[j] = combine(dst[j], map(load_as<Acc>(row[j]), o + j));
    });
  }
}

}  // namespace kiln
