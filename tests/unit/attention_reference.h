// An independent reference for the attention tests: the scaled-dot-product attention of
// the ONNX graphs it replaces as a plain loop (float scores, masks, softmax in double),
// sharing nothing with kiln's kernel, and the projections of the small test transformers.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "kiln/tensor.h"

namespace kiln::test {

// The reference. Shapes: q [B, H, Sq, D], k [B, H, Sk, D], v [B, H, Sk, Dv]; `mask` (may be
// empty) of `mask_shape`, right-aligned to [B, H, Sq, Sk] with broadcasting; causal keeps
// k <= q + Sk - Sq and writes `fill` elsewhere, before the mask is added.
struct Problem {
  int64_t b, h, sq, sk, d, dv;
  std::vector<float> q, k, v, mask;
  Shape mask_shape;
  float divisor = 1.0f;
  bool causal = false;
  float fill = std::numeric_limits<float>::lowest();  // torch.finfo(float32).min
};

std::vector<float> reference(const Problem& p);

// n values uniform in [lo, hi), from a fixed seed.
std::vector<float> random_values(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// Fails the test at the first element further than `tol` from `want`, naming `what`.
void expect_near(const std::vector<float>& got, const std::vector<float>& want, float tol, const std::string& what);

// x [B, S, 8] times W [8, 8], split into heads: [B, 2, S, 4].
std::vector<float> project(const std::vector<float>& x, const std::vector<float>& w, int64_t b, int64_t s);

// [B, 2, S, 4] -> [B, S, 8]
std::vector<float> merge_heads(const std::vector<float>& y, int64_t b, int64_t s);

}  // namespace kiln::test
