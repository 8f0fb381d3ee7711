#include "math/small_gemm.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace kiln::math {
namespace {

#if defined(__AVX2__) && defined(__FMA__)

// One MR x (8 * NV) tile of C, accumulated in registers over all of k: MR rows of A are
// broadcast one element at a time against NV 8-float vectors of a row of B. 6 x 16 uses
// 12 accumulators + 2 B vectors + 1 broadcast of AVX2's 16 registers. With kMasked the
// last vector covers only the lanes in `mask` (a ragged right edge); masked loads read
// no memory outside it.
template <int MR, int NV, bool kMasked>
[[gnu::always_inline]] inline void tile(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                                        float* c, int64_t ldc, __m256i mask) {
  __m256 acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  }
  for (int64_t p = 0; p < k; ++p) {
    const float* brow = b + p * ldb;
    __m256 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      bv[v] = (kMasked && v == NV - 1) ? _mm256_maskload_ps(brow + 8 * v, mask) : _mm256_loadu_ps(brow + 8 * v);
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * lda + p);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      float* dst = c + r * ldc + 8 * v;
      if (kMasked && v == NV - 1) {
        _mm256_maskstore_ps(dst, mask, acc[r][v]);
      } else {
        _mm256_storeu_ps(dst, acc[r][v]);
      }
    }
  }
}

// One column panel (8 * NV wide) of C, down all m rows in tiles of 6 and a shorter tail.
template <int NV, bool kMasked>
void column_panel(int64_t m, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                  int64_t ldc, __m256i mask) {
  int64_t i = 0;
  for (; i + 6 <= m; i += 6) tile<6, NV, kMasked>(k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, mask);
  const float* ai = a + i * lda;
  float* ci = c + i * ldc;
  switch (m - i) {
    case 5: tile<5, NV, kMasked>(k, ai, lda, b, ldb, ci, ldc, mask); break;
    case 4: tile<4, NV, kMasked>(k, ai, lda, b, ldb, ci, ldc, mask); break;
    case 3: tile<3, NV, kMasked>(k, ai, lda, b, ldb, ci, ldc, mask); break;
    case 2: tile<2, NV, kMasked>(k, ai, lda, b, ldb, ci, ldc, mask); break;
    case 1: tile<1, NV, kMasked>(k, ai, lda, b, ldb, ci, ldc, mask); break;
    default: break;
  }
}

// Lanes [0, n) of a mask for the ragged last vector, n in [1, 8].
__m256i first_lanes(int64_t n) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lane);
}

#endif

}  // namespace

void gemm_rowmajor(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                   float* c, int64_t ldc) {
#if defined(__AVX2__) && defined(__FMA__)
  // Column panels outermost: a k x 16 panel of B stays in L1 while every row of A passes it.
  const __m256i all = _mm256_set1_epi32(-1);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) column_panel<2, false>(m, k, a, lda, b + j, ldb, c + j, ldc, all);
  if (j + 8 <= n) {
    column_panel<1, false>(m, k, a, lda, b + j, ldb, c + j, ldc, all);
    j += 8;
  }
  if (j < n) column_panel<1, true>(m, k, a, lda, b + j, ldb, c + j, ldc, first_lanes(n - j));
#else
  for (int64_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) ci[j] = 0.0f;
    for (int64_t p = 0; p < k; ++p) {
      const float av = a[i * lda + p];
      const float* bp = b + p * ldb;
      for (int64_t j = 0; j < n; ++j) ci[j] += av * bp[j];
    }
  }
#endif
}

}  // namespace kiln::math
