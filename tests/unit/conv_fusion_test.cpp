// The convolution-net passes: BatchNormalization folded into Conv weights, a residual Add
// (and the Relu after it) fused into the Conv as oneDNN post-ops. Each test checks the node
// counts after the pipeline, that the pass can be turned off by name, and the outputs
// against ONNX Runtime (values written below, computed with graph optimizations off) or
// a direct convolution loop.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "backend/backend.h"
#include "backend/cpu/conv_primitive.h"
#include "ir/graph.h"
#include "kiln/engine.h"
#include "onnx/model_importer.h"
#include "passes/pipeline.h"
#include "unit/model_builder.h"

namespace kiln {
namespace {

using test::ModelBuilder;

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;

// ((i * mul) % mod - off) * scale: inputs and weights both sides of a reference agree on.
std::vector<float> sequence(int64_t n, int64_t mul, int64_t mod, int64_t off, double scale) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(static_cast<double>((i * mul) % mod - off) * scale);
  return v;
}

void add_ints(onnx::NodeProto* node, const char* name, const std::vector<int64_t>& values) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

constexpr const char* kChannelsLast = "convert_convs_to_channels_last";

// The graph after the pipeline. The fusion tests count Conv nodes in ONNX's layout, so
// the channels-last conversion (which makes every 2-D conv a FusedConv) is off unless
// `channels_last` is set.
Graph optimized(const ModelBuilder& b, const std::vector<std::string>& disabled = {}, bool channels_last = false) {
  std::vector<std::string> off = disabled;
  if (!channels_last) off.push_back(kChannelsLast);
  return test::optimized_graph(b, off);
}

std::map<std::string, int> op_counts(const Graph& g) {
  std::map<std::string, int> counts;
  for (const Node& n : g.nodes) ++counts[n.op_type];
  return counts;
}

const Node* find_op(const Graph& g, const std::string& op_type) {
  for (const Node& n : g.nodes) {
    if (n.op_type == op_type) return &n;
  }
  return nullptr;
}

// Output `output` of the engine built with the whole pipeline but `disabled`.
std::vector<float> run(const ModelBuilder& b, const Shape& shape, const std::vector<float>& x,
                       const std::vector<std::string>& disabled = {}, size_t output = 0) {
  std::shared_ptr<Engine> engine = test::build_engine(b, disabled);
  if (!engine) return {};
  auto ctx = engine->create_context();
  EXPECT_TRUE(ctx->set_input("x", Tensor::from_vector<float>(shape, x)).is_ok());
  Status s = ctx->run();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  if (!s.is_ok()) return {};
  const Tensor& y = ctx->outputs()[output];
  return std::vector<float>(y.data<float>(), y.data<float>() + y.numel());
}

void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], tol * (1.0f + std::fabs(want[i]))) << "element " << i;
  }
}

// Conv(bias) -> BatchNormalization, opset 14 with training_mode=0 spelled out.
ModelBuilder conv_bn_opset14() {
  ModelBuilder b(14);
  b.input("x", kFloat, {1, 2, 3, 3});
  b.output("y", kFloat, {1, 3, 2, 2});
  b.initializer("W", {3, 2, 2, 2}, sequence(24, 7, 13, 6, 0.125));
  b.initializer("b", {3}, {0.5f, -0.25f, 1.0f});
  b.initializer("scale", {3}, {1.5f, 0.5f, -2.0f});
  b.initializer("B", {3}, {0.1f, -0.2f, 0.3f});
  b.initializer("mean", {3}, {0.2f, -0.4f, 1.0f});
  b.initializer("var", {3}, {0.5f, 2.0f, 0.25f});
  b.node("Conv", {"x", "W", "b"}, {"c"}, "conv");
  onnx::NodeProto* bn = b.node("BatchNormalization", {"c", "scale", "B", "mean", "var"}, {"y"}, "bn");
  test::add_int_attr(bn, "training_mode", 0);
  onnx::AttributeProto* eps = bn->add_attribute();
  eps->set_name("epsilon");
  eps->set_type(onnx::AttributeProto::FLOAT);
  eps->set_f(1e-3f);
  return b;
}

const std::vector<float> kConvBnOpset14Expected = {6.166216f,   -3.039068f, -0.3238404f, -0.05894017f,
                                                   -0.1027971f, 0.3942631f, -0.312667f,  -0.3016212f,
                                                   6.288036f,   -4.440528f, -1.197009f,  -0.9475074f};

TEST(ConvFusionBatchNorm, Opset14BatchNormFoldsIntoTheConvWeights) {
  ModelBuilder b = conv_bn_opset14();
  const Graph g = optimized(b);
  auto counts = op_counts(g);
  EXPECT_EQ(counts["BatchNormalization"], 0);
  EXPECT_EQ(counts["Conv"], 1);
  EXPECT_EQ(g.nodes.size(), 1u);
  const Attribute* sources = g.nodes[0].find_attribute("source_nodes");
  ASSERT_NE(sources, nullptr);
  EXPECT_EQ(sources->strings, (std::vector<std::string>{"conv", "bn"}));

  EXPECT_EQ(op_counts(optimized(b, {"fold_conv_batchnorm"}))["BatchNormalization"], 1);

  const std::vector<float> x = sequence(18, 5, 11, 5, 0.25);
  expect_near_all(run(b, {1, 2, 3, 3}, x), kConvBnOpset14Expected);
  expect_near_all(run(b, {1, 2, 3, 3}, x, {"fold_conv_batchnorm"}), kConvBnOpset14Expected);
}

// Grouped, strided, padded Conv without bias -> BN (opset 15, default epsilon) -> Relu.
ModelBuilder grouped_conv_bn_relu_opset15() {
  ModelBuilder b(15);
  b.input("x", kFloat, {1, 4, 5, 5});
  b.output("y", kFloat, {1, 4, 3, 3});
  b.initializer("W", {4, 2, 3, 3}, sequence(72, 5, 11, 5, 0.1));
  b.initializer("scale", {4}, {1.0f, -0.5f, 2.0f, 0.75f});
  b.initializer("B", {4}, {0.0f, 0.5f, -1.0f, 0.25f});
  b.initializer("mean", {4}, {0.1f, 0.0f, -0.3f, 0.5f});
  b.initializer("var", {4}, {1.0f, 0.3f, 4.0f, 0.01f});
  onnx::NodeProto* conv = b.node("Conv", {"x", "W"}, {"c"}, "conv");
  test::add_int_attr(conv, "group", 2);
  add_ints(conv, "strides", {2, 2});
  add_ints(conv, "pads", {1, 1, 1, 1});
  b.node("BatchNormalization", {"c", "scale", "B", "mean", "var"}, {"n"}, "bn");
  b.node("Relu", {"n"}, {"y"}, "relu");
  return b;
}

TEST(ConvFusionBatchNorm, Opset15BatchNormFoldsBeforeTheReluFuses) {
  ModelBuilder b = grouped_conv_bn_relu_opset15();
  const Graph g = optimized(b);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "FusedConv");
  EXPECT_EQ(g.nodes[0].inputs.size(), 3u);  // the folded bias was added
  const Attribute* sources = g.nodes[0].find_attribute("source_nodes");
  ASSERT_NE(sources, nullptr);
  EXPECT_EQ(sources->strings, (std::vector<std::string>{"conv", "bn", "relu"}));
  auto off = op_counts(optimized(b, {"fold_conv_batchnorm"}));
  EXPECT_EQ(off["BatchNormalization"], 1);
  EXPECT_EQ(off["Relu"], 1);  // the BN sits between Conv and Relu, so nothing fuses

  const std::vector<float> expected = {
      0.0f,       0.06249967f, 0.09999949f, 0.0f,       0.0f,       0.0f,       0.9624951f, 0.0f,       0.2499988f,
      0.3744823f, 0.5912856f,  0.6825712f,  0.1919112f, 0.0f,       1.469909f,  1.298749f,  1.024892f,  0.237554f,
      0.0f,       0.0f,        0.0f,        0.0f,       0.0f,       0.0f,       0.02499878f, 0.02499878f, 0.0f,
      0.0f,       0.0f,        0.0f,        0.0f,       5.028861f,  0.0f,       0.0f,       0.0f,       2.498876f};
  const std::vector<float> x = sequence(100, 3, 17, 8, 0.125);
  expect_near_all(run(b, {1, 4, 5, 5}, x), expected);
  expect_near_all(run(b, {1, 4, 5, 5}, x, {"fold_conv_batchnorm"}), expected);
}

TEST(ConvFusionBatchNorm, NonConstantStatisticsOrSharedConvOutputsAreLeftAlone) {
  ModelBuilder runtime_mean = conv_bn_opset14();
  // "mean" becomes a graph input: its value is unknown at build time.
  auto* inits = runtime_mean.graph()->mutable_initializer();
  for (int i = 0; i < inits->size(); ++i) {
    if (inits->Get(i).name() == "mean") {
      inits->DeleteSubrange(i, 1);
      break;
    }
  }
  runtime_mean.input("mean", kFloat, {3});
  EXPECT_EQ(op_counts(optimized(runtime_mean))["BatchNormalization"], 1);

  ModelBuilder shared = conv_bn_opset14();
  shared.output("c", kFloat, {1, 3, 2, 2});  // the Conv output is also read by the caller
  EXPECT_EQ(op_counts(optimized(shared))["BatchNormalization"], 1);
}

// Conv(3x3, pad 1, bias) -> Add(residual = the input) -> Relu: ResNet's identity block.
ModelBuilder conv_add_relu() {
  ModelBuilder b;
  b.input("x", kFloat, {1, 2, 4, 4});
  b.output("y", kFloat, {1, 2, 4, 4});
  b.initializer("W", {2, 2, 3, 3}, sequence(36, 3, 7, 3, 0.25));
  b.initializer("b", {2}, {-0.5f, 0.25f});
  add_ints(b.node("Conv", {"x", "W", "b"}, {"c"}, "conv"), "pads", {1, 1, 1, 1});
  b.node("Add", {"c", "x"}, {"s"}, "add");
  b.node("Relu", {"s"}, {"y"}, "relu");
  return b;
}

TEST(ConvFusionResidual, ConvAddReluBecomesOneFusedConvWithSumThenRelu) {
  ModelBuilder b = conv_add_relu();
  const Graph g = optimized(b);
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& fused = g.nodes[0];
  EXPECT_EQ(fused.op_type, "FusedConv");
  ASSERT_EQ(fused.inputs.size(), 4u);
  EXPECT_EQ(g.values[fused.inputs[3]].name, "x");
  ASSERT_NE(fused.find_attribute("activation"), nullptr);
  EXPECT_EQ(fused.find_attribute("activation")->s, "Relu");
  EXPECT_EQ(fused.find_attribute("source_nodes")->strings, (std::vector<std::string>{"conv", "add", "relu"}));

  auto off = op_counts(optimized(b, {"fuse_conv_add", "fuse_elementwise_chains"}));
  EXPECT_EQ(off["Add"], 1);
  EXPECT_EQ(off["Relu"], 1);
  EXPECT_EQ(off["Conv"], 1);

  const std::vector<float> expected = {0.0f, 0.0f, 3.75f, 0.0f, 0.0f, 7.45f, 0.0f, 3.95f, 4.75f, 0.0f, 1.3f,
                                       0.0f, 0.0f, 4.400001f, 0.0f, 0.1f, 0.0f, 5.95f, 0.0f, 0.0f, 3.4f, 0.0f,
                                       0.0f, 1.9f, 0.0f, 1.15f, 0.9f, 1.4f, 0.0f, 1.35f, 0.0f, 0.0f};
  const std::vector<float> x = sequence(32, 7, 19, 9, 0.2);
  expect_near_all(run(b, {1, 2, 4, 4}, x), expected);
  expect_near_all(run(b, {1, 2, 4, 4}, x, {kChannelsLast}), expected);
  expect_near_all(run(b, {1, 2, 4, 4}, x, {"fuse_conv_add"}), expected);
}

// Add(convA(x), convB(x)) and no activation: ResNet's downsampling join, and MobileNetV2's
// residual (its projection Conv has no activation). convA has no bias.
ModelBuilder two_convs_into_one_add() {
  ModelBuilder b;
  b.input("x", kFloat, {1, 2, 3, 3});
  b.output("y", kFloat, {1, 3, 3, 3});
  b.initializer("Wa", {3, 2, 1, 1}, sequence(6, 3, 7, 3, 0.5));
  b.initializer("Wb", {3, 2, 1, 1}, sequence(6, 5, 9, 4, 0.25));
  b.initializer("bb", {3}, {1.0f, 0.0f, -1.0f});
  b.node("Conv", {"x", "Wa"}, {"a"}, "conv_a");
  b.node("Conv", {"x", "Wb", "bb"}, {"bconv"}, "conv_b");
  b.node("Add", {"a", "bconv"}, {"y"}, "add");
  return b;
}

TEST(ConvFusionResidual, OneOfTwoConvsFeedingAnAddTakesItAndTheOtherBecomesTheResidual) {
  ModelBuilder b = two_convs_into_one_add();
  const Graph g = optimized(b);
  auto counts = op_counts(g);
  EXPECT_EQ(counts["FusedConv"], 1);
  EXPECT_EQ(counts["Conv"], 1);
  EXPECT_EQ(counts["Add"], 0);
  const Node* fused = find_op(g, "FusedConv");
  ASSERT_NE(fused, nullptr);
  ASSERT_EQ(fused->inputs.size(), 4u);
  EXPECT_EQ(fused->inputs[2], kNoValue);  // conv_a had no bias
  EXPECT_EQ(g.values[fused->inputs[3]].name, "bconv");
  EXPECT_EQ(fused->find_attribute("activation"), nullptr);
  EXPECT_EQ(op_counts(optimized(b, {"fuse_conv_add"}))["Add"], 1);

  const std::vector<float> expected = {4.75f,   1.9375f, -1.6875f, 3.625f,  0.0f,    -2.8125f, 2.5f,
                                       -1.125f, 4.1875f, -1.125f,  -0.1875f, 0.75f,  -0.75f,   0.1875f,
                                       1.125f,  -0.375f, 0.5625f,  -0.9375f, -1.75f, -1.4375f, -0.3125f,
                                       -1.625f, -0.5f,   -0.1875f, -1.5f,    -0.375f, -1.6875f};
  const std::vector<float> x = sequence(18, 5, 13, 6, 0.25);
  expect_near_all(run(b, {1, 2, 3, 3}, x), expected);
  expect_near_all(run(b, {1, 2, 3, 3}, x, {kChannelsLast}), expected);
  expect_near_all(run(b, {1, 2, 3, 3}, x, {"fuse_conv_add"}), expected);
}

TEST(ConvFusionResidual, BroadcastingAddIsNotFused) {
  ModelBuilder b;
  b.input("x", kFloat, {1, 2, 3, 3});
  b.output("y", kFloat, {1, 3, 3, 3});
  b.initializer("W", {3, 2, 1, 1}, sequence(6, 3, 7, 3, 0.5));
  b.initializer("r", {1, 3, 1, 1}, {1.0f, 2.0f, 3.0f});  // a per-channel add, not a residual
  b.node("Conv", {"x", "W"}, {"c"});
  b.node("Add", {"c", "r"}, {"y"});
  auto counts = op_counts(optimized(b));
  EXPECT_EQ(counts["Add"], 1);
  EXPECT_EQ(counts["FusedConv"], 0);
}

// Direct NCHW convolution (square kernel, symmetric padding) plus an optional residual,
// then Relu when `relu`: the reference for shapes oneDNN runs in its own layouts, channel
// counts that are not multiples of its block, and several batch sizes.
struct RefConv {
  int64_t n, c, h, o, k, stride, pad;
  int64_t out() const { return (h + 2 * pad - k) / stride + 1; }
};

std::vector<float> reference_conv(const RefConv& g, const std::vector<float>& x, const std::vector<float>& w,
                                  const std::vector<float>& bias, const std::vector<float>* residual, bool relu) {
  const int64_t oh = g.out();
  std::vector<float> y(static_cast<size_t>(g.n * g.o * oh * oh));
  for (int64_t b = 0; b < g.n; ++b) {
    for (int64_t oc = 0; oc < g.o; ++oc) {
      for (int64_t i = 0; i < oh; ++i) {
        for (int64_t j = 0; j < oh; ++j) {
          double acc = bias.empty() ? 0.0 : bias[oc];
          for (int64_t ic = 0; ic < g.c; ++ic) {
            for (int64_t p = 0; p < g.k; ++p) {
              for (int64_t q = 0; q < g.k; ++q) {
                const int64_t yy = i * g.stride - g.pad + p, xx = j * g.stride - g.pad + q;
                if (yy < 0 || yy >= g.h || xx < 0 || xx >= g.h) continue;
                acc += static_cast<double>(x[((b * g.c + ic) * g.h + yy) * g.h + xx]) *
                       w[((oc * g.c + ic) * g.k + p) * g.k + q];
              }
            }
          }
          const size_t at = static_cast<size_t>(((b * g.o + oc) * oh + i) * oh + j);
          if (residual) acc += (*residual)[at];
          y[at] = static_cast<float>(relu ? std::max(0.0, acc) : acc);
        }
      }
    }
  }
  return y;
}

TEST(ConvFusionResidual, LargerShapesMatchADirectLoopAtSeveralBatchSizes) {
  // y = Relu(Conv(x, W, b; 3x3, stride 2, pad 1) + r) with r = Conv(x, Ws; 1x1, stride 2):
  // the residual comes from inside the graph, 20 -> 24 channels.
  const int64_t c = 20, o = 24, h = 9;
  ModelBuilder b;
  b.input("x", kFloat, {"batch", c, h, h});
  b.output("y", kFloat, {"batch", o, 5, 5});
  const std::vector<float> w = sequence(o * c * 9, 7, 23, 11, 0.01);
  const std::vector<float> bias = sequence(o, 5, 7, 3, 0.1);
  const std::vector<float> w_skip = sequence(o * c, 3, 13, 6, 0.02);
  b.initializer("W", {o, c, 3, 3}, w);
  b.initializer("b", {o}, bias);
  b.initializer("Ws", {o, c, 1, 1}, w_skip);
  onnx::NodeProto* conv = b.node("Conv", {"x", "W", "b"}, {"c"}, "conv");
  add_ints(conv, "strides", {2, 2});
  add_ints(conv, "pads", {1, 1, 1, 1});
  add_ints(b.node("Conv", {"x", "Ws"}, {"r"}, "skip"), "strides", {2, 2});
  b.node("Add", {"c", "r"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  const Graph nchw = optimized(b);
  auto counts = op_counts(nchw);
  EXPECT_EQ(counts["FusedConv"], 1);
  EXPECT_EQ(counts["Add"] + counts["Relu"], 0);
  // The residual is the skip Conv's output, read by nothing else: the sum happens in its buffer.
  const Node* fused = find_op(nchw, "FusedConv");
  ASSERT_NE(fused, nullptr);
  EXPECT_NE(fused->find_attribute("residual_in_place"), nullptr);

  test::TempDir dir;
  test::write_file(dir.file("m.onnx"), b.bytes());
  for (bool channels_last : {true, false}) {
    BuildOptions options;
    if (!channels_last) options.disabled_passes = {kChannelsLast};
    auto engine = Engine::build_from_onnx(dir.file("m.onnx"), options);
    ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
    auto ctx = (*engine)->create_context();
    for (int64_t n : {2, 1, 3, 2, 2}) {  // new shapes, then replays of a recorded one
      const std::vector<float> x = sequence(n * c * h * h, 11, 31, 15, 0.05);
      const std::vector<float> r = reference_conv({n, c, h, o, 1, 2, 0}, x, w_skip, {}, nullptr, false);
      const std::vector<float> expected = reference_conv({n, c, h, o, 3, 2, 1}, x, w, bias, &r, true);
      ASSERT_TRUE(ctx->set_input("x", Tensor::from_vector<float>({n, c, h, h}, x)).is_ok());
      ASSERT_TRUE(ctx->run().is_ok());
      const Tensor& y = ctx->outputs()[0];
      ASSERT_EQ(y.shape(), (Shape{n, o, 5, 5}));
      expect_near_all(std::vector<float>(y.data<float>(), y.data<float>() + y.numel()), expected, 1e-4f);
    }
  }
}

// x -> Conv+Relu -> MaxPool -> Conv+Relu -> Conv + Add(pooled) + Relu -> y (an output) -> GlobalAveragePool -> z:
// a ResNet stem and block in miniature.
ModelBuilder small_resnet() {
  ModelBuilder b;
  b.input("x", kFloat, {1, 3, 8, 8});
  b.output("y", kFloat, {1, 8, 4, 4});
  b.output("z", kFloat, {1, 8, 1, 1});
  b.initializer("W1", {8, 3, 3, 3}, sequence(216, 5, 17, 8, 0.05));
  b.initializer("b1", {8}, sequence(8, 3, 5, 2, 0.1));
  b.initializer("W2", {8, 8, 3, 3}, sequence(576, 11, 19, 9, 0.03));
  b.initializer("b2", {8}, sequence(8, 2, 7, 3, 0.05));
  b.initializer("W3", {8, 8, 1, 1}, sequence(64, 13, 23, 11, 0.04));
  add_ints(b.node("Conv", {"x", "W1", "b1"}, {"c1"}, "conv1"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"});
  onnx::NodeProto* pool = b.node("MaxPool", {"r1"}, {"p"}, "pool");
  add_ints(pool, "kernel_shape", {2, 2});
  add_ints(pool, "strides", {2, 2});
  add_ints(b.node("Conv", {"p", "W2", "b2"}, {"c2"}, "conv2"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c2"}, {"r2"});
  b.node("Conv", {"r2", "W3"}, {"c3"}, "conv3");
  b.node("Add", {"c3", "p"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  b.node("GlobalAveragePool", {"y"}, {"z"});
  return b;
}

TEST(ConvFusionChannelsLast, ConvChainsRunNhwcWithReordersOnlyAtTheirEdges) {
  ModelBuilder b = small_resnet();
  if (cpu_backend().prefers_channels_last_convolutions()) {
    const Graph g = optimized(b, {}, true);
    auto counts = op_counts(g);
    EXPECT_EQ(counts["FusedConv"], 3);
    // The pools run NHWC too (oneDNN pooling): x in; y out for the graph output; z out.
    EXPECT_EQ(counts["ChannelsLastPool"], 2);
    EXPECT_EQ(counts["MaxPool"] + counts["GlobalAveragePool"], 0);
    EXPECT_EQ(counts["Reorder"], 3);
    EXPECT_EQ(counts["Add"] + counts["Relu"], 0);
    for (const Node& n : g.nodes) {
      if (n.op_type == "FusedConv") {
        EXPECT_NE(n.find_attribute("channels_last"), nullptr) << n.name;
      }
    }
    EXPECT_EQ(g.values[g.outputs[0]].name, "y");  // outputs keep their names and NCHW layout
    // conv3's residual (the pooled tensor) is read only by conv2 before it.
    const Node* conv3 = nullptr;
    for (const Node& n : g.nodes) conv3 = n.name == "conv3" ? &n : conv3;
    ASSERT_NE(conv3, nullptr);
    EXPECT_NE(conv3->find_attribute("residual_in_place"), nullptr);
    for (const Node& n : optimized(b, {"write_residual_in_place"}, true).nodes) {
      EXPECT_EQ(n.find_attribute("residual_in_place"), nullptr) << n.name;
    }
  } else {
    EXPECT_EQ(op_counts(optimized(b, {}, true))["Reorder"], 0) << "the backend keeps NCHW";
  }
  auto off = op_counts(optimized(b, {kChannelsLast}, true));
  EXPECT_EQ(off["Reorder"], 0);
  EXPECT_EQ(off["FusedConv"], 3);

  const std::vector<float> expected_y = {
      0.2284997f, 3.689808f,  0.0f,       1.970038f,  0.361694f,  1.715552f,  0.2677061f, 0.3356081f, 0.0f,
      2.638942f,  0.3142498f, 1.41965f,   0.2842422f, 0.1149558f, 0.7363801f, 0.824534f,  0.0320861f, 1.817102f,
      0.7327077f, 1.068838f,  0.7669541f, 2.004432f,  1.214942f,  1.21878f,   0.390586f,  2.533f,     0.208406f,
      2.060632f,  1.153652f,  1.27479f,   1.058354f,  0.5183878f, 0.4469561f, 0.3926241f, 0.1368756f, 1.47847f,
      0.0f,       2.621774f,  0.0f,       1.37346f,   0.0f,       1.301214f,  0.0f,       0.9357119f, 0.2730581f,
      1.440936f,  0.585152f,  0.948166f,  1.304298f,  0.06158204f, 1.820634f, 1.13727f,   1.906476f,  2.525654f,
      2.400428f,  1.741632f,  1.167282f,  1.970272f,  0.9926142f, 2.206694f,  0.5674679f, 1.16077f,   0.5671262f,
      2.14047f,   1.649168f,  0.06210402f, 1.564802f, 0.0f,       0.2978241f, 2.977996f,  0.0f,       1.731312f,
      1.02693f,   0.8534861f, 1.406856f,  0.7967741f, 0.09187396f, 1.661916f, 0.02892407f, 1.565248f, 1.93651f,
      0.111062f,  1.72856f,   0.07570203f, 1.885998f, 1.886876f,  2.135914f,  1.026664f,  3.028978f,  1.475538f,
      2.856822f,  1.726424f,  0.0f,       0.602348f,  0.08828984f, 1.180968f, 2.83638f,   0.161584f,  2.512728f,
      0.0f,       1.407346f,  0.714218f,  0.3091254f, 1.644164f,  1.988626f,  2.660758f,  2.371064f,  2.597836f,
      1.59569f,   1.232896f,  0.4876963f, 1.89233f,   1.098722f,  0.210542f,  2.671486f,  0.09913404f, 2.84552f,
      0.4830979f, 2.4764f,    0.7195161f, 2.950674f,  2.112811f,  2.69603f,   2.272486f,  0.2014759f, 1.158328f,
      1.807062f,  1.39805f};
  const std::vector<float> expected_z = {0.9313663f, 1.128353f, 0.7458999f, 1.479417f,
                                         0.9822009f, 1.359166f, 1.525778f,  1.575083f};
  const std::vector<float> x = sequence(192, 7, 29, 14, 0.1);
  const std::vector<std::vector<std::string>> variants = {{}, {kChannelsLast}, {"write_residual_in_place"}};
  for (const std::vector<std::string>& disabled : variants) {
    expect_near_all(run(b, {1, 3, 8, 8}, x, disabled, 0), expected_y);
    expect_near_all(run(b, {1, 3, 8, 8}, x, disabled, 1), expected_z);
  }
}

TEST(ConvFusionChannelsLast, PaddedCeilModeAndGlobalPoolsRunNhwcAndMatchOnnxRuntime) {
  // x [1, 16, 9, 9] -> Conv 3x3 pad 1 -> Relu -> MaxPool 3x3 s2 pad 1 ceil_mode -> Conv 1x1 (c2);
  // y = GlobalMaxPool(Conv 1x1(AveragePool 3x3 s2 pad 1 count_include_pad(c2)));
  // z = GlobalAveragePool(Conv 1x1(AveragePool 2x2 s2 ceil_mode(c2))).
  ModelBuilder b(17);
  b.input("x", kFloat, {1, 16, 9, 9});
  b.output("y", kFloat, {1, 16, 1, 1});
  b.output("z", kFloat, {1, 16, 1, 1});
  b.initializer("W1", {16, 16, 3, 3}, sequence(2304, 5, 17, 8, 0.02));
  b.initializer("W2", {16, 16, 1, 1}, sequence(256, 3, 13, 6, 0.05));
  b.initializer("W3", {16, 16, 1, 1}, sequence(256, 11, 19, 9, 0.04));
  add_ints(b.node("Conv", {"x", "W1"}, {"c1"}), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"});
  onnx::NodeProto* max = b.node("MaxPool", {"r1"}, {"p1"}, "max");
  add_ints(max, "kernel_shape", {3, 3});
  add_ints(max, "strides", {2, 2});
  add_ints(max, "pads", {1, 1, 1, 1});
  test::add_int_attr(max, "ceil_mode", 1);
  b.node("Conv", {"p1", "W2"}, {"c2"});
  onnx::NodeProto* avg = b.node("AveragePool", {"c2"}, {"a1"}, "avg_include");
  add_ints(avg, "kernel_shape", {3, 3});
  add_ints(avg, "strides", {2, 2});
  add_ints(avg, "pads", {1, 1, 1, 1});
  test::add_int_attr(avg, "count_include_pad", 1);
  b.node("Conv", {"a1", "W3"}, {"c3"});
  b.node("GlobalMaxPool", {"c3"}, {"y"});
  onnx::NodeProto* ceil = b.node("AveragePool", {"c2"}, {"a2"}, "avg_ceil");
  add_ints(ceil, "kernel_shape", {2, 2});
  add_ints(ceil, "strides", {2, 2});
  test::add_int_attr(ceil, "ceil_mode", 1);
  b.node("Conv", {"a2", "W3"}, {"c4"});
  b.node("GlobalAveragePool", {"c4"}, {"z"});
  if (cpu_backend().prefers_channels_last_convolutions()) {
    auto counts = op_counts(optimized(b, {}, true));
    EXPECT_EQ(counts["ChannelsLastPool"], 5);
    EXPECT_EQ(counts["Reorder"], 3);  // x in, y and z out
  }
  // onnxruntime 1.32 (graph optimizations off) on the same model and input.
  const std::vector<float> expected_y = {0.2331618f,   0.08597729f, 0.1716449f,  0.2077542f,  0.1447396f, 0.01846043f,
                                         0.16758f,     0.01342443f, -0.03124622f, -0.05399071f, 0.1624302f, -0.01730403f,
                                         -0.03222933f, -0.09761114f, 0.1957724f,  0.03760621f};
  const std::vector<float> expected_z = {0.2512903f,  0.02005261f,  0.1499776f,   0.2016797f,  0.1325523f,  -0.1971603f,
                                         0.1483409f,  -0.01553319f, -0.1810223f,  -0.1733645f, 0.01635779f, -0.09329028f,
                                         -0.1826591f, -0.2511216f,  0.1777199f,   -0.06986818f};
  const std::vector<float> x = sequence(1296, 7, 29, 14, 0.1);
  for (const std::vector<std::string>& disabled : std::vector<std::vector<std::string>>{{}, {kChannelsLast}}) {
    expect_near_all(run(b, {1, 16, 9, 9}, x, disabled, 0), expected_y);
    expect_near_all(run(b, {1, 16, 9, 9}, x, disabled, 1), expected_z);
  }
}

TEST(ConvFusionWinograd, WideThreeByThreeConvsUseWinogradAndMatchADirectLoop) {
  // y = Relu(Conv3x3(x, W, b) + x), 64 -> 64 channels: a ResNet basic block's second conv.
  // t = Conv3x3(x, W2; stride 2) and u = Conv3x3(x, W3), 64 -> 32 channels, stay direct.
  const int64_t c = 64, h = 10;
  ModelBuilder b;
  b.input("x", kFloat, {"batch", c, h, h});
  b.output("y", kFloat, {"batch", c, h, h});
  b.output("t", kFloat, {"batch", c, 5, 5});
  b.output("u", kFloat, {"batch", 32, h, h});
  const std::vector<float> w = sequence(c * c * 9, 7, 23, 11, 0.005);
  const std::vector<float> bias = sequence(c, 5, 7, 3, 0.1);
  b.initializer("W", {c, c, 3, 3}, w);
  b.initializer("b", {c}, bias);
  b.initializer("W2", {c, c, 3, 3}, w);
  b.initializer("W3", {32, c, 3, 3}, sequence(32 * c * 9, 5, 17, 8, 0.01));
  add_ints(b.node("Conv", {"x", "W", "b"}, {"c"}, "wide"), "pads", {1, 1, 1, 1});
  b.node("Add", {"c", "x"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  onnx::NodeProto* strided = b.node("Conv", {"x", "W2"}, {"t"}, "strided");
  add_ints(strided, "pads", {1, 1, 1, 1});
  add_ints(strided, "strides", {2, 2});
  add_ints(b.node("Conv", {"x", "W3"}, {"u"}, "narrow"), "pads", {1, 1, 1, 1});

  const bool available = cpu_backend().has_winograd_convolutions();
  auto algorithm_of = [](const Graph& g, const std::string& name) -> std::string {
    for (const Node& n : g.nodes) {
      if (n.name != name) continue;
      const Attribute* a = n.find_attribute("algorithm");
      return a ? a->s : "direct";
    }
    return "missing";
  };
  const Graph g = optimized(b, {}, true);
  EXPECT_EQ(algorithm_of(g, "wide"), available ? "winograd" : "direct");
  EXPECT_EQ(algorithm_of(g, "strided"), "direct");
  EXPECT_EQ(algorithm_of(g, "narrow"), "direct");
  EXPECT_EQ(algorithm_of(optimized(b, {"select_winograd_convolutions"}, true), "wide"), "direct");

  test::TempDir dir;
  test::write_file(dir.file("m.onnx"), b.bytes());
  for (const std::vector<std::string>& disabled :
       std::vector<std::vector<std::string>>{{}, {kChannelsLast}, {"select_winograd_convolutions"}}) {
    BuildOptions options;
    options.disabled_passes = disabled;
    auto engine = Engine::build_from_onnx(dir.file("m.onnx"), options);
    ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
    auto ctx = (*engine)->create_context();
    for (int64_t n : {1, 2, 1}) {
      const std::vector<float> x = sequence(n * c * h * h, 11, 31, 15, 0.05);
      const std::vector<float> expected = reference_conv({n, c, h, c, 3, 1, 1}, x, w, bias, &x, true);
      ASSERT_TRUE(ctx->set_input("x", Tensor::from_vector<float>({n, c, h, h}, x)).is_ok());
      ASSERT_TRUE(ctx->run().is_ok());
      const Tensor& y = ctx->outputs()[0];
      ASSERT_EQ(y.shape(), (Shape{n, c, h, h}));
      // Winograd rounds differently from a direct sum of 576 products: 1e-4 of values up to ~4.
      expect_near_all(std::vector<float>(y.data<float>(), y.data<float>() + y.numel()), expected, 1e-4f);
      const std::vector<float> t_expected = reference_conv({n, c, h, c, 3, 2, 1}, x, w, {}, nullptr, false);
      const Tensor& t = ctx->outputs()[1];
      expect_near_all(std::vector<float>(t.data<float>(), t.data<float>() + t.numel()), t_expected, 1e-4f);
    }
  }
}

TEST(ConvFusionWinograd, AnUnknownAlgorithmIsAnErrorNamingTheNode) {
  ModelBuilder b(17);
  b.opset_import("kiln", 1);
  b.input("x", kFloat, {1, 4, 5, 5});
  b.output("y", kFloat, {1, 4, 3, 3});
  b.initializer("W", {4, 4, 3, 3}, sequence(144, 5, 17, 8, 0.02));
  onnx::NodeProto* conv = b.node("FusedConv", {"x", "W"}, {"y"}, "my_conv", "kiln");
  onnx::AttributeProto* a = conv->add_attribute();
  a->set_name("algorithm");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s("fft");
  EXPECT_TRUE(test::error_mentions(test::load(b), {"my_conv", "unknown convolution algorithm 'fft'"}));
}

TEST(ConvFusionKernel, AvxFiveTwelveMachinesGetADirectJitKernelNotIm2colGemm) {
  if (!__builtin_cpu_supports("avx512f")) GTEST_SKIP() << "no AVX-512 on this CPU";
  cpu::ConvSpec spec;
  spec.src = {1, 64, 56, 56};
  spec.dst = {1, 64, 56, 56};
  spec.weights = {64, 64, 3, 3};
  spec.strides = {1, 1};
  spec.gaps = {0, 0};
  spec.pad_begin = spec.pad_end = {1, 1};
  spec.bias = true;
  spec.residual = true;
  spec.activation = cpu::ConvActivation::kRelu;
  auto prim = cpu::ConvPrimitive::create(spec, nullptr);
  ASSERT_TRUE(prim.is_ok()) << prim.status().to_string();
  EXPECT_NE((*prim)->implementation().find("avx512"), std::string::npos) << (*prim)->implementation();
  EXPECT_EQ((*prim)->implementation().find("gemm:jit"), std::string::npos) << (*prim)->implementation();
}

}  // namespace
}  // namespace kiln
