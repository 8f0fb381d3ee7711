// The activation arena: the first run of an input shape allocates from the heap and plans
// an arena; later runs of that shape place activations in it. Outputs of planned runs
// must equal ONNX Runtime's (the fixtures) and be bit-identical to the first run, also
// after another shape ran in between.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "io/npy.h"
#include "kiln/engine.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

fs::path model_dir(const std::string& model) { return fs::path(KILN_SOURCE_DIR) / "tests/models" / model; }

void bind_case(const Engine& engine, ExecutionContext& ctx, const fs::path& dir) {
  for (const TensorDesc& d : engine.inputs()) {
    Result<Tensor> t = read_npy((dir / ("input_" + d.name + ".npy")).string());
    ASSERT_TRUE(t.is_ok()) << t.status().to_string();
    ASSERT_TRUE(ctx.set_input(d.name, *t).is_ok());
  }
}

std::vector<Tensor> run_copy(ExecutionContext& ctx) {
  Status s = ctx.run();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  std::vector<Tensor> out;
  for (const Tensor& t : ctx.outputs()) out.push_back(*t.clone());
  return out;
}

bool bit_identical(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].shape() != b[i].shape() || a[i].nbytes() != b[i].nbytes()) return false;
    if (std::memcmp(a[i].raw(), b[i].raw(), a[i].nbytes()) != 0) return false;
  }
  return true;
}

class ArenaTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ArenaTest, PlannedRunsMatchTheFirstRunAndOnnxRuntime) {
  const fs::path dir = model_dir(GetParam());
  auto engine = Engine::from_onnx_file((dir / "model.onnx").string());
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  auto ctx = (*engine)->create_context();
  bind_case(**engine, *ctx, dir / "case_0");
  const std::vector<Tensor> first = run_copy(*ctx);  // heap, learns the plan
  EXPECT_GT(ctx->activation_bytes(), 0);
  const std::vector<Tensor> planned = run_copy(*ctx);
  EXPECT_TRUE(bit_identical(first, planned));

  bind_case(**engine, *ctx, dir / "case_1");  // another shape: its own plan
  run_copy(*ctx);
  run_copy(*ctx);
  bind_case(**engine, *ctx, dir / "case_0");
  const std::vector<Tensor> again = run_copy(*ctx);
  EXPECT_TRUE(bit_identical(first, again));

  // And the planned output is still ONNX Runtime's answer.
  for (size_t i = 0; i < again.size(); ++i) {
    const std::string name = (*engine)->outputs()[i].name;
    Result<Tensor> expected = read_npy((dir / "case_0" / ("output_" + name + ".npy")).string());
    ASSERT_TRUE(expected.is_ok()) << expected.status().to_string();
    ASSERT_EQ(expected->shape(), again[i].shape());
    double scale = 1.0, diff = 0.0;
    for (int64_t k = 0; k < expected->numel(); ++k) {
      scale = std::max(scale, std::fabs(expected->get_as_double(k)));
      diff = std::max(diff, std::fabs(expected->get_as_double(k) - again[i].get_as_double(k)));
    }
    EXPECT_LE(diff, 1e-4 * scale) << GetParam() << " output " << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ArenaTest, ::testing::Values("bert", "gpt2", "resnet50", "vit"));

}  // namespace
}  // namespace kiln
