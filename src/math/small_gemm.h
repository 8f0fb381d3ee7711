// A float32 matrix product for the small blocks inside fused kernels: attention's
// per-block scores (Q_block x K^T) and weighted values (P_block x V), a few dozen rows
// against a few hundred columns. At that size a library call costs as much as the
// arithmetic (oneDNN's execute builds memory objects and an argument map every time),
// so the product is a register-blocked loop over plain row-major pointers instead;
// bench/attention_bench.cpp measures it against oneDNN at BERT-base shapes.
#pragma once

#include <cstdint>

namespace kiln::math {

// C[m x n] = A[m x k] * B[k x n]. All three are row-major with leading dimensions
// (elements from one row to the next) lda >= k, ldb >= n, ldc >= n. C is overwritten and
// may not overlap A or B; k == 0 writes zeros.
void gemm_rowmajor(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                   float* c, int64_t ldc);

}  // namespace kiln::math
