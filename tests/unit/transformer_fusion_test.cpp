// The transformer fusions (fuse_gelu, fuse_layer_norm, fuse_skip_layer_norm,
// fuse_matmul_activation) on small graphs shaped like the PyTorch exports of BERT and
// GPT-2: the rewrite happens (node counts), each pass can be turned off by name, and
// the engine computes the values numpy gives for the unfused formulas
// (0.5 x (1 + erf(x / sqrt 2)), the tanh form, (s - mean) / sqrt(var + eps) * g + b),
// written here with 9 significant digits.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/engine.h"
#include "onnx/model_importer.h"
#include "passes/pipeline.h"
#include "unit/model_builder.h"

namespace kiln {
namespace {

using test::ModelBuilder;

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;

std::map<std::string, int> op_counts(const ModelBuilder& b, const std::vector<std::string>& disabled = {}) {
  Result<Graph> g = import_onnx_bytes(b.bytes(), "", "transformer_fusion_test.onnx");
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  if (!g.is_ok()) return {};
  BuildOptions options;
  options.disabled_passes = disabled;
  Status s = optimize_graph(*g, options);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  std::map<std::string, int> counts;
  for (const Node& n : g->nodes) {
    ++counts[n.op_type];
    ++counts["*"];  // all nodes
  }
  return counts;
}

struct Input {
  std::string name;
  Shape shape;
  std::vector<float> values;
};

// Every output of the built engine, flattened.
std::vector<std::vector<float>> run(const ModelBuilder& b, const std::vector<Input>& inputs) {
  auto engine = Engine::from_onnx_bytes(b.bytes(), "transformer_fusion_test.onnx");
  EXPECT_TRUE(engine.is_ok()) << engine.status().to_string();
  if (!engine.is_ok()) return {};
  auto ctx = (*engine)->create_context();
  for (const Input& in : inputs) {
    Status s = ctx->set_input(in.name, Tensor::from_vector<float>(in.shape, in.values));
    EXPECT_TRUE(s.is_ok()) << s.to_string();
  }
  Status s = ctx->run();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  std::vector<std::vector<float>> out;
  if (!s.is_ok()) return out;
  for (const Tensor& t : ctx->outputs()) out.emplace_back(t.data<float>(), t.data<float>() + t.numel());
  return out;
}

void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, float tol = 2e-6f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

const std::vector<float> kGeluX = {-3, -1.5f, -0.5f, 0, 0.25f, 1, 2.5f, 4};
const std::vector<float> kGeluErfY = {-0.00404969409f, -0.100210802f, -0.154268769f, 0.0f,
                                      0.149676581f,   0.841344746f,  2.48447584f,   3.99987332f};
const std::vector<float> kGeluTanhY = {-0.00363739208f, -0.100428423f, -0.15428599f, 0.0f,
                                       0.149675351f,    0.841191991f,  2.48491573f,  3.99992975f};

// BERT's nn.GELU export: Div by 1.4142135 -> Erf -> Add 1 -> Mul x -> Mul 0.5.
void add_bert_gelu(ModelBuilder& b, const std::string& x, const std::string& y) {
  b.initializer(y + "_sqrt2", {}, {1.4142135f});
  b.initializer(y + "_one", {}, {1.0f});
  b.initializer(y + "_half", {}, {0.5f});
  b.node("Div", {x, y + "_sqrt2"}, {y + "_div"});
  b.node("Erf", {y + "_div"}, {y + "_erf"});
  b.node("Add", {y + "_erf", y + "_one"}, {y + "_add"});
  b.node("Mul", {x, y + "_add"}, {y + "_mul"});
  b.node("Mul", {y + "_mul", y + "_half"}, {y});
}

// GPT-2's NewGELU export: 0.5 * x * (1 + tanh(0.7978846 * (x + 0.044715 * Pow(x, 3)))).
void add_gpt2_gelu(ModelBuilder& b, const std::string& x, const std::string& y) {
  b.initializer(y + "_half", {}, {0.5f});
  b.initializer(y + "_three", {}, {3.0f});
  b.initializer(y + "_c", {}, {0.044715f});
  b.initializer(y + "_s", {}, {0.7978846f});
  b.initializer(y + "_one", {}, {1.0f});
  b.node("Mul", {x, y + "_half"}, {y + "_halfx"});
  b.node("Pow", {x, y + "_three"}, {y + "_cube"});
  b.node("Mul", {y + "_cube", y + "_c"}, {y + "_ccube"});
  b.node("Add", {x, y + "_ccube"}, {y + "_inner"});
  b.node("Mul", {y + "_inner", y + "_s"}, {y + "_scaled"});
  b.node("Tanh", {y + "_scaled"}, {y + "_tanh"});
  b.node("Add", {y + "_tanh", y + "_one"}, {y + "_add"});
  b.node("Mul", {y + "_halfx", y + "_add"}, {y});
}

TEST(TransformerFusionGelu, BertErfFormBecomesOneGelu) {
  ModelBuilder b(14);
  b.input("x", kFloat, {"batch", 4});
  b.output("y", kFloat, {"batch", 4});
  add_bert_gelu(b, "x", "y");
  auto counts = op_counts(b);
  EXPECT_EQ(counts["Gelu"], 1);
  EXPECT_EQ(counts["*"], 1);
  auto off = op_counts(b, {"fuse_gelu", "fuse_elementwise_chains"});
  EXPECT_EQ(off["Erf"], 1);
  EXPECT_EQ(off["*"], 5);
  auto y = run(b, {{"x", {2, 4}, kGeluX}});
  ASSERT_EQ(y.size(), 1u);
  expect_near_all(y[0], kGeluErfY);
}

// x * (0.5 * (1 + erf(x * 0.70710678))): the other association, a Mul by 1/sqrt(2),
// and constants on the left.
TEST(TransformerFusionGelu, ErfFormInOtherAssociationAndOperandOrder) {
  ModelBuilder b(14);
  b.input("x", kFloat, {"batch", 4});
  b.output("y", kFloat, {"batch", 4});
  b.initializer("inv_sqrt2", {}, {0.70710678f});
  b.initializer("one", {}, {1.0f});
  b.initializer("half", {}, {0.5f});
  b.node("Mul", {"inv_sqrt2", "x"}, {"scaled"});
  b.node("Erf", {"scaled"}, {"e"});
  b.node("Add", {"one", "e"}, {"onep"});
  b.node("Mul", {"half", "onep"}, {"h"});
  b.node("Mul", {"h", "x"}, {"y"});
  auto counts = op_counts(b);
  EXPECT_EQ(counts["Gelu"], 1);
  EXPECT_EQ(counts["*"], 1);
  auto y = run(b, {{"x", {2, 4}, kGeluX}});
  ASSERT_EQ(y.size(), 1u);
  expect_near_all(y[0], kGeluErfY);
}

TEST(TransformerFusionGelu, Gpt2TanhFormBecomesOneGelu) {
  ModelBuilder b(17);
  b.input("x", kFloat, {"batch", 4});
  b.output("y", kFloat, {"batch", 4});
  add_gpt2_gelu(b, "x", "y");
  auto counts = op_counts(b);
  EXPECT_EQ(counts["Gelu"], 1);
  EXPECT_EQ(counts["*"], 1);
  EXPECT_EQ(op_counts(b, {"fuse_gelu", "fuse_elementwise_chains"})["Tanh"], 1);
  auto y = run(b, {{"x", {2, 4}, kGeluX}});
  ASSERT_EQ(y.size(), 1u);
  expect_near_all(y[0], kGeluTanhY);
}

TEST(TransformerFusionGelu, WrongConstantOrSharedIntermediateIsLeftAlone) {
  ModelBuilder wrong(14);
  wrong.input("x", kFloat, {"batch", 4});
  wrong.output("y", kFloat, {"batch", 4});
  add_bert_gelu(wrong, "x", "y");
  wrong.graph()->mutable_initializer(0)->set_raw_data(std::string("\x00\x00\xc0\x3f", 4));  // 1.5, not sqrt(2)
  EXPECT_EQ(op_counts(wrong)["Gelu"], 0);

  ModelBuilder shared(14);
  shared.input("x", kFloat, {"batch", 4});
  shared.output("y", kFloat, {"batch", 4});
  shared.output("y_erf", kFloat, {"batch", 4});  // an intermediate the graph also returns
  add_bert_gelu(shared, "x", "y");
  auto counts = op_counts(shared, {"fuse_elementwise_chains"});  // it would take Div -> Erf
  EXPECT_EQ(counts["Gelu"], 0);
  EXPECT_EQ(counts["Erf"], 1);
}

// BERT's opset-14 LayerNorm: ReduceMean -> Sub -> Pow 2 -> ReduceMean -> Add eps -> Sqrt
// -> Div -> Mul gamma -> Add beta.
void add_bert_layer_norm(ModelBuilder& b, const std::string& x, const std::string& y, bool with_beta = true) {
  b.initializer(y + "_two", {}, {2.0f});
  b.initializer(y + "_eps", {}, {1e-12f});
  b.initializer(y + "_gamma", {4}, {0.5f, 1.0f, -1.0f, 2.0f});
  test::add_ints_attr(b.node("ReduceMean", {x}, {y + "_mean"}), "axes", {-1});
  b.node("Sub", {x, y + "_mean"}, {y + "_d"});
  b.node("Pow", {y + "_d", y + "_two"}, {y + "_sq"});
  test::add_ints_attr(b.node("ReduceMean", {y + "_sq"}, {y + "_var"}), "axes", {-1});
  b.node("Add", {y + "_var", y + "_eps"}, {y + "_vare"});
  b.node("Sqrt", {y + "_vare"}, {y + "_std"});
  b.node("Div", {y + "_d", y + "_std"}, {y + "_norm"});
  if (!with_beta) {
    b.node("Mul", {y + "_norm", y + "_gamma"}, {y});
    return;
  }
  b.initializer(y + "_beta", {4}, {0.0f, 0.1f, 0.2f, -0.3f});
  b.node("Mul", {y + "_norm", y + "_gamma"}, {y + "_scaled"});
  b.node("Add", {y + "_scaled", y + "_beta"}, {y});
}

const std::vector<float> kLnX = {1, 2, 3, 5, -1, 0.5f, 4, -2};

TEST(TransformerFusionLayerNorm, BertDecomposedFormBecomesOneLayerNorm) {
  ModelBuilder b(14);
  b.input("x", kFloat, {"batch", 4});
  b.output("y", kFloat, {"batch", 4});
  add_bert_layer_norm(b, "x", "y");
  auto counts = op_counts(b, {"fuse_skip_layer_norm"});
  EXPECT_EQ(counts["LayerNorm"], 1);
  EXPECT_EQ(counts["*"], 1);
  auto off = op_counts(b, {"fuse_layer_norm", "fuse_elementwise_chains"});
  EXPECT_EQ(off["ReduceMean"], 2);
  EXPECT_EQ(off["*"], 9);
  auto y = run(b, {{"x", {2, 4}, kLnX}});
  ASSERT_EQ(y.size(), 1u);
  expect_near_all(y[0], {-0.591607978f, -0.407092553f, 0.0309691491f, 2.74255532f, -0.30230734f, 0.154964971f,
                         -1.39398416f, -2.3886689f});
}

TEST(TransformerFusionLayerNorm, WithoutBetaTheMulIsTheLastNode) {
  ModelBuilder b(14);
  b.input("x", kFloat, {"batch", 4});
  b.output("y", kFloat, {"batch", 4});
  add_bert_layer_norm(b, "x", "y", /*with_beta=*/false);
  auto counts = op_counts(b);
  EXPECT_EQ(counts["LayerNorm"], 1);
  EXPECT_EQ(counts["*"], 1);
  auto y = run(b, {{"x", {2, 4}, kLnX}});
  ASSERT_EQ(y.size(), 1u);
  expect_near_all(y[0], {-0.591607978f, -0.507092553f, -0.169030851f, 3.04255532f, -0.30230734f, 0.054964971f,
                         -1.59398416f, -2.0886689f});
}

TEST(TransformerFusionLayerNorm, NormOverAnotherAxisIsLeftAlone) {
  ModelBuilder b(14);
  b.input("x", kFloat, {2, 4});
  b.output("y", kFloat, {2, 4});
  add_bert_layer_norm(b, "x", "y");
  b.graph()->mutable_node(0)->mutable_attribute(0)->set_ints(0, 0);  // the mean over axis 0
  EXPECT_EQ(op_counts(b)["LayerNorm"], 0);
}

const std::vector<float> kSkipA = {0.5f, -1, 2, 0, 3, 1, -2, 0.25f};

// s = a + b; y = LayerNormalization(s) (opset 17, epsilon 1e-5).
ModelBuilder post_norm_model() {
  ModelBuilder b(17);
  b.input("a", kFloat, {"batch", 4});
  b.input("b", kFloat, {"batch", 4});
  b.output("y", kFloat, {"batch", 4});
  b.initializer("gamma", {4}, {0.5f, 1.0f, -1.0f, 2.0f});
  b.initializer("beta", {4}, {0.0f, 0.1f, 0.2f, -0.3f});
  b.node("Add", {"a", "b"}, {"s"});
  b.node("LayerNormalization", {"s", "gamma", "beta"}, {"y"});
  return b;
}

const std::vector<float> kSkipY = {-0.431419544f, -1.02832804f, -0.795583564f, 1.69116713f,
                                   0.339456609f,  0.459424645f, -0.478913218f, -3.73450216f};

TEST(TransformerFusionSkipLayerNorm, AddReadOnlyByTheNormFuses) {
  ModelBuilder b = post_norm_model();
  auto counts = op_counts(b);
  EXPECT_EQ(counts["SkipLayerNorm"], 1);
  EXPECT_EQ(counts["*"], 1);
  auto off = op_counts(b, {"fuse_skip_layer_norm"});
  EXPECT_EQ(off["Add"], 1);
  EXPECT_EQ(off["LayerNormalization"], 1);
  auto y = run(b, {{"a", {2, 4}, kSkipA}, {"b", {2, 4}, kLnX}});
  ASSERT_EQ(y.size(), 1u);
  expect_near_all(y[0], kSkipY);
}

// Pre-norm (GPT-2, ViT): the sum also goes on as the residual, z = s + LN(s), and is a
// graph output: SkipLayerNorm writes it as its second output.
TEST(TransformerFusionSkipLayerNorm, ResidualReadElsewhereBecomesSecondOutput) {
  ModelBuilder b = post_norm_model();
  b.output("s", kFloat, {"batch", 4});
  b.output("z", kFloat, {"batch", 4});
  b.node("Add", {"s", "y"}, {"z"});
  auto counts = op_counts(b);
  EXPECT_EQ(counts["SkipLayerNorm"], 1);
  EXPECT_EQ(counts["Add"], 1);
  auto out = run(b, {{"a", {2, 4}, kSkipA}, {"b", {2, 4}, kLnX}});
  ASSERT_EQ(out.size(), 3u);
  expect_near_all(out[0], kSkipY);
  expect_near_all(out[1], {1.5f, 1, 5, 5, 2, 1.5f, 2, -1.75f});
  expect_near_all(out[2], {1.06858046f, -0.0283280391f, 4.20441644f, 6.69116713f, 2.33945661f, 1.95942464f,
                           1.52108678f, -5.48450216f});
}

// b of shape [4] broadcast over the rows of a: the kernel's general path.
TEST(TransformerFusionSkipLayerNorm, BroadcastOperandComputesTheSame) {
  ModelBuilder b(17);
  b.input("a", kFloat, {"batch", 4});
  b.input("b", kFloat, {4});
  b.output("y", kFloat, {"batch", 4});
  b.initializer("gamma", {4}, {0.5f, 1.0f, -1.0f, 2.0f});
  b.initializer("beta", {4}, {0.0f, 0.1f, 0.2f, -0.3f});
  b.node("Add", {"a", "b"}, {"s"});
  b.node("LayerNormalization", {"s", "gamma", "beta"}, {"y"});
  EXPECT_EQ(op_counts(b)["SkipLayerNorm"], 1);
  auto y = run(b, {{"a", {2, 4}, kLnX}, {"b", {4}, {1, -1, 0.5f, 2}}});
  ASSERT_EQ(y.size(), 1u);
  expect_near_all(y[0], {-0.302307048f, -0.944333439f, 0.145035082f, 2.88796524f, -0.246182684f, -0.638548051f,
                         -1.52327878f, -1.28473073f});
}

// The whole BERT sublayer at opset 14: residual Add + decomposed LayerNorm end as one node.
TEST(TransformerFusionSkipLayerNorm, BertResidualAndDecomposedNormBecomeOneNode) {
  ModelBuilder b(14);
  b.input("a", kFloat, {"batch", 4});
  b.input("b", kFloat, {"batch", 4});
  b.output("y", kFloat, {"batch", 4});
  b.node("Add", {"a", "b"}, {"s"});
  add_bert_layer_norm(b, "s", "y");
  auto counts = op_counts(b);
  EXPECT_EQ(counts["SkipLayerNorm"], 1);
  EXPECT_EQ(counts["*"], 1);
  // eps 1e-12 instead of 1e-5 moves these values by under 1e-6.
  auto y = run(b, {{"a", {2, 4}, kSkipA}, {"b", {2, 4}, kLnX}});
  ASSERT_EQ(y.size(), 1u);
  expect_near_all(y[0], kSkipY, 1e-5f);
}

const std::vector<float> kMmX = {1, -2, 0.5f, -1, 0.5f, 2};
const std::vector<float> kMmW = {0.5f, -1, 0.25f, 1, 1, 0.5f, -0.5f, 0, -0.25f, 1, 1, -1};
const std::vector<float> kMmBias = {0.1f, -0.2f, 0.3f, -0.4f};

// BERT's intermediate dense layer: MatMul + Add bias + erf GELU.
TEST(TransformerFusionMatMulActivation, BiasAndGeluGoIntoOneFusedMatMul) {
  ModelBuilder b(14);
  b.input("x", kFloat, {"batch", 3});
  b.output("y", kFloat, {"batch", 4});
  b.initializer("W", {3, 4}, kMmW);
  b.initializer("bias", {4}, kMmBias);
  b.node("MatMul", {"x", "W"}, {"m"});
  b.node("Add", {"bias", "m"}, {"t"});
  add_bert_gelu(b, "t", "y");
  auto counts = op_counts(b);
  EXPECT_EQ(counts["FusedMatMul"], 1);
  EXPECT_EQ(counts["*"], 1);
  auto off = op_counts(b, {"fuse_matmul_activation"});
  EXPECT_EQ(off["FusedMatMul"], 1);
  EXPECT_EQ(off["Gelu"], 1);
  auto y = run(b, {{"x", {2, 3}, kMmX}});
  ASSERT_EQ(y.size(), 1u);
  expect_near_all(y[0], {-0.097035062f, -0.0757612867f, 2.00862646f, 0.0539827837f, -0.137831303f, 3.04651017f,
                         1.73532543f, -0.0011455595f}, 1e-5f);
}

TEST(TransformerFusionMatMulActivation, MatMulWithoutBiasAndRelu) {
  ModelBuilder b(14);
  b.input("x", kFloat, {"batch", 3});
  b.output("y", kFloat, {"batch", 4});
  b.initializer("W", {3, 4}, kMmW);
  b.node("MatMul", {"x", "W"}, {"m"});
  b.node("Relu", {"m"}, {"y"});
  auto counts = op_counts(b);
  EXPECT_EQ(counts["FusedMatMul"], 1);
  EXPECT_EQ(counts["*"], 1);
  auto y = run(b, {{"x", {2, 3}, kMmX}});
  ASSERT_EQ(y.size(), 1u);
  expect_near_all(y[0], {0, 0, 1.75f, 0.5f, 0, 3.25f, 1.5f, 0});
}

// GPT-2's MLP: Gemm -> Reshape to [1, rows, 4] -> tanh GELU. The activation moves into the
// Gemm, ahead of the Reshape.
TEST(TransformerFusionMatMulActivation, GemmThenReshapeThenTanhGelu) {
  ModelBuilder b(17);
  b.input("x", kFloat, {2, 3});
  b.output("y", kFloat, {1, 2, 4});
  b.initializer("W", {3, 4}, kMmW);
  b.initializer("bias", {4}, kMmBias);
  test::int64_constant(b, "shape", {3}, {1, 2, 4});
  b.node("Gemm", {"x", "W", "bias"}, {"g"});
  b.node("Reshape", {"g", "shape"}, {"r"});
  add_gpt2_gelu(b, "r", "y");
  auto counts = op_counts(b);
  EXPECT_EQ(counts["FusedGemm"], 1);
  EXPECT_EQ(counts["Reshape"], 1);
  EXPECT_EQ(counts["*"], 2);
  auto y = run(b, {{"x", {2, 3}, kMmX}});
  ASSERT_EQ(y.size(), 1u);
  expect_near_all(y[0], {-0.0972460608f, -0.0758941044f, 2.0087678f, 0.053982751f, -0.137838831f, 3.04690353f,
                         1.73525953f, -0.000905850983f}, 1e-5f);
}

// A full [M, N] C is added after oneDNN's GEMM, so the Relu must come after it:
// relu(x W + C), not relu(x W) + C.
TEST(TransformerFusionMatMulActivation, GemmWithFullCAppliesReluAfterC) {
  ModelBuilder b(17);
  b.input("x", kFloat, {2, 3});
  b.output("y", kFloat, {2, 4});
  b.initializer("W", {3, 4}, kMmW);
  b.initializer("C", {2, 4}, {0.75f, -0.75f, 0.75f, -0.75f, -0.75f, 0.75f, -0.75f, 0.75f});
  b.node("Gemm", {"x", "W", "C"}, {"g"});
  b.node("Relu", {"g"}, {"y"});
  EXPECT_EQ(op_counts(b)["FusedGemm"], 1);
  auto y = run(b, {{"x", {2, 3}, kMmX}});
  ASSERT_EQ(y.size(), 1u);
  expect_near_all(y[0], {0, 0, 2.5f, 0, 0, 4, 0.75f, 0});
}

TEST(TransformerFusionPipeline, PassesAreListedInOrder) {
  const std::vector<std::string> names = pass_names();
  auto at = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) - names.begin(); };
  ASSERT_LT(at("fuse_matmul_activation"), static_cast<long>(names.size()));
  EXPECT_LT(at("common_subexpression_elimination"), at("fuse_gelu"));
  EXPECT_LT(at("fuse_gelu"), at("fuse_matmul_activation"));
  EXPECT_LT(at("fuse_layer_norm"), at("fuse_skip_layer_norm"));
  EXPECT_LT(at("fuse_matmul_bias"), at("fuse_skip_layer_norm"));
  EXPECT_LT(at("fuse_matmul_bias"), at("fuse_matmul_activation"));
}

}  // namespace
}  // namespace kiln
