// fold_attention_layouts and reshape_unit_axis_transposes: the head Transposes around a
// fused Attention go, the Q, K and V projections become one packed input (BERT's three
// GEMMs merged; GPT-2's Split and ViT's Slices read through), and Transposes that move
// only axes of size 1 become Reshapes. Each case checks the node counts, that the pass
// can be turned off by name, and the outputs against the plain-loop reference of
// unit/attention_reference.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "kiln/engine.h"
#include "onnx/model_importer.h"
#include "passes/pipeline.h"
#include "unit/attention_reference.h"
#include "unit/model_builder.h"

namespace kiln {
namespace {

using test::ModelBuilder;

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;
constexpr const char* kPass = "fold_attention_layouts";

// How the test transformer computes Q, K and V from x [B, S, 8] (2 heads of 4).
enum class Projection { kSeparate, kSplit, kSlices };

struct Weights {
  std::vector<float> w[3];  // [8, 8] each: Q, K, V
  std::vector<float> b[3];  // [8] each
};

Weights random_weights(uint32_t seed) {
  Weights w;
  for (uint32_t i = 0; i < 3; ++i) {
    w.w[i] = test::random_values(64, seed + i, -0.5f, 0.5f);
    w.b[i] = test::random_values(8, seed + 10 + i, -0.2f, 0.2f);
  }
  return w;
}

// The three [8, 8] weights side by side: [8, 24]; the biases likewise: [24].
std::vector<float> packed(const std::vector<float> (&parts)[3], int64_t rows) {
  std::vector<float> out;
  for (int64_t r = 0; r < rows; ++r) {
    for (const std::vector<float>& p : parts) out.insert(out.end(), p.begin() + r * 8, p.begin() + (r + 1) * 8);
  }
  return out;
}

// x -> projections (+ bias) -> Reshape [0, 0, 2, 4] -> Transposes (K by (0, 2, 3, 1) to
// K^T) -> BERT's core (MatMul, Div by 2, Softmax, MatMul) -> Transpose -> Reshape [0, 0, 8].
ModelBuilder layout_model(const Weights& w, Projection projection) {
  ModelBuilder b(14);
  b.input("x", kFloat, {"batch", "seq", 8});
  b.output("y", kFloat, {"batch", "seq", 8});
  test::int64_constant(b, "head_shape", {4}, {0, 0, 2, 4});
  test::int64_constant(b, "merge_shape", {3}, {0, 0, 8});
  const char* names[3] = {"q", "k", "v"};
  if (projection == Projection::kSeparate) {
    for (int i = 0; i < 3; ++i) {
      const std::string n = names[i];
      b.initializer("W" + n, {8, 8}, w.w[i]);
      b.initializer("B" + n, {8}, w.b[i]);
      b.node("MatMul", {"x", "W" + n}, {n + "_mm"});
      b.node("Add", {n + "_mm", "B" + n}, {n + "_proj"});
    }
  } else {
    b.initializer("Wqkv", {8, 24}, packed(w.w, 8));
    b.initializer("Bqkv", {24}, packed(w.b, 1));
    b.node("MatMul", {"x", "Wqkv"}, {"qkv_mm"});
    b.node("Add", {"qkv_mm", "Bqkv"}, {"qkv"});
    if (projection == Projection::kSplit) {
      test::int64_constant(b, "split", {3}, {8, 8, 8});
      test::add_int_attr(b.node("Split", {"qkv", "split"}, {"q_proj", "k_proj", "v_proj"}), "axis", -1);
    } else {
      test::int64_constant(b, "axis", {1}, {2});
      for (int i = 0; i < 3; ++i) {
        const std::string n = names[i];
        test::int64_constant(b, n + "_start", {1}, {8 * i});
        test::int64_constant(b, n + "_end", {1}, {8 * i + 8});
        b.node("Slice", {"qkv", n + "_start", n + "_end", "axis"}, {n + "_proj"});
      }
    }
  }
  for (const char* n : names) b.node("Reshape", {std::string(n) + "_proj", "head_shape"}, {std::string(n) + "_heads"});
  test::add_ints_attr(b.node("Transpose", {"q_heads"}, {"q"}), "perm", {0, 2, 1, 3});
  test::add_ints_attr(b.node("Transpose", {"k_heads"}, {"kt"}), "perm", {0, 2, 3, 1});
  test::add_ints_attr(b.node("Transpose", {"v_heads"}, {"v"}), "perm", {0, 2, 1, 3});
  b.initializer("two", {}, {2.0f});
  b.node("MatMul", {"q", "kt"}, {"scores"});
  b.node("Div", {"scores", "two"}, {"scaled"});
  b.node("Softmax", {"scaled"}, {"weights"});
  b.node("MatMul", {"weights", "v"}, {"ctx"});
  test::add_ints_attr(b.node("Transpose", {"ctx"}, {"ctx_t"}), "perm", {0, 2, 1, 3});
  b.node("Reshape", {"ctx_t", "merge_shape"}, {"y"});
  return b;
}

Graph optimized(const ModelBuilder& b, const std::vector<std::string>& disabled = {}) {
  return test::optimized_graph(b, disabled);
}

std::map<std::string, int> op_counts(const Graph& g) {
  std::map<std::string, int> counts;
  for (const Node& n : g.nodes) ++counts[n.op_type];
  return counts;
}

// x @ W + b for one of Q, K, V, split into heads: [B, 2, S, 4].
std::vector<float> projected(const std::vector<float>& x, const Weights& w, int i, int64_t batch, int64_t seq) {
  std::vector<float> p = test::project(x, w.w[i], batch, seq);
  for (int64_t bi = 0; bi < batch; ++bi) {
    for (int64_t h = 0; h < 2; ++h) {
      for (int64_t s = 0; s < seq; ++s) {
        for (int64_t d = 0; d < 4; ++d) p[((bi * 2 + h) * seq + s) * 4 + d] += w.b[i][h * 4 + d];
      }
    }
  }
  return p;
}

std::vector<float> run(const ModelBuilder& b, const std::vector<std::string>& disabled, const Tensor& x) {
  std::shared_ptr<Engine> engine = test::build_engine(b, disabled);
  if (!engine) return {};
  auto ctx = engine->create_context();
  EXPECT_TRUE(ctx->set_input("x", x).is_ok());
  Status s = ctx->run();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  if (!s.is_ok()) return {};
  const Tensor& y = ctx->outputs()[0];
  return std::vector<float>(y.data<float>(), y.data<float>() + y.numel());
}

class AttentionLayouts : public ::testing::TestWithParam<Projection> {};

TEST_P(AttentionLayouts, HeadTransposesGoAndOnePackedInputMatchesTheReference) {
  const Weights w = random_weights(3);
  const ModelBuilder b = layout_model(w, GetParam());

  const Graph g = optimized(b);
  auto counts = op_counts(g);
  EXPECT_EQ(counts["Attention"], 1);
  EXPECT_EQ(counts["Transpose"], 0);
  EXPECT_EQ(counts["Split"] + counts["Slice"], 0);
  EXPECT_EQ(counts["FusedMatMul"], 1);  // BERT's three projections merged; the packed one kept
  for (const Node& n : g.nodes) {
    if (n.op_type != "Attention") continue;
    EXPECT_EQ(n.find_attribute("seq_major")->i, 1);
    EXPECT_EQ(n.find_attribute("num_heads")->i, 2);
  }
  auto off = op_counts(optimized(b, {kPass}));
  EXPECT_EQ(off["Transpose"], 4);
  EXPECT_EQ(off["FusedMatMul"], GetParam() == Projection::kSeparate ? 3 : 1);

  // Several batch sizes and lengths through one engine each: the shapes are symbolic.
  for (const auto& [batch, seq] : {std::pair<int64_t, int64_t>{2, 9}, {1, 40}, {3, 5}}) {
    const std::vector<float> x = test::random_values(static_cast<size_t>(batch * seq * 8), 7);
    test::Problem p{batch, 2, seq, seq, 4, 4, projected(x, w, 0, batch, seq), projected(x, w, 1, batch, seq),
                    projected(x, w, 2, batch, seq), {}, {}};
    p.divisor = 2.0f;
    const std::vector<float> want = test::merge_heads(test::reference(p), batch, seq);
    const Tensor input = Tensor::from_vector<float>({batch, seq, 8}, x);
    test::expect_near(run(b, {}, input), want, 2e-5f, "folded");
    test::expect_near(run(b, {kPass}, input), want, 2e-5f, "pass disabled");
  }
}

INSTANTIATE_TEST_SUITE_P(Projections, AttentionLayouts,
                         ::testing::Values(Projection::kSeparate, Projection::kSplit, Projection::kSlices));

TEST(AttentionLayouts, ProjectionsWithAnotherReaderAreNotMerged) {
  // K's projection is also a graph output: merging would still have to compute it.
  const Weights w = random_weights(5);
  ModelBuilder b = layout_model(w, Projection::kSeparate);
  b.output("k_proj", kFloat, {"batch", "seq", 8});
  const Graph g = optimized(b);
  auto counts = op_counts(g);
  EXPECT_EQ(counts["FusedMatMul"], 3);
  EXPECT_EQ(counts["Transpose"], 0);  // the head Transposes still go
}

void add_attr(onnx::NodeProto* node, const std::string& name, float f) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(f);
}

void add_attr(onnx::NodeProto* node, const std::string& name, const std::string& s) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(s);
}

// A model holding one kiln::Attention written by hand: packed X [2, 5, width].
ModelBuilder packed_attention(int64_t width, int64_t heads, int64_t seq_major) {
  ModelBuilder b(17);
  b.opset_import("kiln", 1);
  b.input("x", kFloat, {2, 5, width});
  b.output("y", kFloat, {"batch", "seq", "heads", "depth"});
  onnx::NodeProto* n = b.node("Attention", {"x", "", ""}, {"y"}, "attention", "kiln");
  add_attr(n, "scale", 0.5f);
  test::add_int_attr(n, "num_heads", heads);
  test::add_int_attr(n, "seq_major", seq_major);
  return b;
}

TEST(AttentionLayouts, MalformedKilnAttentionNodesAreErrorsNamingTheProblem) {
  EXPECT_TRUE(test::error_mentions(test::load(packed_attention(25, 2, 1)), {"attention", "3 * 2 * head size"}));
  EXPECT_TRUE(test::error_mentions(test::load(packed_attention(24, 2, 0)), {"attention", "needs seq_major = 1"}));
  EXPECT_TRUE(test::error_mentions(test::load(packed_attention(24, -1, 1)), {"attention", "must be positive"}));
  ASSERT_TRUE(test::load(packed_attention(24, 2, 1)).is_ok());  // the well-formed node loads
}

TEST(ChannelsLastPool, UnknownModesAndBadRanksAreErrorsNamingTheNode) {
  auto pool_model = [](const std::string& mode, const std::vector<test::DimSpec>& dims) {
    ModelBuilder b(17);
    b.opset_import("kiln", 1);
    b.input("x", kFloat, dims);
    b.output("y", kFloat, {1, 1, 1, 4});
    onnx::NodeProto* n = b.node("ChannelsLastPool", {"x"}, {"y"}, "pool", "kiln");
    add_attr(n, "mode", mode);
    test::add_int_attr(n, "global", 1);
    return b;
  };
  EXPECT_TRUE(test::error_mentions(test::load(pool_model("median", {1, 3, 3, 4})), {"pool", "'median'"}));
  EXPECT_TRUE(test::error_mentions(test::load(pool_model("max", {1, 3, 4})), {"pool", "[N, H, W, C]"}));
  // Global max over 3x3 of each of 4 channels, NHWC.
  auto engine = test::load(pool_model("max", {1, 3, 3, 4}));
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  auto ctx = (*engine)->create_context();
  std::vector<float> x(36);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7) % 36);
  ASSERT_TRUE(ctx->set_input("x", Tensor::from_vector<float>({1, 3, 3, 4}, x)).is_ok());
  ASSERT_TRUE(ctx->run().is_ok());
  const Tensor& y = ctx->outputs()[0];
  for (int64_t c = 0; c < 4; ++c) {
    float want = x[c];
    for (int64_t p = 0; p < 9; ++p) want = std::max(want, x[p * 4 + c]);
    EXPECT_EQ(y.data<float>()[c], want) << c;
  }
}

TEST(UnitAxisTransposes, TransposesMovingOnlyUnitAxesBecomeReshapes) {
  // x [1, 3, 4] -> Transpose (1, 0, 2) -> [3, 1, 4] -> Relu -> y; z = Transpose (1, 0, 2) of
  // x2 [2, 3, 4] really moves data and stays.
  ModelBuilder b(14);
  b.input("x", kFloat, {1, 3, 4});
  b.input("x2", kFloat, {2, 3, 4});
  b.output("y", kFloat, {3, 1, 4});
  b.output("z", kFloat, {3, 2, 4});
  test::add_ints_attr(b.node("Transpose", {"x"}, {"t"}), "perm", {1, 0, 2});
  b.node("Relu", {"t"}, {"y"});
  test::add_ints_attr(b.node("Transpose", {"x2"}, {"z"}), "perm", {1, 0, 2});
  auto counts = op_counts(optimized(b));
  EXPECT_EQ(counts["Transpose"], 1);
  EXPECT_EQ(counts["Reshape"], 1);
  EXPECT_EQ(op_counts(optimized(b, {"reshape_unit_axis_transposes"}))["Transpose"], 2);

  test::TempDir dir;
  test::write_file(dir.file("m.onnx"), b.bytes());
  auto engine = Engine::build_from_onnx(dir.file("m.onnx"), {});
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  auto ctx = (*engine)->create_context();
  std::vector<float> x(12), x2(24);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) - 5.5f;
  for (size_t i = 0; i < x2.size(); ++i) x2[i] = static_cast<float>(i);
  ASSERT_TRUE(ctx->set_input("x", Tensor::from_vector<float>({1, 3, 4}, x)).is_ok());
  ASSERT_TRUE(ctx->set_input("x2", Tensor::from_vector<float>({2, 3, 4}, x2)).is_ok());
  ASSERT_TRUE(ctx->run().is_ok());
  const Tensor& y = ctx->outputs()[0];
  ASSERT_EQ(y.shape(), (Shape{3, 1, 4}));
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y.data<float>()[i], std::max(0.0f, x[i])) << i;
  const Tensor& z = ctx->outputs()[1];
  ASSERT_EQ(z.shape(), (Shape{3, 2, 4}));
  // z[i, j, k] = x2[j, i, k]
  for (int64_t i = 0; i < 3; ++i) {
    for (int64_t j = 0; j < 2; ++j) {
      for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(z.data<float>()[(i * 2 + j) * 4 + k], x2[(j * 3 + i) * 4 + k]);
    }
  }
}

}  // namespace
}  // namespace kiln
