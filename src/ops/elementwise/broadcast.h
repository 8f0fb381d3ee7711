// Numpy broadcasting of K inputs onto one output, reduced to runs over contiguous memory.
//
// The plan drops output dims of size 1 and merges neighbouring dims whose strides chain
// in every input, so the common cases collapse to one or two dims: same shapes and
// scalars become one run over everything, a bias row over [N, C] becomes N runs of C, a
// [B,1,1,S] mask over [B,H,S,S] becomes runs of S. In the innermost dim every input's
// stride is 0 (broadcast) or 1 (contiguous); kernels specialise those loops.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::elementwise {

template <size_t K>
struct BroadcastPlan {
  std::vector<int64_t> dims;                    // collapsed output dims, outermost first
  std::vector<std::array<int64_t, K>> strides;  // per collapsed dim, each input's stride
  int64_t numel = 0;
};

// Output shape of numpy broadcasting over several shapes.
Result<Shape> broadcast_all(const Shape* const* shapes, size_t count);

// Builds the plan for inputs broadcast onto `out`. Each input must have rank <= out's
// and each dim equal to out's or 1; otherwise an invalid_argument error names the input.
template <size_t K>
Result<BroadcastPlan<K>> plan_broadcast(const Shape& out, const std::array<const Shape*, K>& in,
                                        const std::array<const char*, K>& names) {
  const size_t rank = out.size();
  BroadcastPlan<K> plan;
  plan.numel = 1;
  for (int64_t d : out) plan.numel *= d;
  std::vector<std::array<int64_t, K>> strides(rank);
  for (size_t k = 0; k < K; ++k) {
    const Shape& s = *in[k];
    if (s.size() > rank) {
      return invalid_argument(std::string("input '") + names[k] + "' has shape " +
                              shape_to_string(s) + " of higher rank than the output " +
                              shape_to_string(out));
    }
    const size_t offset = rank - s.size();
    int64_t stride = 1;
    for (size_t d = rank; d-- > 0;) {
      const int64_t dim = d < offset ? 1 : s[d - offset];
      if (dim != out[d] && dim != 1) {
        return invalid_argument(std::string("input '") + names[k] + "' of shape " +
                                shape_to_string(s) + " cannot be broadcast to " +
                                shape_to_string(out));
      }
      strides[d][k] = dim == 1 ? 0 : stride;
      stride *= dim;
    }
  }
  for (size_t d = 0; d < rank; ++d) {
    if (out[d] == 1) continue;
    if (!plan.dims.empty()) {
      bool chains = true;
      for (size_t k = 0; k < K; ++k) {
        chains = chains && plan.strides.back()[k] == strides[d][k] * out[d];
      }
      if (chains) {
        plan.dims.back() *= out[d];
        plan.strides.back() = strides[d];
        continue;
      }
    }
    plan.dims.push_back(out[d]);
    plan.strides.push_back(strides[d]);
  }
  if (plan.dims.empty()) {
    plan.dims.push_back(1);
    plan.strides.push_back({});
  }
  return plan;
}

// Calls f(in_offsets, out_offset, length, inner_strides) for each innermost run, where
// in_offsets are each input's element offset at the run's start.
template <size_t K, typename F>
void for_each_run(const BroadcastPlan<K>& plan, F&& f) {
  if (plan.numel == 0) return;
  const size_t outer = plan.dims.size() - 1;
  const int64_t len = plan.dims[outer];
  const std::array<int64_t, K>& inner = plan.strides[outer];
  std::array<int64_t, K> off{};
  if (outer == 0) {
    f(off, int64_t{0}, len, inner);
    return;
  }
  std::vector<int64_t> idx(outer, 0);
  const int64_t runs = plan.numel / len;
  int64_t out_off = 0;
  for (int64_t r = 0; r < runs; ++r, out_off += len) {
    f(off, out_off, len, inner);
    for (size_t d = outer; d-- > 0;) {
      for (size_t k = 0; k < K; ++k) off[k] += plan.strides[d][k];
      if (++idx[d] < plan.dims[d]) break;
      for (size_t k = 0; k < K; ++k) off[k] -= plan.strides[d][k] * plan.dims[d];
      idx[d] = 0;
    }
  }
}

// Runs f over a binary broadcast: out[i] = f(a[...], b[...]) with the contiguous and
// broadcast inner loops specialised so they vectorise.
template <typename A, typename B, typename O, typename F>
void broadcast_binary(const BroadcastPlan<2>& plan, const A* a, const B* b, O* out, F&& f) {
  for_each_run(plan, [&](const std::array<int64_t, 2>& off, int64_t o, int64_t n,
                         const std::array<int64_t, 2>& s) {
    const A* pa = a + off[0];
    const B* pb = b + off[1];
    O* po = out + o;
    if (s[0] == 1 && s[1] == 1) {
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    } else if (s[0] == 1 && s[1] == 0) {
      const B vb = *pb;
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], vb);
    } else if (s[0] == 0 && s[1] == 1) {
      const A va = *pa;
      for (int64_t i = 0; i < n; ++i) po[i] = f(va, pb[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i * s[0]], pb[i * s[1]]);
    }
  });
}

}  // namespace kiln::elementwise
