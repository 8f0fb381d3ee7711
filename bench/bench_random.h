// Inputs for the micro-benchmarks: n floats uniform in [lo, hi) from a fixed seed, so
// every run (and every engine or kernel compared in one) sees the same values.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace kiln::bench {

inline std::vector<float> random_values(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

}  // namespace kiln::bench
