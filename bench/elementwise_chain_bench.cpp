// kiln::ElementwiseChain (fuse_elementwise_chains) against the unfused nodes it replaces,
// each as a whole engine run on the same inputs with the default threads:
//   swish_affine  y = x * sigmoid(x) * scale + bias, scale and bias [768] (4 nodes)
//   bias_relu     y = relu(x + bias), bias [768] (2 nodes)
//   mask          BERT's (1 - float(mask)) * -10000 on an int64 [1, 1, 1, 128] (3 nodes)
// x is [rows, 768]: 128 rows (384 KiB, in L2) and 4096 rows (12 MiB, from memory).
//
// Build: ninja -C build kiln_bench_elementwise_chain. Run:
//   build/bench/kiln_bench_elementwise_chain --benchmark_repetitions=5
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
//
// Results, AMD EPYC, 2 cores shared with other work, median of 5, real time, unfused/fused:
//                          1 thread                      2 threads (OpenMP over blocks)
//   swish_affine  128 rows 97.2 us / 85.5 us  = 1.14x    106.5 us / 63.0 us = 1.69x
//                4096 rows 5.07 ms / 3.76 ms  = 1.35x    6.14 ms / 2.40 ms  = 2.56x
//   bias_relu     128 rows 19.0 us / 17.6 us  = 1.08x    19.4 us / 17.7 us  = 1.10x
//                4096 rows 1.54 ms / 1.08 ms  = 1.43x    1.87 ms / 0.82 ms  = 2.30x
//   mask                   1.26 us / 1.24 us  (the engine's per-run cost dominates)
// In L2 the chain is bound by math::sigmoid; from memory it saves the intermediate
// round trips. The unfused elementwise kernels run on one thread.
#include <benchmark/benchmark.h>

#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench_random.h"
#include "kiln/engine.h"
#include "onnx/onnx.pb.h"

namespace {

constexpr int64_t kWidth = 768;
constexpr int64_t kMaskLength = 128;

std::vector<float> random_values(size_t n, uint32_t seed) { return kiln::bench::random_values(n, seed, -4.0f, 4.0f); }

enum Case { kSwishAffine, kBiasRelu, kMask };
const char* const kCaseNames[] = {"swish_affine", "bias_relu", "mask"};

std::string chain_model(Case c, int64_t rows) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("chain");
  auto add_io = [](onnx::ValueInfoProto* vi, const std::string& name, int32_t type, std::vector<int64_t> dims) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(type);
    for (int64_t x : dims) tt->mutable_shape()->add_dim()->set_dim_value(x);
  };
  auto constant = [&](const std::string& name, std::vector<int64_t> dims, const std::vector<float>& values) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  };
  auto node = [&](const std::string& op, std::vector<std::string> in, const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(out);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  };
  if (c == kMask) {
    add_io(g->add_input(), "x", onnx::TensorProto::INT64, {1, 1, 1, kMaskLength});
    add_io(g->add_output(), "y", onnx::TensorProto::FLOAT, {1, 1, 1, kMaskLength});
    constant("one", {}, {1.0f});
    constant("big", {}, {-10000.0f});
    auto* cast = node("Cast", {"x"}, "m");
    auto* to = cast->add_attribute();
    to->set_name("to");
    to->set_type(onnx::AttributeProto::INT);
    to->set_i(onnx::TensorProto::FLOAT);
    node("Sub", {"one", "m"}, "s");
    node("Mul", {"s", "big"}, "y");
    return m.SerializeAsString();
  }
  add_io(g->add_input(), "x", onnx::TensorProto::FLOAT, {rows, kWidth});
  add_io(g->add_output(), "y", onnx::TensorProto::FLOAT, {rows, kWidth});
  constant("bias", {kWidth}, random_values(kWidth, 7));
  if (c == kBiasRelu) {
    node("Add", {"x", "bias"}, "t");
    node("Relu", {"t"}, "y");
  } else {
    constant("scale", {kWidth}, random_values(kWidth, 8));
    node("Sigmoid", {"x"}, "s");
    node("Mul", {"x", "s"}, "swish");
    node("Mul", {"swish", "scale"}, "scaled");
    node("Add", {"scaled", "bias"}, "y");
  }
  return m.SerializeAsString();
}

// Args: fused (0 or 1), case, rows.
void BM_ChainEngine(benchmark::State& state) {
  const bool fused = state.range(0) != 0;
  const Case c = static_cast<Case>(state.range(1));
  const int64_t rows = state.range(2);
  state.SetLabel(std::string(kCaseNames[c]) + (fused ? " fused" : " unfused"));
  const std::string path =
      (std::filesystem::temp_directory_path() / ("kiln_chain_" + std::to_string(getpid()) + ".onnx")).string();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    const std::string bytes = chain_model(c, rows);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  kiln::BuildOptions options;
  if (!fused) options.disabled_passes = {"fuse_elementwise_chains"};
  auto engine = kiln::Engine::build_from_onnx(path, options);
  std::filesystem::remove(path);
  if (!engine.is_ok()) {
    state.SkipWithError(engine.status().to_string().c_str());
    return;
  }
  auto ctx = (*engine)->create_context();
  kiln::Status s = c == kMask
                       ? ctx->set_input("x", kiln::Tensor::from_vector<int64_t>({1, 1, 1, kMaskLength},
                                                                               std::vector<int64_t>(kMaskLength, 1)))
                       : ctx->set_input("x", kiln::Tensor::from_vector<float>(
                                                 {rows, kWidth}, random_values(static_cast<size_t>(rows * kWidth), 1)));
  if (!s.is_ok()) {
    state.SkipWithError(s.to_string().c_str());
    return;
  }
  for (auto _ : state) {
    s = ctx->run();
    if (!s.is_ok()) {
      state.SkipWithError(s.to_string().c_str());
      return;
    }
  }
  const int64_t elements = c == kMask ? kMaskLength : rows * kWidth;
  state.SetItemsProcessed(state.iterations() * elements);
}
BENCHMARK(BM_ChainEngine)
    ->ArgsProduct({{0, 1}, {kSwishAffine, kBiasRelu}, {128, 4096}})
    ->UseRealTime();
BENCHMARK(BM_ChainEngine)->ArgsProduct({{0, 1}, {kMask}, {1}})->UseRealTime();

}  // namespace

// Both forms allocate the graph output on the heap every run (it escapes to the caller).
// With glibc's defaults, when that buffer is the top of the heap (the fused graph has no
// activation arena above it) each free trims the heap and the next run page-faults the
// whole output back in: 5x the kernel's time at 128 rows. Keeping freed memory measures
// the kernels; run with --keep_heap=0 to see the cost.
int main(int argc, char** argv) {
  bool keep_heap = true;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--keep_heap=0") keep_heap = false;
  }
  if (keep_heap) {
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
