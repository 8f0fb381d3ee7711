#include "unit/attention_reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace kiln::test {

std::vector<float> reference(const Problem& p) {
  std::vector<float> y(static_cast<size_t>(p.b * p.h * p.sq * p.dv));
  auto mask_at = [&](int64_t bi, int64_t hi, int64_t i, int64_t j) {
    const int64_t idx4[4] = {bi, hi, i, j};
    const size_t lead = 4 - p.mask_shape.size();
    int64_t off = 0;
    for (size_t a = 0; a < p.mask_shape.size(); ++a) {
      off = off * p.mask_shape[a] + (p.mask_shape[a] == 1 ? 0 : idx4[lead + a]);
    }
    return p.mask[static_cast<size_t>(off)];
  };
  for (int64_t bi = 0; bi < p.b; ++bi) {
    for (int64_t hi = 0; hi < p.h; ++hi) {
      const int64_t bh = bi * p.h + hi;
      for (int64_t i = 0; i < p.sq; ++i) {
        std::vector<float> s(static_cast<size_t>(p.sk));
        for (int64_t j = 0; j < p.sk; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < p.d; ++c) dot += double(p.q[(bh * p.sq + i) * p.d + c]) * p.k[(bh * p.sk + j) * p.d + c];
          float x = static_cast<float>(dot) / p.divisor;
          if (p.causal && j > i + p.sk - p.sq) x = p.fill;
          if (!p.mask.empty()) x += mask_at(bi, hi, i, j);
          s[j] = x;
        }
        double mx = -INFINITY, sum = 0;
        for (float x : s) mx = std::max(mx, double(x));
        std::vector<double> e(s.size());
        for (size_t j = 0; j < s.size(); ++j) sum += e[j] = std::exp(double(s[j]) - mx);
        for (int64_t c = 0; c < p.dv; ++c) {
          double acc = 0;
          for (int64_t j = 0; j < p.sk; ++j) acc += e[j] / sum * p.v[(bh * p.sk + j) * p.dv + c];
          y[(bh * p.sq + i) * p.dv + c] = static_cast<float>(acc);
        }
      }
    }
  }
  return y;
}

std::vector<float> random_values(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

void expect_near(const std::vector<float>& got, const std::vector<float>& want, float tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], tol) << what << " element " << i;
  }
}

std::vector<float> project(const std::vector<float>& x, const std::vector<float>& w, int64_t b, int64_t s) {
  std::vector<float> out(static_cast<size_t>(b * s * 8));
  for (int64_t bi = 0; bi < b; ++bi) {
    for (int64_t i = 0; i < s; ++i) {
      for (int64_t o = 0; o < 8; ++o) {
        double acc = 0;
        for (int64_t c = 0; c < 8; ++c) acc += double(x[(bi * s + i) * 8 + c]) * w[c * 8 + o];
        out[((bi * 2 + o / 4) * s + i) * 4 + o % 4] = static_cast<float>(acc);
      }
    }
  }
  return out;
}

std::vector<float> merge_heads(const std::vector<float>& y, int64_t b, int64_t s) {
  std::vector<float> out(y.size());
  for (int64_t bi = 0; bi < b; ++bi) {
    for (int64_t h = 0; h < 2; ++h) {
      for (int64_t i = 0; i < s; ++i) {
        for (int64_t d = 0; d < 4; ++d) out[(bi * s + i) * 8 + h * 4 + d] = y[((bi * 2 + h) * s + i) * 4 + d];
      }
    }
  }
  return out;
}

}  // namespace kiln::test
