// Accuracy of src/math/vector_math against double-precision libm: a sweep over every
// 127th float bit pattern (all signs and exponents, denormals included), the special
// values, and the edges of each function's ranges; the error is in units in the last
// place at the exact result. The bounds are the maxima of an exhaustive run over all
// 2^32 floats (exp 1.035, tanh 1.332, erf 2.277, sigmoid 2.825 ulp), rounded up a little:
// a coefficient or range-reduction change that loses accuracy fails here.
#include "math/vector_math.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace kiln::math {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Distance from y to ref in float ulps at ref's magnitude (denormal spacing below
// FLT_MIN). inf counts as 2^128, the next value after FLT_MAX, so an overflow one
// rounding step early or late is 1 ulp, not infinitely many.
double ulp_error(float y, double ref) {
  if (std::isnan(ref) || std::isnan(y)) return std::isnan(ref) && std::isnan(y) ? 0.0 : HUGE_VAL;
  if (static_cast<double>(y) == ref) return 0.0;
  if (std::isinf(y) && std::isinf(static_cast<float>(ref)) && (y > 0) == (ref > 0)) return 0.0;
  const double yd = std::isinf(y) ? std::copysign(0x1p128, y) : y;
  const double rd = std::clamp(ref, -0x1p128, 0x1p128);
  int e = 0;
  std::frexp(std::max(std::fabs(rd), 0x1p-126), &e);  // |rd| in [2^(e-1), 2^e)
  const double ulp = std::ldexp(1.0, std::min(e - 1, 127) - 23);
  return std::fabs(yd - rd) / ulp;
}

// Inputs: every `stride`-th bit pattern, plus the special and boundary values.
std::vector<float> sweep(uint32_t stride, std::vector<float> extra) {
  std::vector<float> x;
  x.reserve((uint64_t{1} << 32) / stride + extra.size() + 16);
  for (uint64_t b = 0; b < (uint64_t{1} << 32); b += stride) x.push_back(std::bit_cast<float>(static_cast<uint32_t>(b)));
  const float fmin = std::numeric_limits<float>::min();
  const float fmax = std::numeric_limits<float>::max();
  const float dmin = std::numeric_limits<float>::denorm_min();
  for (float v : {0.0f, kInf, kNaN, dmin, 2 * dmin, fmin / 2, fmin, fmax, 1e30f, 1.0f, 0.5f}) {
    x.push_back(v);
    x.push_back(-v);
  }
  for (float v : extra) {
    // The value and its float neighbours on both sides.
    x.push_back(v);
    x.push_back(std::nextafter(v, kInf));
    x.push_back(std::nextafter(v, -kInf));
  }
  return x;
}

struct Worst {
  double ulps = 0;
  float x = 0, y = 0;
  double ref = 0;
};

template <typename Ref>
Worst worst_error(void (*fn)(const float*, float*, int64_t), const std::vector<float>& x, Ref ref) {
  std::vector<float> y(x.size());
  fn(x.data(), y.data(), static_cast<int64_t>(x.size()));
  Worst w;
  for (size_t i = 0; i < x.size(); ++i) {
    const double r = ref(static_cast<double>(x[i]));
    const double e = ulp_error(y[i], r);
    if (e > w.ulps) w = {e, x[i], y[i], r};
  }
  return w;
}

std::string describe(const Worst& w) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%.2f ulp at x = %.9g (got %.9g, expected %.17g)", w.ulps, w.x, w.y, w.ref);
  return buf;
}

constexpr uint32_t kStride = 127;  // about 34 million inputs, every exponent and sign

double sigmoid_ref(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }

TEST(VectorMath, ExpWithinOneUlp) {  // 1.05: exact to the last bit is not the goal
  // Overflow (ln FLT_MAX), the normal/denormal boundary, underflow to 0, the clamps.
  const auto x = sweep(kStride, {88.7228394f, -87.3365479f, -103.972084f, -104.0f, 88.8f, 1e-8f});
  const Worst w = worst_error(&exp, x, [](double v) { return std::exp(v); });
  EXPECT_LE(w.ulps, 1.05) << describe(w);
}

TEST(VectorMath, TanhWithinOnePointFourUlp) {
  const auto x = sweep(kStride, {0.625f, -0.625f, 9.01f, 44.4f, 1e-4f});
  const Worst w = worst_error(&tanh, x, [](double v) { return std::tanh(v); });
  EXPECT_LE(w.ulps, 1.4) << describe(w);
}

TEST(VectorMath, ErfWithinTwoPointFiveUlp) {
  const auto x = sweep(kStride, {1.0f, -1.0f, 4.0f, 3.92f, 1e-4f});
  const Worst w = worst_error(&erf, x, [](double v) { return std::erf(v); });
  EXPECT_LE(w.ulps, 2.5) << describe(w);
}

TEST(VectorMath, SigmoidWithinThreeUlp) {
  // Large negative x gives denormal results, which must not flush to 0 early.
  const auto x = sweep(kStride, {-88.7f, -87.4f, -100.0f, -103.2f, 16.7f, 17.4f});
  const Worst w = worst_error(&sigmoid, x, sigmoid_ref);
  EXPECT_LE(w.ulps, 3.0) << describe(w);  // e^-|x| (1 ulp) and a division compound
}

TEST(VectorMath, SqrtIsCorrectlyRounded) {
  const auto x = sweep(kStride, {});
  const Worst w = worst_error(&sqrt, x, [](double v) { return std::sqrt(v); });
  EXPECT_LE(w.ulps, 0.5) << describe(w);
}

// GELU computes 1 + erf (or 1 + tanh) in float, which cancels for negative x: there the
// error is bounded in absolute terms (a few ulp of 1, times x/2); for x >= -0.5 it is a
// few ulp of the result.
double gelu_erf_ref(double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }
double gelu_tanh_ref(double v) {
  return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
}

TEST(VectorMath, GeluAccuracy) {
  std::vector<float> pos;
  for (float v = -0.5f; v <= 12.0f; v += 1.0f / 4096) pos.push_back(v);
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-40f, 100.0f, 1e30f, kInf, kNaN}) pos.push_back(v);
  const Worst we = worst_error(&gelu_erf, pos, gelu_erf_ref);
  EXPECT_LE(we.ulps, 4.0) << describe(we);
  const Worst wt = worst_error(&gelu_tanh, pos, gelu_tanh_ref);
  EXPECT_LE(wt.ulps, 4.0) << describe(wt);

  std::vector<float> neg;
  for (float v = -0.5f; v >= -20.0f; v -= 1.0f / 4096) neg.push_back(v);
  std::vector<float> ye(neg.size()), yt(neg.size());
  gelu_erf(neg.data(), ye.data(), static_cast<int64_t>(neg.size()));
  gelu_tanh(neg.data(), yt.data(), static_cast<int64_t>(neg.size()));
  for (size_t i = 0; i < neg.size(); ++i) {
    const double bound = 4.0 * 0x1p-24 * 0.5 * std::fabs(neg[i]);
    ASSERT_NEAR(ye[i], gelu_erf_ref(neg[i]), bound) << "gelu_erf x = " << neg[i];
    ASSERT_NEAR(yt[i], gelu_tanh_ref(neg[i]), bound) << "gelu_tanh x = " << neg[i];
  }
}

TEST(VectorMath, SpecialValues) {
  const std::vector<float> x = {kInf, -kInf, kNaN, 0.0f, -0.0f};
  std::vector<float> y(x.size());
  exp(x.data(), y.data(), 5);
  EXPECT_EQ(y[0], kInf);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_EQ(y[3], 1.0f);
  tanh(x.data(), y.data(), 5);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -1.0f);
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_TRUE(std::signbit(y[4]));
  erf(x.data(), y.data(), 5);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -1.0f);
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_TRUE(std::signbit(y[4]));
  sigmoid(x.data(), y.data(), 5);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_EQ(y[3], 0.5f);
  gelu_erf(x.data(), y.data(), 5);
  EXPECT_EQ(y[0], kInf);
  EXPECT_TRUE(std::isnan(y[2]));
}

// Every length and offset gives the same values as the whole array: the vector body
// and the scalar remainder agree, and y may alias x.
TEST(VectorMath, TailsAndInPlace) {
  std::vector<float> x(40);
  for (size_t i = 0; i < x.size(); ++i) x[i] = -9.5f + 0.47f * static_cast<float>(i);
  for (auto fn : {&exp, &tanh, &erf, &sigmoid, &sqrt, &gelu_erf, &gelu_tanh}) {
    std::vector<float> whole(x.size());
    fn(x.data(), whole.data(), static_cast<int64_t>(x.size()));
    for (int64_t off = 0; off < 3; ++off) {
      for (int64_t n = 0; n + off <= 37; ++n) {
        std::vector<float> y(x.begin(), x.end());
        fn(y.data() + off, y.data() + off, n);
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_TRUE(y[off + i] == whole[off + i] || (std::isnan(y[off + i]) && std::isnan(whole[off + i])))
              << "n=" << n << " off=" << off << " i=" << i;
        }
        if (off + n < 40) {
          ASSERT_EQ(y[off + n], x[off + n]) << "wrote past the end, n=" << n;
        }
      }
    }
  }
}

TEST(VectorMath, SoftmaxRowPrimitives) {
  std::vector<float> x(1000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i)) * 30.0f;
  x[17] = 31.5f;
  x[400] = -kInf;
  EXPECT_EQ(row_max(x.data(), 1000), 31.5f);
  EXPECT_EQ(row_max(x.data(), 0), -kInf);
  const float with_nan[3] = {kNaN, 1.0f, -2.0f};  // NaN is skipped
  EXPECT_EQ(row_max(with_nan, 3), 1.0f);
  std::vector<float> y(x.size());
  const float s = exp_sub_sum(x.data(), 31.5f, y.data(), 1000);
  double ref = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = std::exp(static_cast<double>(x[i] - 31.5f));  // x - shift rounds in float
    ref += e;
    ASSERT_LE(ulp_error(y[i], e), 1.05) << i;
  }
  EXPECT_NEAR(s, ref, ref * 1e-6);
  EXPECT_EQ(y[400], 0.0f);
  std::vector<float> shift(x.size(), 1.0f);
  exp_sub(x.data(), shift.data(), y.data(), 1000);
  EXPECT_LE(ulp_error(y[3], std::exp(static_cast<double>(x[3] - 1.0f))), 1.05);

  std::vector<double> d = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(row_sum(d.data(), 10), 55.0);
  EXPECT_EQ(row_sum_sq_dev(d.data(), 10, 5.5), 82.5);
  EXPECT_EQ(row_max(d.data(), 10), 10.0);
  std::vector<float> f(d.begin(), d.end());
  EXPECT_EQ(row_sum(f.data(), 10), 55.0f);
  EXPECT_EQ(row_sum_sq_dev(f.data(), 10, 5.5f), 82.5f);
}

}  // namespace
}  // namespace kiln::math
