// Small numeric helpers for the nn kernels: an exp that the compiler can vectorize, and
// row primitives (max, sum) written with interleaved partial results so they vectorize
// without -ffast-math. (Candidates for a shared math library once one exists.)
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "kiln/half.h"
#include "kiln/tensor.h"

namespace kiln {

// exp(x) for float, within ~2 ulp over the whole range (Cephes' polynomial on a
// range-reduced argument). Results below ~1e-38 flush to about 1e-38 rather than to 0,
// which a softmax or a logsumexp cannot tell apart. The scalar form serves loop tails;
// exp_sub_* below run 8 lanes at a time with AVX2 (kiln's x86-64-v3 baseline), since
// GCC will not if-convert the clamps of a scalar loop into vector min/max.
namespace expf_detail {
constexpr float kHi = 88.3762626647949f;
constexpr float kLo = -87.3365447504f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;
constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
constexpr float kP[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                         4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
}  // namespace expf_detail

inline float fast_expf(float x) {
  using namespace expf_detail;
  x = x > kHi ? kHi : x;
  x = x < kLo ? kLo : x;
  const float t = x * kLog2e + kRound;
  const float n = t - kRound;
  const float r = x - n * kLn2Hi - n * kLn2Lo;
  float p = kP[0];
  for (int i = 1; i < 6; ++i) p = p * r + kP[i];
  p = p * r * r + r + 1.0f;
  const int32_t e = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(kRound);
  return p * std::bit_cast<float>((e + 127) << 23);
}

#if defined(__AVX2__) && defined(__FMA__)
inline __m256 fast_exp256(__m256 x) {
  using namespace expf_detail;
  // min/max with the constant first: a NaN x passes through.
  x = _mm256_min_ps(_mm256_set1_ps(kHi), x);
  x = _mm256_max_ps(_mm256_set1_ps(kLo), x);
  const __m256 round = _mm256_set1_ps(kRound);
  const __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(kLog2e), round);
  const __m256 n = _mm256_sub_ps(t, round);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kP[0]);
  for (int i = 1; i < 6; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP[i]));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(round));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}
#endif

// y[i] = exp(x[i] - shift); returns the sum of the y[i].
inline float exp_sub_sum(const float* x, float shift, float* y, int64_t n) {
  int64_t i = 0;
  float sum = 0;
#if defined(__AVX2__) && defined(__FMA__)
  const __m256 s = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    const __m256 v = fast_exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    _mm256_storeu_ps(y + i, v);
    acc = _mm256_add_ps(acc, v);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc);
  sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
#endif
  for (; i < n; ++i) {
    y[i] = fast_expf(x[i] - shift);
    sum += y[i];
  }
  return sum;
}
inline double exp_sub_sum(const double* x, double shift, double* y, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    y[i] = std::exp(x[i] - shift);
    sum += y[i];
  }
  return sum;
}

// y[i] = exp(x[i] - shift[i]).
inline void exp_sub(const float* x, const float* shift, float* y, int64_t n) {
  int64_t i = 0;
#if defined(__AVX2__) && defined(__FMA__)
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, fast_exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(shift + i))));
  }
#endif
  for (; i < n; ++i) y[i] = fast_expf(x[i] - shift[i]);
}
inline void exp_sub(const double* x, const double* shift, double* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i] - shift[i]);
}

template <typename C>
inline C row_max(const C* x, int64_t n) {
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
inline C row_sum(const C* x, int64_t n) {
  C lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) lanes[l] += x[i + l];
  }
  for (; i < n; ++i) lanes[0] += x[i];
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

// Sum of (x[i] - mean)^2: the second pass of a two-pass variance, which stays accurate
// when the mean is large relative to the spread.
template <typename C>
inline C row_sum_sq_dev(const C* x, int64_t n, C mean) {
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
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

// The type kernels compute in: double for double, float for everything else.
template <typename T>
using CalcType = std::conditional_t<std::is_same_v<T, double>, double, float>;

template <typename C, typename T>
inline C load_calc(const T& v) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) return static_cast<C>(to_float(v));
  else return static_cast<C>(v);
}
template <typename T, typename C>
inline T store_calc(C v) {
  if constexpr (std::is_same_v<T, Float16>) return Float16{float_to_half(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, BFloat16>) return BFloat16{float_to_bfloat16(static_cast<float>(v))};
  else return static_cast<T>(v);
}

// A small parameter tensor (scale, bias, mean...) of any float dtype, as doubles.
std::vector<double> tensor_to_doubles(const Tensor& t);

}  // namespace kiln
