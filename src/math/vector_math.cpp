#include "math/vector_math.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace kiln::math {
namespace {

// The per-element kernels, written without branches or libm calls and always inlined,
// so that each array loop below vectorizes (glibc's expf/tanhf/erff are scalar calls).

[[gnu::always_inline]] inline float fma(float a, float b, float c) {
#if defined(__FMA__)
  return std::fma(a, b, c);  // one instruction with FMA; a libm call without it
#else
  return a * b + c;
#endif
}

// c ? a : b on values both already computed. Written with masks so GCC sees no branch:
// under -ftrapping-math it would not if-convert a ?: whose arms hold a division, and
// the loop would stay scalar.
[[gnu::always_inline]] inline float select(bool c, float a, float b) {
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  return std::bit_cast<float>((std::bit_cast<uint32_t>(a) & m) | (std::bit_cast<uint32_t>(b) & ~m));
}

// exp(x) = 2^n * e^r with n = round(x / ln2), |r| <= ln2 / 2, and
// e^r = 1 + r + r^2 * Q(r).
[[gnu::always_inline]] inline float exp1(float x) {
  // Beyond these bounds the result is already inf or 0; NaN passes the comparisons.
  x = x < -104.0f ? -104.0f : x;
  x = x > 88.8f ? 88.8f : x;
  // Adding 1.5 * 2^23 rounds to an integer and leaves it in the low mantissa bits, which
  // avoids a float-to-int conversion (undefined for NaN).
  constexpr float kShift = 12582912.0f;
  const float t = fma(x, 1.44269504088896341f, kShift);
  const float n = t - kShift;
  float r = fma(n, -0.693145751953125f, x);  // ln2 split in two for an exact n * ln2_hi
  r = fma(n, -1.428606765330187e-06f, r);
  float q = 1.388763889e-03f;
  q = fma(q, r, 8.368230733e-03f);
  q = fma(q, r, 4.166709011e-02f);
  q = fma(q, r, 1.666652586e-01f);
  q = fma(q, r, 4.999999877e-01f);
  const float p = fma(r * r, q, r) + 1.0f;
  // 2^n in two factors so n down to -150 (denormal results) and up to 128 both work.
  const int32_t ni = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(kShift);
  const int32_t n1 = ni >> 1;
  const int32_t n2 = ni - n1;
  const float s1 = std::bit_cast<float>((n1 + 127) << 23);
  const float s2 = std::bit_cast<float>((n2 + 127) << 23);
  return p * s1 * s2;
}

// e = e^-|x| never overflows; 1 / (1 + e) is sigmoid(|x|) and e / (1 + e) is
// sigmoid(-|x|), down into the denormals.
[[gnu::always_inline]] inline float sigmoid1(float x) {
  const float e = exp1(-std::fabs(x));
  const float r = 1.0f / (1.0f + e);
  return select(x < 0.0f, e * r, r);
}

// tanh(x) = x + x^3 * Q(x^2) for |x| < 0.625, else 1 - 2 / (e^{2|x|} + 1), with x's sign.
[[gnu::always_inline]] inline float tanh1(float x) {
  const float a = std::fabs(x);
  const float z = a * a;
  float q = -5.681513435e-03f;
  q = fma(q, z, 2.061543562e-02f);
  q = fma(q, z, -5.373135188e-02f);
  q = fma(q, z, 1.333132226e-01f);
  q = fma(q, z, -3.333327631e-01f);
  const float small = fma(a * z, q, a);
  const float big = 1.0f - 2.0f / (exp1(2.0f * a) + 1.0f);
  return std::copysign(select(a < 0.625f, small, big), x);
}

// erf(x) = x * P(x^2) for |x| < 1; else 1 - e^{-x^2} * R(1/|x|) where R fits
// e^{x^2} erfc(x) on [1, 4] (beyond 4, erf is 1 in float and R's argument is clamped).
[[gnu::always_inline]] inline float erf1(float x) {
  const float a = std::fabs(x);
  const float z = a * a;
  float p = 7.554748736e-05f;
  p = fma(p, z, -7.912030462e-04f);
  p = fma(p, z, 5.175911774e-03f);
  p = fma(p, z, -2.684625296e-02f);
  p = fma(p, z, 1.128336055e-01f);
  p = fma(p, z, -3.761259705e-01f);
  p = fma(p, z, 1.128379155e+00f);
  const float small = a * p;
  float u = 1.0f / a;
  u = select(u < 0.25f, 0.25f, u);
  float r = -3.382471813e-02f;
  r = fma(r, u, 2.374512031e-01f);
  r = fma(r, u, -7.363040419e-01f);
  r = fma(r, u, 1.306389832e+00f);
  r = fma(r, u, -1.404671873e+00f);
  r = fma(r, u, 8.183966063e-01f);
  r = fma(r, u, -3.198293710e-02f);
  r = fma(r, u, -2.966347882e-01f);
  r = fma(r, u, 5.260236751e-03f);
  r = fma(r, u, 5.634655502e-01f);
  r = fma(r, u, 3.850563051e-05f);
  const float big = 1.0f - exp1(-z) * r;
  return std::copysign(select(a < 1.0f, small, big), x);
}

// Reductions in 8 interleaved partial results: without -ffast-math GCC may not reorder
// a single running sum, but it does vectorize eight independent ones.
template <typename C>
C max_n(const C* x, int64_t n) {
  C lanes[8];
  for (C& l : lanes) l = -std::numeric_limits<C>::infinity();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) lanes[l] = x[i + l] > lanes[l] ? x[i + l] : lanes[l];
  }
  for (; i < n; ++i) lanes[0] = x[i] > lanes[0] ? x[i] : lanes[0];
  C m = lanes[0];
  for (int l = 1; l < 8; ++l) m = lanes[l] > m ? lanes[l] : m;
  return m;
}

template <typename C>
C fold8(const C (&lanes)[8]) {
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

template <typename C>
C sum_n(const C* x, int64_t n) {
  C lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) lanes[l] += x[i + l];
  }
  for (; i < n; ++i) lanes[0] += x[i];
  return fold8(lanes);
}

template <typename C>
C sum_sq_dev_n(const C* x, int64_t n, C mean) {
  C lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) {
      const C d = x[i + l] - mean;
      lanes[l] += d * d;
    }
  }
  for (; i < n; ++i) {
    const C d = x[i] - mean;
    lanes[0] += d * d;
  }
  return fold8(lanes);
}

}  // namespace

void exp(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = exp1(x[i]);
}

void tanh(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = tanh1(x[i]);
}

void erf(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = erf1(x[i]);
}

void sigmoid(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = sigmoid1(x[i]);
}

// std::sqrt does not vectorize: it must set errno for negative inputs, so each element
// gets a check and a possible libm call.
void sqrt(const float* x, float* y, int64_t n) {
  int64_t i = 0;
#if defined(__AVX__)
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_sqrt_ps(_mm256_loadu_ps(x + i)));
#endif
  for (; i < n; ++i) y[i] = std::sqrt(x[i]);
}

void gelu_erf(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + erf1(v * 0.70710678118654752f));  // erf(x / sqrt(2))
  }
}

void gelu_tanh(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float inner = 0.79788456080286536f * (v + 0.044715f * v * v * v);  // sqrt(2/pi) * ...
    y[i] = 0.5f * v * (1.0f + tanh1(inner));
  }
}

float exp_sub_sum(const float* x, float shift, float* y, int64_t n) {
  // Blocks small enough that y is still in L1 when it is summed.
  constexpr int64_t kBlock = 1024;
  float sum = 0.0f;
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t m = std::min(kBlock, n - i0);
    for (int64_t i = i0; i < i0 + m; ++i) y[i] = exp1(x[i] - shift);
    sum += sum_n(y + i0, m);
  }
  return sum;
}

double exp_sub_sum(const double* x, double shift, double* y, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    y[i] = std::exp(x[i] - shift);
    sum += y[i];
  }
  return sum;
}

void exp_sub(const float* x, const float* shift, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = exp1(x[i] - shift[i]);
}

void exp_sub(const double* x, const double* shift, double* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i] - shift[i]);
}

float row_max(const float* x, int64_t n) { return max_n(x, n); }
double row_max(const double* x, int64_t n) { return max_n(x, n); }
float row_sum(const float* x, int64_t n) { return sum_n(x, n); }
double row_sum(const double* x, int64_t n) { return sum_n(x, n); }
float row_sum_sq_dev(const float* x, int64_t n, float mean) { return sum_sq_dev_n(x, n, mean); }
double row_sum_sq_dev(const double* x, int64_t n, double mean) { return sum_sq_dev_n(x, n, mean); }

}  // namespace kiln::math
