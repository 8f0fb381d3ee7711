// kiln's hand-written vector math (src/math) against the libraries it could call
// instead: Sleef 3.5 (AVX2 u10 entry points), Highway 1.0 (hwy/contrib/math, compiled
// for the same AVX2 target) and glibc's scalar libm. All on kiln's x86-64-v3 baseline.
// Each benchmark maps n floats drawn uniformly from [-10, 10] (the range activations
// see) into a second array; items/s is elements per second. See bench/README.md.
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <sleef.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>

#include "math/vector_math.h"

namespace {

namespace hn = hwy::HWY_NAMESPACE;

using MapFn = void (*)(const float*, float*, int64_t);

// --- Sleef: one out-of-line call per 8 lanes; the tail goes through a padded block.
template <typename F>
void sleef_map(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));
  if (i < n) {
    alignas(32) float buf[8] = {};
    for (int64_t j = i; j < n; ++j) buf[j - i] = x[j];
    _mm256_store_ps(buf, f(_mm256_load_ps(buf)));
    for (int64_t j = i; j < n; ++j) y[j] = buf[j - i];
  }
}
void sleef_exp(const float* x, float* y, int64_t n) {
  sleef_map(x, y, n, [](__m256 v) { return Sleef_expf8_u10avx2(v); });
}
void sleef_tanh(const float* x, float* y, int64_t n) {
  sleef_map(x, y, n, [](__m256 v) { return Sleef_tanhf8_u10avx2(v); });
}
void sleef_tanh_u35(const float* x, float* y, int64_t n) {
  sleef_map(x, y, n, [](__m256 v) { return Sleef_tanhf8_u35avx2(v); });
}
void sleef_erf(const float* x, float* y, int64_t n) {
  sleef_map(x, y, n, [](__m256 v) { return Sleef_erff8_u10avx2(v); });
}
void sleef_sigmoid(const float* x, float* y, int64_t n) {
  sleef_map(x, y, n, [](__m256 v) {
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 e = Sleef_expf8_u10avx2(_mm256_sub_ps(_mm256_setzero_ps(), v));
    return _mm256_div_ps(one, _mm256_add_ps(one, e));
  });
}

// --- Highway: static dispatch to the compile target (AVX2 here).
template <typename F>
void hwy_map(const float* x, float* y, int64_t n, F f) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(f(d, hn::LoadU(d, x + i)), d, y + i);
  if (i < n) {
    const auto m = hn::FirstN(d, static_cast<size_t>(n - i));
    hn::BlendedStore(f(d, hn::MaskedLoad(m, d, x + i)), m, d, y + i);
  }
}
void hwy_exp(const float* x, float* y, int64_t n) {
  hwy_map(x, y, n, [](auto d, auto v) { return hn::Exp(d, v); });
}
void hwy_tanh(const float* x, float* y, int64_t n) {
  hwy_map(x, y, n, [](auto d, auto v) { return hn::Tanh(d, v); });
}
void hwy_sigmoid(const float* x, float* y, int64_t n) {
  hwy_map(x, y, n, [](auto d, auto v) {
    const auto one = hn::Set(d, 1.0f);
    return one / (one + hn::Exp(d, hn::Neg(v)));
  });
}

// --- glibc: the scalar calls a plain std:: loop makes.
void std_exp(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}
void std_tanh(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}
void std_erf(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::erf(x[i]);
}
void std_sigmoid(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
}

void run_map(benchmark::State& state, MapFn fn) {
  const int64_t n = state.range(0);
  std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-10.0f, 10.0f);
  for (float& v : x) v = dist(rng);
  for (auto _ : state) {
    fn(x.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void sizes(benchmark::internal::Benchmark* b) { b->Arg(4096)->Arg(1 << 20); }

}  // namespace

BENCHMARK_CAPTURE(run_map, exp/kiln, &kiln::math::exp)->Apply(sizes);
BENCHMARK_CAPTURE(run_map, exp/sleef, &sleef_exp)->Apply(sizes);
BENCHMARK_CAPTURE(run_map, exp/highway, &hwy_exp)->Apply(sizes);
BENCHMARK_CAPTURE(run_map, exp/libm, &std_exp)->Apply(sizes);

BENCHMARK_CAPTURE(run_map, tanh/kiln, &kiln::math::tanh)->Apply(sizes);
BENCHMARK_CAPTURE(run_map, tanh/sleef, &sleef_tanh)->Apply(sizes);
BENCHMARK_CAPTURE(run_map, tanh/sleef_u35, &sleef_tanh_u35)->Apply(sizes);
BENCHMARK_CAPTURE(run_map, tanh/highway, &hwy_tanh)->Apply(sizes);
BENCHMARK_CAPTURE(run_map, tanh/libm, &std_tanh)->Apply(sizes);

BENCHMARK_CAPTURE(run_map, erf/kiln, &kiln::math::erf)->Apply(sizes);
BENCHMARK_CAPTURE(run_map, erf/sleef, &sleef_erf)->Apply(sizes);
BENCHMARK_CAPTURE(run_map, erf/libm, &std_erf)->Apply(sizes);

BENCHMARK_CAPTURE(run_map, sigmoid/kiln, &kiln::math::sigmoid)->Apply(sizes);
BENCHMARK_CAPTURE(run_map, sigmoid/sleef, &sleef_sigmoid)->Apply(sizes);
BENCHMARK_CAPTURE(run_map, sigmoid/highway, &hwy_sigmoid)->Apply(sizes);
BENCHMARK_CAPTURE(run_map, sigmoid/libm, &std_sigmoid)->Apply(sizes);

BENCHMARK_MAIN();
