// kiln::Attention at BERT-base shapes (B = 1, H = 12, S = 128, D = 64), two questions:
//  1. Which product to use inside the kernel: the register-blocked math::gemm_rowmajor or
//     a oneDNN matmul primitive (cpu::MatmulPrimitive, created once per shape and cached,
//     as the kernel would), for the per-block Q K^T and P V products. Single thread, all
//     12 heads, the same row blocks the kernel uses.
//  2. The fused op against the unfused graph it replaces (MatMul, Div, Add, Softmax,
//     MatMul), each as a whole engine run on the same inputs with the default threads.
//
// Build: ninja -C build kiln_bench_attention. Run (OMP_NUM_THREADS=1 for the products):
//   build/bench/kiln_bench_attention --benchmark_repetitions=5
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
//
// Results, AMD EPYC (Zen 4, AVX-512), 2 cores shared with other work, median of 5, CPU time:
//   products, 1 thread        rows/block  16       32       64       128
//     math::gemm_rowmajor                 0.62 ms  0.69 ms  0.69 ms  0.62 ms
//     cpu::MatmulPrimitive                1.71 ms  1.10 ms  0.77 ms  0.66 ms
//   whole op                  1 thread            2 threads
//     S = 128 unfused graph   0.95 ms             0.65 ms
//             kiln::Attention 0.85 ms             0.43 ms
//             causal = 1      0.58 ms             0.30 ms
//     S = 512 unfused graph   18.7 ms             13.7 ms
//             kiln::Attention 13.1 ms             6.7 ms
//             causal = 1      7.6 ms              4.2 ms
// Decision: the kernel uses math::gemm_rowmajor. At the kernel's 16-row blocks oneDNN's
// fixed cost per execute (memory objects, argument map, stream wait) makes it 2.3x
// slower; one call per whole head only ties, and needs an Sq x Sk scratch. oneDNN's
// batched MatMul of the unfused graph is about 20% faster per flop (AVX-512 brgemm vs
// kiln's AVX2 loop), but the fused op wins by not writing the scores out five times.
// Rerun 2026-12-02 (same machine, noisier): products 0.52 / 0.63 / 0.60 / 0.65 ms for
// 16 / 32 / 64 / 128 rows, so the kernel now takes 16-row blocks; whole op, 2 threads,
// S = 128: unfused 0.55 ms, fused 0.36 ms (0.42 ms with 32-row blocks), causal 0.26 ms;
// S = 512: 8.9, 6.5 (6.9), 4.0 ms.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include "backend/cpu/matmul_primitive.h"
#include "bench_random.h"
#include "kiln/engine.h"
#include "math/small_gemm.h"
#include "onnx/onnx.pb.h"

namespace {

constexpr int64_t kHeads = 12, kSeq = 128, kDepth = 64;

using kiln::bench::random_values;

struct HeadData {
  std::vector<float> q = random_values(kHeads * kSeq * kDepth, 1);
  std::vector<float> kt = random_values(kHeads * kDepth * kSeq, 2);  // [H, D, S]
  std::vector<float> v = random_values(kHeads * kSeq * kDepth, 3);
  std::vector<float> scores = std::vector<float>(kSeq * kSeq);
  std::vector<float> out = std::vector<float>(kHeads * kSeq * kDepth);
};

// Arg: rows per block.
void BM_ProductsSmallGemm(benchmark::State& state) {
  const int64_t rows = state.range(0);
  HeadData d;
  for (auto _ : state) {
    for (int64_t h = 0; h < kHeads; ++h) {
      for (int64_t r0 = 0; r0 < kSeq; r0 += rows) {
        const float* q = d.q.data() + (h * kSeq + r0) * kDepth;
        kiln::math::gemm_rowmajor(rows, kSeq, kDepth, q, kDepth, d.kt.data() + h * kDepth * kSeq, kSeq,
                                  d.scores.data(), kSeq);
        kiln::math::gemm_rowmajor(rows, kDepth, kSeq, d.scores.data(), kSeq, d.v.data() + h * kSeq * kDepth, kDepth,
                                  d.out.data() + (h * kSeq + r0) * kDepth, kDepth);
      }
    }
    benchmark::DoNotOptimize(d.out.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * kHeads * kSeq * kSeq * kDepth, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ProductsSmallGemm)->Arg(16)->Arg(32)->Arg(64)->Arg(128);

void BM_ProductsOnednn(benchmark::State& state) {
  const int64_t rows = state.range(0);
  HeadData d;
  auto scores = kiln::cpu::MatmulPrimitive::create({{rows, kDepth}, {}}, {{kDepth, kSeq}, {}}, {rows, kSeq}, nullptr, 1.0f);
  auto weighted = kiln::cpu::MatmulPrimitive::create({{rows, kSeq}, {}}, {{kSeq, kDepth}, {}}, {rows, kDepth}, nullptr, 1.0f);
  if (!scores.is_ok() || !weighted.is_ok()) {
    state.SkipWithError("oneDNN primitive creation failed");
    return;
  }
  for (auto _ : state) {
    for (int64_t h = 0; h < kHeads; ++h) {
      for (int64_t r0 = 0; r0 < kSeq; r0 += rows) {
        const float* q = d.q.data() + (h * kSeq + r0) * kDepth;
        (void)(*scores)->execute(q, d.kt.data() + h * kDepth * kSeq, d.scores.data());
        (void)(*weighted)->execute(d.scores.data(), d.v.data() + h * kSeq * kDepth, d.out.data() + (h * kSeq + r0) * kDepth);
      }
    }
    benchmark::DoNotOptimize(d.out.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * kHeads * kSeq * kSeq * kDepth, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ProductsOnednn)->Arg(16)->Arg(32)->Arg(64)->Arg(128);

// The attention core as an ONNX graph: unfused (MatMul, Div, Add, Softmax, MatMul) or one
// kiln::Attention node (causal or not).
std::string core_model(const std::string& form, int64_t seq) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* opset = m.add_opset_import();
  opset->set_version(14);
  auto* kiln_opset = m.add_opset_import();
  kiln_opset->set_domain("kiln");
  kiln_opset->set_version(1);
  auto* g = m.mutable_graph();
  g->set_name("attention_core");
  auto add_io = [](onnx::ValueInfoProto* vi, const std::string& name, std::vector<int64_t> dims) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t x : dims) tt->mutable_shape()->add_dim()->set_dim_value(x);
  };
  add_io(g->add_input(), "q", {1, kHeads, seq, kDepth});
  add_io(g->add_input(), "kt", {1, kHeads, kDepth, seq});
  add_io(g->add_input(), "v", {1, kHeads, seq, kDepth});
  add_io(g->add_input(), "mask", {1, 1, 1, seq});
  add_io(g->add_output(), "y", {1, kHeads, seq, kDepth});
  auto node = [&](const std::string& op, std::vector<std::string> in, const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(out);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  };
  if (form == "unfused") {
    auto* eight = g->add_initializer();
    eight->set_name("eight");
    eight->set_data_type(onnx::TensorProto::FLOAT);
    eight->add_float_data(8.0f);
    node("MatMul", {"q", "kt"}, "scores");
    node("Div", {"scores", "eight"}, "scaled");
    node("Add", {"scaled", "mask"}, "logits");
    node("Softmax", {"logits"}, "weights");
    node("MatMul", {"weights", "v"}, "y");
  } else {
    auto* n = node("Attention", {"q", "kt", "v", "mask"}, "y");
    n->set_domain("kiln");
    auto attr = [&](const std::string& name, int64_t i, float f, bool is_float) {
      auto* a = n->add_attribute();
      a->set_name(name);
      a->set_type(is_float ? onnx::AttributeProto::FLOAT : onnx::AttributeProto::INT);
      if (is_float) a->set_f(f);
      else a->set_i(i);
    };
    attr("scale", 0, 0.125f, true);
    attr("k_transposed", 1, 0, false);
    attr("causal", form == "causal" ? 1 : 0, 0, false);
    attr("mask_fill", 0, -3.4028235e38f, true);
  }
  return m.SerializeAsString();
}

// Args: form (0 unfused graph, 1 kiln::Attention, 2 kiln::Attention with causal = 1) and
// sequence length.
void BM_AttentionEngine(benchmark::State& state) {
  static const char* kForms[] = {"unfused", "fused", "causal"};
  const std::string form = kForms[state.range(0)];
  const int64_t seq = state.range(1);
  state.SetLabel(form);
  const std::string path = (std::filesystem::temp_directory_path() / ("kiln_attention_" + form + ".onnx")).string();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    const std::string bytes = core_model(form, seq);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  kiln::BuildOptions options;
  options.disabled_passes = {"fuse_attention"};  // the unfused graph stays unfused
  auto engine = kiln::Engine::build_from_onnx(path, options);
  std::filesystem::remove(path);
  if (!engine.is_ok()) {
    state.SkipWithError(engine.status().to_string().c_str());
    return;
  }
  const size_t n = static_cast<size_t>(kHeads * seq * kDepth);
  auto ctx = (*engine)->create_context();
  (void)ctx->set_input("q", kiln::Tensor::from_vector<float>({1, kHeads, seq, kDepth}, random_values(n, 1)));
  (void)ctx->set_input("kt", kiln::Tensor::from_vector<float>({1, kHeads, kDepth, seq}, random_values(n, 2)));
  (void)ctx->set_input("v", kiln::Tensor::from_vector<float>({1, kHeads, seq, kDepth}, random_values(n, 3)));
  (void)ctx->set_input("mask", kiln::Tensor::from_vector<float>({1, 1, 1, seq}, std::vector<float>(seq, 0.0f)));
  for (auto _ : state) {
    kiln::Status s = ctx->run();
    if (!s.is_ok()) {
      state.SkipWithError(s.to_string().c_str());
      return;
    }
  }
}
BENCHMARK(BM_AttentionEngine)->ArgsProduct({{0, 1, 2}, {128, 512}})->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
