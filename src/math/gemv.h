// y = x W^T (+ bias), one row x against a weight matrix W [N, K] stored row by row, as
// torch's Linear keeps it and a classifier head at batch 1 runs it (ResNet-50's
// 2048 -> 1000 fc, MobileNetV2's 1280 -> 1000). With one row there is nothing to block:
// every weight is read once and used once, so the time is W's bytes over the memory
// bandwidth. oneDNN's matmul handles M = 1 with its GEMM kernels and packed weights at
// well under that bandwidth; bench/gemv_bench.cpp measures both.
#pragma once

#include <cstdint>

namespace kiln::math {

// y[n] = sum_k x[k] * w[n * ldw + k] (+ bias[n] when bias is not null), for n < N.
// Splits the outputs over the OpenMP threads when W is large enough to pay for it.
void gemv_rows(int64_t n, int64_t k, const float* x, const float* w, int64_t ldw, const float* bias, float* y);

}  // namespace kiln::math
