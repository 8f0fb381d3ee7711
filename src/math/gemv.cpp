#include "math/gemv.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace kiln::math {
namespace {

// Below this many multiply-adds one thread finishes before a parallel region starts.
constexpr int64_t kParallelWork = 1 << 16;

#if defined(__AVX2__) && defined(__FMA__)

float horizontal_sum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

// Four rows at once: each 8-float piece of x is loaded once for four dot products, and
// two accumulators per row hide the FMA latency.
void four_rows(int64_t k, const float* x, const float* w, int64_t ldw, float* out) {
  __m256 acc[4][2];
  for (auto& row : acc) row[0] = row[1] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= k; i += 16) {
    const __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
    for (int r = 0; r < 4; ++r) {
      const float* wr = w + r * ldw + i;
      acc[r][0] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(wr), acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x1, _mm256_loadu_ps(wr + 8), acc[r][1]);
    }
  }
  for (int r = 0; r < 4; ++r) {
    float s = horizontal_sum(_mm256_add_ps(acc[r][0], acc[r][1]));
    for (int64_t j = i; j < k; ++j) s += x[j] * w[r * ldw + j];
    out[r] = s;
  }
}

void one_row(int64_t k, const float* x, const float* w, float* out) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= k; i += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(w + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(w + i + 8), a1);
  }
  float s = horizontal_sum(_mm256_add_ps(a0, a1));
  for (; i < k; ++i) s += x[i] * w[i];
  *out = s;
}

#else

void four_rows(int64_t k, const float* x, const float* w, int64_t ldw, float* out) {
  for (int r = 0; r < 4; ++r) {
    float s = 0;
    for (int64_t i = 0; i < k; ++i) s += x[i] * w[r * ldw + i];
    out[r] = s;
  }
}

void one_row(int64_t k, const float* x, const float* w, float* out) {
  float s = 0;
  for (int64_t i = 0; i < k; ++i) s += x[i] * w[i];
  *out = s;
}

#endif

}  // namespace

void gemv_rows(int64_t n, int64_t k, const float* x, const float* w, int64_t ldw, const float* bias, float* y) {
  const int64_t groups = n / 4;
#pragma omp parallel for schedule(static) if (n * k >= kParallelWork)
  for (int64_t g = 0; g < groups; ++g) four_rows(k, x, w + 4 * g * ldw, ldw, y + 4 * g);
  for (int64_t r = groups * 4; r < n; ++r) one_row(k, x, w + r * ldw, y + r);
  if (bias) {
    for (int64_t r = 0; r < n; ++r) y[r] += bias[r];
  }
}

}  // namespace kiln::math
