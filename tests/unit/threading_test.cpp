// One Engine shared by several threads, each with its own ExecutionContext, per op family
// that keeps prepared state in the kernel (oneDNN MatMul, Gemm, Conv). Smaller and faster
// to bisect than the model tests' TwoThreadsShareOneEngine.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "kiln/engine.h"
#include "unit/model_builder.h"

namespace kiln {
namespace {

using test::ModelBuilder;
constexpr int32_t kFloat = onnx::TensorProto::FLOAT;

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(static_cast<float>(i) * scale) * 0.5f;
  return v;
}

ModelBuilder matmul_model(bool constant_b) {
  ModelBuilder b(17);
  b.input("x", kFloat, {"batch", 256});
  if (constant_b) b.initializer("W", {256, 192}, ramp(256 * 192, 0.37f));
  else b.input("W", kFloat, {256, 192});
  b.node("MatMul", {"x", "W"}, {"y"}, "matmul");
  b.output("y", kFloat, {"batch", 192});
  return b;
}

ModelBuilder gemm_model() {
  ModelBuilder b(17);
  b.input("x", kFloat, {"batch", 256});
  b.initializer("W", {192, 256}, ramp(256 * 192, 0.11f));
  b.initializer("C", {192}, ramp(192, 0.5f));
  onnx::NodeProto* n = b.node("Gemm", {"x", "W", "C"}, {"y"}, "gemm");
  test::add_int_attr(n, "transB", 1);
  b.output("y", kFloat, {"batch", 192});
  return b;
}

ModelBuilder conv_model() {
  ModelBuilder b(17);
  b.input("x", kFloat, {"batch", 16, 24, 24});
  b.initializer("W", {32, 16, 3, 3}, ramp(32 * 16 * 9, 0.23f));
  b.initializer("B", {32}, ramp(32, 0.7f));
  onnx::NodeProto* n = b.node("Conv", {"x", "W", "B"}, {"y"}, "conv");
  auto* pads = n->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(1);
  b.output("y", kFloat, {"batch", 32, 24, 24});
  return b;
}

// Inputs for batch size `batch`: x varies with the batch, W (when an input) is fixed.
std::vector<std::pair<std::string, Tensor>> inputs_for(const Engine& e, int64_t batch) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const TensorDesc& d : e.inputs()) {
    Shape shape = d.dims;
    shape[0] = shape[0] < 0 ? batch : shape[0];
    int64_t n = 1;
    for (int64_t v : shape) n *= v;
    out.emplace_back(d.name, Tensor::from_vector<float>(shape, ramp(static_cast<size_t>(n), 0.013f * (batch + 1))));
  }
  return out;
}

Result<Tensor> run_once(ExecutionContext& ctx, const std::vector<std::pair<std::string, Tensor>>& inputs) {
  for (const auto& [name, t] : inputs) KILN_RETURN_IF_ERROR(ctx.set_input(name, t));
  KILN_RETURN_IF_ERROR(ctx.run());
  return ctx.outputs().at(0);
}

void expect_thread_safe(const ModelBuilder& model, const std::string& label) {
  auto loaded = test::load(model, label + ".onnx");
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  const Engine& engine = **loaded;
  const std::vector<int64_t> batches = {1, 4, 7, 2};
  std::vector<Tensor> expected;  // from one thread, before any sharing
  {
    std::unique_ptr<ExecutionContext> ctx = engine.create_context();
    for (int64_t b : batches) {
      Result<Tensor> y = run_once(*ctx, inputs_for(engine, b));
      ASSERT_TRUE(y.is_ok()) << y.status().to_string();
      expected.push_back(std::move(y).value());
    }
  }
  constexpr int kThreads = 3, kRounds = 20;
  std::string failures[kThreads];
  auto worker = [&](int t) {
    std::unique_ptr<ExecutionContext> ctx = engine.create_context();
    for (int round = 0; round < kRounds && failures[t].empty(); ++round) {
      const size_t i = static_cast<size_t>(round + t) % batches.size();
      Result<Tensor> y = run_once(*ctx, inputs_for(engine, batches[i]));
      if (!y.is_ok()) {
        failures[t] = y.status().to_string();
        break;
      }
      const Tensor& want = expected[i];
      if (y->shape() != want.shape()) {
        failures[t] = "shape " + shape_to_string(y->shape()) + " vs " + shape_to_string(want.shape());
        break;
      }
      for (int64_t k = 0; k < want.numel(); ++k) {
        const float a = y->data<float>()[k], e = want.data<float>()[k];
        if (!(std::fabs(a - e) <= 1e-5f * std::max(1.0f, std::fabs(e)))) {
          failures[t] = "batch " + std::to_string(batches[i]) + " round " + std::to_string(round) + " element " +
                        std::to_string(k) + ": " + std::to_string(a) + " vs " + std::to_string(e);
          break;
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << label << " thread " << t;
}

TEST(SharedEngine, MatMulConstantWeights) { expect_thread_safe(matmul_model(true), "matmul_const"); }
TEST(SharedEngine, MatMulRuntimeWeights) { expect_thread_safe(matmul_model(false), "matmul_input"); }
TEST(SharedEngine, Gemm) { expect_thread_safe(gemm_model(), "gemm"); }
TEST(SharedEngine, Conv) { expect_thread_safe(conv_model(), "conv"); }

}  // namespace
}  // namespace kiln
