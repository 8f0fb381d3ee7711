// Vectorized float math over arrays: exp, tanh, erf, sigmoid, GELU, sqrt, and the row
// primitives of softmax and normalization (max, sum, exp(x - shift) with its sum). Plain
// functions over pointers and counts; nothing here knows about tensors or graphs.
//
// Hand-written rather than calling Sleef or Highway, because it is faster on kiln's
// x86-64-v3 baseline: each function is one loop over an always-inlined polynomial that
// GCC vectorizes to 8 AVX2+FMA lanes (Sleef costs a library call per 8 lanes, and GELU
// could not fuse erf into its loop). bench/vector_math_bench.cpp,
// median of 5 interleaved repetitions, two runs, AMD EPYC (bench/README.md has the
// table). Time of the alternative / time of kiln, at n = 4096 and n = 2^20:
//   exp      Sleef expf8_u10  1.25-1.30x   Highway Exp 2.2x    glibc expf  6.3-6.5x
//   tanh     Sleef tanhf8_u10 2.5-2.6x     Highway Tanh 2.2x   glibc tanhf 13-17x
//            (Sleef tanhf8_u35, 3.5-ulp accuracy: 1.06-1.08x)
//   erf      Sleef erff8_u10  3.9x         (no Highway erf)    glibc erff  5.2-9.5x
//   sigmoid  1/(1+Sleef exp)  1.10-1.13x   1/(1+Highway Exp) 1.9x   glibc 4.7-4.9x
// Accuracy against double precision, the maximum over all 2^32 float inputs: exp 1.04
// ulp, tanh 1.33, erf 2.28, sigmoid 2.83 (tests/unit/vector_math_test.cpp holds these
// bounds). Infinities and NaN behave as in libm, and results in the denormal range are
// produced, not flushed. The coefficients are least-squares (near-minimax) fits made for
// kiln. Revisit when the baseline moves to AVX-512 (Sleef has _avx512f entry points).
//
// Every y may be the same array as its x.
#pragma once

#include <cstdint>

namespace kiln::math {

// y[i] = e^x[i].
void exp(const float* x, float* y, int64_t n);
// y[i] = tanh(x[i]).
void tanh(const float* x, float* y, int64_t n);
// y[i] = erf(x[i]).
void erf(const float* x, float* y, int64_t n);
// y[i] = 1 / (1 + e^-x[i]), accurate for large negative x too (no overflow to 0 early).
void sigmoid(const float* x, float* y, int64_t n);
// y[i] = sqrt(x[i]) (NaN for negative x, without touching errno).
void sqrt(const float* x, float* y, int64_t n);

// GELU's two forms: x/2 * (1 + erf(x / sqrt(2))), and the tanh approximation
// x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))).
void gelu_erf(const float* x, float* y, int64_t n);
void gelu_tanh(const float* x, float* y, int64_t n);

// Softmax pieces. y[i] = e^(x[i] - shift), returning the sum of the y[i].
float exp_sub_sum(const float* x, float shift, float* y, int64_t n);
double exp_sub_sum(const double* x, double shift, double* y, int64_t n);
// y[i] = e^(x[i] - shift[i]).
void exp_sub(const float* x, const float* shift, float* y, int64_t n);
void exp_sub(const double* x, const double* shift, double* y, int64_t n);

// Largest element (-inf for n == 0; NaN elements are skipped), sum, and sum of squared deviations from `mean` (the
// second pass of a two-pass variance, accurate when the mean is large next to the
// spread). Summed in 8 interleaved partial sums, so the loops vectorize.
float row_max(const float* x, int64_t n);
double row_max(const double* x, int64_t n);
float row_sum(const float* x, int64_t n);
double row_sum(const double* x, int64_t n);
float row_sum_sq_dev(const float* x, int64_t n, float mean);
double row_sum_sq_dev(const double* x, int64_t n, double mean);

}  // namespace kiln::math
