// Each graph pass on a small graph: the rewrite happens (node counts), it can be turned
// off by name, and the optimized engine still computes the values worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "ir/graph.h"
#include "kiln/engine.h"
#include "onnx/model_importer.h"
#include "passes/pass.h"
#include "passes/pipeline.h"
#include "unit/model_builder.h"

namespace kiln {
namespace {

using test::ModelBuilder;

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;

std::map<std::string, int> op_counts(const Graph& g) {
  std::map<std::string, int> counts;
  for (const Node& n : g.nodes) ++counts[n.op_type];
  return counts;
}

Graph import(const ModelBuilder& b) {
  Result<Graph> g = import_onnx_bytes(b.bytes(), "", "passes_test.onnx");
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  return std::move(g).value();
}

Graph optimized(const ModelBuilder& b, const BuildOptions& options = {}) {
  Graph g = import(b);
  Status s = optimize_graph(g, options);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return g;
}

std::vector<float> run(const ModelBuilder& b, const std::string& input, const Shape& shape,
                       const std::vector<float>& x) {
  auto engine = Engine::from_onnx_bytes(b.bytes(), "passes_test.onnx");
  EXPECT_TRUE(engine.is_ok()) << engine.status().to_string();
  if (!engine.is_ok()) return {};
  auto ctx = (*engine)->create_context();
  EXPECT_TRUE(ctx->set_input(input, Tensor::from_vector<float>(shape, x)).is_ok());
  Status s = ctx->run();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  if (!s.is_ok()) return {};
  const Tensor& y = ctx->outputs()[0];
  return std::vector<float>(y.data<float>(), y.data<float>() + y.numel());
}

// y = x + (c1 * c2): the Mul of two initializers folds into one constant.
ModelBuilder folded_mul_model() {
  ModelBuilder b;
  b.input("x", kFloat, {"batch", 2});
  b.output("y", kFloat, {"batch", 2});
  b.initializer("c1", {2}, {2.0f, 3.0f});
  b.initializer("c2", {2}, {0.5f, -1.0f});
  b.node("Mul", {"c1", "c2"}, {"c"});
  b.node("Add", {"x", "c"}, {"y"});
  return b;
}

TEST(PassesTest, ConstantFoldingReplacesConstantSubgraphs) {
  ModelBuilder b = folded_mul_model();
  EXPECT_EQ(op_counts(import(b))["Mul"], 1);
  Graph g = optimized(b);
  EXPECT_EQ(op_counts(g)["Mul"], 0);
  EXPECT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(run(b, "x", {1, 2}, {1.0f, 1.0f}), (std::vector<float>{2.0f, -2.0f}));
}

TEST(PassesTest, PassesCanBeDisabledByNameAndUnknownNamesAreRejected) {
  ModelBuilder b = folded_mul_model();
  BuildOptions keep_mul;
  keep_mul.disabled_passes = {"constant_folding", "constant_folding_after_shapes"};
  EXPECT_EQ(op_counts(optimized(b, keep_mul))["Mul"], 1);
  BuildOptions bad;
  bad.disabled_passes = {"fuse_everything"};
  Graph g = import(b);
  Status s = optimize_graph(g, bad);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("fuse_everything"), std::string::npos) << s.to_string();
  EXPECT_NE(s.message().find("constant_folding"), std::string::npos) << s.to_string();
}

TEST(PassesTest, IdentityAndDropoutAreRemovedButGraphOutputsKeepTheirNames) {
  ModelBuilder b;
  b.input("x", kFloat, {"batch", 2});
  b.output("y", kFloat, {"batch", 2});
  b.node("Identity", {"x"}, {"a"});
  b.node("Dropout", {"a"}, {"d"});
  b.node("Relu", {"d"}, {"r"});
  b.node("Identity", {"r"}, {"y"});
  Graph g = optimized(b);
  auto counts = op_counts(g);
  EXPECT_EQ(counts["Dropout"], 0);
  EXPECT_EQ(counts["Identity"], 1);  // the one writing graph output y
  EXPECT_EQ(g.values[g.outputs[0]].name, "y");
  EXPECT_EQ(run(b, "x", {1, 2}, {-1.0f, 2.0f}), (std::vector<float>{0.0f, 2.0f}));
}

// y = Reshape(x, [Gather(Shape(x), 0), Gather(Shape(x), 1)]) with x [batch, 3]: the
// query of dim 1 folds (3 is static), the query of the dynamic batch must stay.
ModelBuilder shape_query_model() {
  ModelBuilder b;
  b.input("x", kFloat, {"batch", 3});
  b.output("y", kFloat, {"batch", 3});
  test::int64_constant(b, "i0", {}, {0});
  test::int64_constant(b, "i1", {}, {1});
  test::int64_constant(b, "axes", {1}, {0});
  b.node("Shape", {"x"}, {"s"});
  b.node("Gather", {"s", "i0"}, {"d0"});
  b.node("Gather", {"s", "i1"}, {"d1"});
  b.node("Unsqueeze", {"d0", "axes"}, {"u0"});
  b.node("Unsqueeze", {"d1", "axes"}, {"u1"});
  onnx::NodeProto* concat = b.node("Concat", {"u0", "u1"}, {"shape"});
  test::add_int_attr(concat, "axis", 0);
  b.node("Reshape", {"x", "shape"}, {"y"});
  return b;
}

TEST(PassesTest, ShapeQueriesOfStaticDimsFold) {
  ModelBuilder b = shape_query_model();
  auto before = op_counts(import(b));
  BuildOptions keep_targets;  // fold_reshape_targets would take the rest of the subgraph
  keep_targets.disabled_passes = {"fold_reshape_targets"};
  auto after = op_counts(optimized(b, keep_targets));
  EXPECT_EQ(before["Gather"], 2);
  EXPECT_EQ(after["Gather"], 1);     // batch is dynamic
  EXPECT_EQ(after["Unsqueeze"], 1);  // the folded dim's Unsqueeze became a constant
  EXPECT_EQ(after["Shape"], 1);
  EXPECT_EQ(run(b, "x", {2, 3}, {1, 2, 3, 4, 5, 6}), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(PassesTest, ReshapeTargetsComputedFromDynamicDimsBecomeConstants) {
  // Reshape(x, [dim 0 of x, 3]) with a dynamic batch: the target becomes [0, 3] and the
  // output shape [batch, 3] instead of unknown.
  ModelBuilder b = shape_query_model();
  const Graph g = optimized(b);
  auto after = op_counts(g);
  EXPECT_EQ(after["Shape"] + after["Gather"] + after["Concat"] + after["Unsqueeze"], 0);
  ASSERT_EQ(after["Reshape"], 1);
  for (const Node& n : g.nodes) {
    if (n.op_type != "Reshape") continue;
    const Value& target = g.values[n.inputs[1]];
    ASSERT_TRUE(target.is_constant());
    EXPECT_EQ(target.constant.to_int64_vector(), (std::vector<int64_t>{0, 3}));
    const auto& shape = g.values[n.outputs[0]].type.shape;
    ASSERT_TRUE(shape.has_value());
    EXPECT_EQ(sym_shape_to_string(*shape), "batchx3");
  }
  for (int64_t batch : {1, 4}) {
    std::vector<float> x(static_cast<size_t>(batch * 3));
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
    EXPECT_EQ(run(b, "x", {batch, 3}, x), x);
  }
  BuildOptions off;
  off.disabled_passes = {"fold_reshape_targets"};
  EXPECT_EQ(op_counts(optimized(b, off))["Shape"], 1);
}

// A size the input's dims cannot prove stays computed: Reshape(x, [dim 0 of y, -1]) with y
// another input.
TEST(PassesTest, ReshapeTargetsFromAnotherTensorsDimsStay) {
  ModelBuilder b;
  b.input("x", kFloat, {"n", 6});
  b.input("y", kFloat, {"m", 2});
  b.output("z", kFloat, {"m", "k"});
  test::int64_constant(b, "i0", {}, {0});
  test::int64_constant(b, "axes", {1}, {0});
  test::int64_constant(b, "rest", {1}, {-1});
  b.node("Shape", {"y"}, {"s"});
  b.node("Gather", {"s", "i0"}, {"d0"});
  b.node("Unsqueeze", {"d0", "axes"}, {"u0"});
  test::add_int_attr(b.node("Concat", {"u0", "rest"}, {"shape"}), "axis", 0);
  b.node("Reshape", {"x", "shape"}, {"z"});
  // One size is unproven and -1 is taken: nothing to rewrite.
  EXPECT_EQ(op_counts(optimized(b))["Shape"], 1);
}

TEST(PassesTest, ProfilePinnedDimsLetWholeShapeSubgraphsFold) {
  ModelBuilder b = shape_query_model();
  BuildOptions options;
  ShapeProfile p;
  p.min["x"] = p.opt["x"] = p.max["x"] = {4, 3};
  options.profiles.push_back(p);
  auto after = op_counts(optimized(b, options));
  EXPECT_EQ(after["Shape"], 0);
  EXPECT_EQ(after["Gather"], 0);
  EXPECT_EQ(after["Concat"], 0);
  EXPECT_EQ(after["Reshape"], 1);
}

TEST(PassesTest, CommonSubexpressionsMerge) {
  ModelBuilder b;
  b.input("x", kFloat, {"batch", 2});
  b.output("y", kFloat, {"batch", 2});
  b.node("Relu", {"x"}, {"r1"});
  b.node("Relu", {"x"}, {"r2"});
  b.node("Sigmoid", {"x"}, {"s"});  // same input, another op: must stay
  b.node("Add", {"r1", "r2"}, {"t"});
  b.node("Add", {"t", "s"}, {"y"});
  BuildOptions no_chains;  // Sigmoid -> Add would become one ElementwiseChain
  no_chains.disabled_passes = {"fuse_elementwise_chains"};
  auto counts = op_counts(optimized(b, no_chains));
  EXPECT_EQ(counts["Relu"], 1);
  EXPECT_EQ(counts["Sigmoid"], 1);
  // y = 2 relu(x) + sigmoid(x); sigmoid(0) = 0.5
  EXPECT_EQ(run(b, "x", {1, 2}, {0.0f, 1.5f})[0], 0.5f);
  EXPECT_NEAR(run(b, "x", {1, 2}, {0.0f, 1.5f})[1], 3.0f + 1.0f / (1.0f + std::exp(-1.5f)), 1e-6f);
}

TEST(PassesTest, DeadNodesAreRemoved) {
  ModelBuilder b;
  b.input("x", kFloat, {"batch", 2});
  b.output("y", kFloat, {"batch", 2});
  b.node("Relu", {"x"}, {"y"});
  b.node("Exp", {"x"}, {"unused"});
  b.node("Neg", {"unused"}, {"unused2"});
  Graph g = optimized(b);
  EXPECT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "Relu");
}

// y = Relu(Conv(x, W)) and z = Clip(Conv(x, W), 0, 6) with a 1x1 kernel of weight 2.
ModelBuilder conv_activation_model() {
  ModelBuilder b(13);
  b.input("x", kFloat, {1, 1, 2, 2});
  b.output("y", kFloat, {1, 1, 2, 2});
  b.output("z", kFloat, {1, 1, 2, 2});
  b.initializer("W", {1, 1, 1, 1}, {2.0f});
  b.initializer("lo", {}, {0.0f});
  b.initializer("hi", {}, {6.0f});
  b.node("Conv", {"x", "W"}, {"c1"});
  b.node("Relu", {"c1"}, {"y"});
  b.node("Conv", {"x", "W"}, {"c2"}, "second_conv");
  b.node("Clip", {"c2", "lo", "hi"}, {"z"});
  return b;
}

TEST(PassesTest, ConvActivationsFuseIntoOnednnPostOps) {
  ModelBuilder b = conv_activation_model();
  BuildOptions no_cse;  // keep the two Convs apart so both activations are tried
  no_cse.disabled_passes = {"common_subexpression_elimination"};
  auto counts = op_counts(optimized(b, no_cse));
  EXPECT_EQ(counts["FusedConv"], 2);
  EXPECT_EQ(counts["Relu"], 0);
  EXPECT_EQ(counts["Clip"], 0);
  BuildOptions off;
  off.disabled_passes = {"fuse_conv_activation", "common_subexpression_elimination",
                         "convert_convs_to_channels_last"};  // which would make the Convs FusedConv
  EXPECT_EQ(op_counts(optimized(b, off))["Conv"], 2);

  auto engine = Engine::from_onnx_bytes(b.bytes(), "conv.onnx");
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  auto ctx = (*engine)->create_context();
  ASSERT_TRUE(ctx->set_input("x", Tensor::from_vector<float>({1, 1, 2, 2}, {-1.0f, 0.5f, 2.0f, 4.0f})).is_ok());
  ASSERT_TRUE(ctx->run().is_ok());
  const float* y = ctx->outputs()[0].data<float>();
  const float* z = ctx->outputs()[1].data<float>();
  EXPECT_EQ(std::vector<float>(y, y + 4), (std::vector<float>{0.0f, 1.0f, 4.0f, 8.0f}));
  EXPECT_EQ(std::vector<float>(z, z + 4), (std::vector<float>{0.0f, 1.0f, 4.0f, 6.0f}));
}

TEST(PassesTest, MatMulWithConstantBiasFusesAndComputesTheSame) {
  ModelBuilder b;
  b.input("x", kFloat, {"batch", "seq", 2});
  b.output("y", kFloat, {"batch", "seq", 3});
  b.initializer("W", {2, 3}, {1, 2, 3, 4, 5, 6});
  b.initializer("bias", {3}, {0.5f, -1.0f, 10.0f});
  b.node("MatMul", {"x", "W"}, {"m"});
  b.node("Add", {"bias", "m"}, {"y"});  // bias first: Add is commutative
  auto counts = op_counts(optimized(b));
  EXPECT_EQ(counts["FusedMatMul"], 1);
  EXPECT_EQ(counts["Add"], 0);
  BuildOptions off;
  off.disabled_passes = {"fuse_matmul_bias"};
  EXPECT_EQ(op_counts(optimized(b, off))["Add"], 1);
  // x = [[1, 1], [2, -1]]: rows [5, 7, 9] and [-2, -1, 0] before the bias.
  EXPECT_EQ(run(b, "x", {1, 2, 2}, {1, 1, 2, -1}), (std::vector<float>{5.5f, 6.0f, 19.0f, -1.5f, -2.0f, 10.0f}));
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// BERT's position ids in small: p = Slice(table, 0, Gather(Shape(x), 1)) is [1, ?] until
// the query folds; only then is h = x + p static, and only then can the query of h's
// shape that the Reshape reads fold too. With the profile pinning x to 1x3, folding runs
// to a fixed point and no shape query is left.
TEST(PassesTest, ShapeQueriesAndConstantsFoldToAFixedPoint) {
  ModelBuilder b;
  b.input("x", kFloat, {1, "sequence"});
  b.output("y", kFloat, {"sequence", 1});
  b.initializer("table", {1, 4}, {10.0f, 20.0f, 30.0f, 40.0f});
  test::int64_constant(b, "zero", {1}, {0});
  test::int64_constant(b, "one", {}, {1});
  test::int64_constant(b, "axis1", {1}, {1});
  test::int64_constant(b, "axes", {1}, {0});
  test::int64_constant(b, "tail", {1}, {1});
  b.node("Shape", {"x"}, {"sx"});
  b.node("Gather", {"sx", "one"}, {"len"});
  b.node("Unsqueeze", {"len", "axes"}, {"len1"});
  b.node("Slice", {"table", "zero", "len1", "axis1"}, {"p"});
  b.node("Add", {"x", "p"}, {"h"});
  b.node("Shape", {"h"}, {"sh"});
  b.node("Gather", {"sh", "one"}, {"n"});
  b.node("Unsqueeze", {"n", "axes"}, {"n1"});
  onnx::NodeProto* cat = b.node("Concat", {"n1", "tail"}, {"target"});
  test::add_int_attr(cat, "axis", 0);
  b.node("Reshape", {"h", "target"}, {"y"});

  BuildOptions pinned;
  pinned.profiles.push_back(ShapeProfile{{{"x", {1, 3}}}, {{"x", {1, 3}}}, {{"x", {1, 3}}}});
  Graph g = optimized(b, pinned);
  auto counts = op_counts(g);
  EXPECT_EQ(counts["Shape"], 0);
  EXPECT_EQ(counts["Gather"], 0);
  EXPECT_EQ(counts["Slice"], 0);
  EXPECT_EQ(counts["Concat"], 0);
  // Without the profile the sequence stays dynamic and the queries must stay.
  EXPECT_GE(op_counts(optimized(b))["Shape"], 1);

  auto engine = Engine::from_onnx_bytes(b.bytes(), "fixed_point.onnx");
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  EXPECT_EQ(run(b, "x", {1, 3}, {1.0f, 2.0f, 3.0f}), (std::vector<float>{11.0f, 22.0f, 33.0f}));
}

}  // namespace
}  // namespace kiln
