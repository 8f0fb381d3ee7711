// One row against a classifier's weights, y = x W^T + b with W [N, K] (torch's Linear
// layout), as ResNet-50 (2048 -> 1000) and MobileNetV2 (1280 -> 1000) end at batch 1:
// math::gemv_rows against a oneDNN matmul primitive (M = 1, weights packed once into the
// layout it asks for, created once, as kiln's Gemm kernel runs it otherwise).
// Cold: a 64 MiB buffer is written between iterations so W comes from memory, as it
// does in a whole network whose other weights evict it; warm: W stays in cache.
//
// Build: ninja -C build kiln_bench_gemv. Run:
//   build/bench/kiln_bench_gemv --benchmark_repetitions=5
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
//
// Results, AMD EPYC (Zen 4), 2 threads, 2 cores shared with other work, median of 5:
//   N x K          cold: gemv_rows  oneDNN     warm: gemv_rows  oneDNN
//   1000 x 2048          0.31 ms    0.49 ms          72 us      66 us
//   1000 x 1280          0.25 ms    0.31 ms          41 us      46 us
//   768 x 768            0.14 ms    0.16 ms          20 us      27 us
// Decision: kiln's Gemm runs one row against [N, K] weights with gemv_rows. In a network
// the head's weights come from memory (cold), where it is 1.2-1.6x faster; warm it ties.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "backend/cpu/matmul_primitive.h"
#include "backend/cpu/onednn.h"
#include "bench_random.h"
#include "math/gemv.h"

namespace {

using kiln::bench::random_values;

struct Problem {
  int64_t n, k;
  std::vector<float> x, w, bias, y;
  Problem(int64_t n_, int64_t k_)
      : n(n_), k(k_), x(random_values(k_, 1)), w(random_values(n_ * k_, 2)), bias(random_values(n_, 3)), y(n_) {}
};

// Evicts the caches: writes a buffer larger than the L3.
void flush_caches() {
  static std::vector<char> buffer(64 << 20);
  static char value = 0;
  std::memset(buffer.data(), ++value, buffer.size());
  benchmark::ClobberMemory();
}

// Args: N, K, cold (1) or warm (0).
void BM_GemvRows(benchmark::State& state) {
  Problem p(state.range(0), state.range(1));
  const bool cold = state.range(2) != 0;
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      flush_caches();
      state.ResumeTiming();
    }
    kiln::math::gemv_rows(p.n, p.k, p.x.data(), p.w.data(), p.k, p.bias.data(), p.y.data());
    benchmark::DoNotOptimize(p.y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(4.0 * p.n * p.k, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_OnednnMatmul(benchmark::State& state) {
  Problem p(state.range(0), state.range(1));
  const bool cold = state.range(2) != 0;
  using dt = dnnl::memory::data_type;
  // W [N, K] read as op(B) = W^T [K, N] through strides, packed once like kiln's Gemm.
  const kiln::cpu::MatmulOperand a{{1, p.k}, {}};
  const kiln::cpu::MatmulOperand b{{p.k, p.n}, {1, p.k}};
  dnnl::memory packed;
  const kiln::cpu::PackWeights pack = [&](const dnnl::memory::desc& layout) {
    auto& engine = kiln::cpu::onednn_engine();
    dnnl::memory plain(kiln::cpu::strided_desc(b.dims, b.strides, dt::f32), engine, p.w.data());
    packed = dnnl::memory(layout, engine);
    dnnl::reorder(plain, packed).execute(kiln::cpu::onednn_stream(), plain, packed);
    kiln::cpu::onednn_stream().wait();
    return packed;
  };
  auto prim = kiln::cpu::MatmulPrimitive::create(a, b, {1, p.n}, pack, 1.0f, {1, p.n});
  if (!prim.is_ok()) {
    state.SkipWithError("oneDNN primitive creation failed");
    return;
  }
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      flush_caches();
      state.ResumeTiming();
    }
    (void)(*prim)->execute(p.x.data(), p.w.data(), p.y.data(), p.bias.data());
    benchmark::DoNotOptimize(p.y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(4.0 * p.n * p.k, benchmark::Counter::kIsIterationInvariantRate);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (int cold : {1, 0}) {
    b->Args({1000, 2048, cold});  // ResNet-50 fc
    b->Args({1000, 1280, cold});  // MobileNetV2 classifier
    b->Args({768, 768, cold});    // a BERT projection at one token
  }
  b->UseRealTime();
}
BENCHMARK(BM_GemvRows)->Apply(shapes);
BENCHMARK(BM_OnednnMatmul)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
