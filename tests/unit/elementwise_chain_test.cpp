// fuse_elementwise_chains and the kiln::ElementwiseChain kernel: which chains become one
// node (and which must not), that the pass can be turned off by name, and the values the
// fused kernel computes, against scalar loops written here with the ONNX formulas in
// double precision (the attention-mask values are worked out by hand). The tensors of
// the broadcast and OpenMP cases are larger than one kernel block (512 elements), so
// block edges fall inside broadcast runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
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
constexpr int32_t kInt64 = onnx::TensorProto::INT64;
const std::vector<std::string> kNoChains = {"fuse_elementwise_chains"};

void float_attr(onnx::NodeProto* n, const std::string& name, float value) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

void floats_attr(onnx::NodeProto* n, const std::string& name, const std::vector<float>& values) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOATS);
  for (float v : values) a->add_floats(v);
}

Graph optimized(const ModelBuilder& b, const std::vector<std::string>& disabled = {}) {
  return test::optimized_graph(b, disabled);
}

std::map<std::string, int> op_counts(const Graph& g) {
  std::map<std::string, int> counts;
  for (const Node& n : g.nodes) {
    ++counts[n.op_type];
    ++counts["*"];
  }
  return counts;
}

const Node* find_op(const Graph& g, const std::string& op_type) {
  for (const Node& n : g.nodes) {
    if (n.op_type == op_type) return &n;
  }
  return nullptr;
}

struct Input {
  std::string name;
  Tensor value;
};

// Output 0 of the model built with `disabled` passes off.
std::vector<float> run(const ModelBuilder& b, const std::vector<Input>& inputs,
                       const std::vector<std::string>& disabled = {}) {
  std::shared_ptr<Engine> engine = test::build_engine(b, disabled);
  if (!engine) return {};
  auto ctx = engine->create_context();
  for (const Input& in : inputs) {
    Status s = ctx->set_input(in.name, in.value);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
  }
  Status s = ctx->run();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  if (!s.is_ok()) return {};
  const Tensor& t = ctx->outputs()[0];
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

// Deterministic values in [lo, hi): a fixed-seed linear congruential sequence.
std::vector<float> values(size_t n, float lo, float hi, uint32_t seed = 1) {
  std::vector<float> v(n);
  for (float& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = lo + (hi - lo) * static_cast<float>(seed >> 8) / 16777216.0f;
  }
  return v;
}

// Element-by-element within rel * |want| + abs.
void expect_close(const std::vector<float>& got, const std::vector<double>& want, double rel = 2e-6,
                  double abs = 1e-6) {
  ASSERT_EQ(got.size(), want.size());
  int reported = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol = rel * std::fabs(want[i]) + abs;
    if (std::fabs(got[i] - want[i]) > tol && reported++ < 10) {
      ADD_FAILURE() << "element " << i << ": got " << got[i] << ", want " << want[i];
    }
  }
}

// BERT's extended attention mask: (1 - float(mask[:, None, None, :])) * -10000.
ModelBuilder bert_mask_model() {
  ModelBuilder b(14);
  b.input("mask", kInt64, {"batch", 1, 1, "seq"});
  b.output("y", kFloat, {"batch", 1, 1, "seq"});
  b.initializer("one", {}, {1.0f});
  b.initializer("big", {}, {-10000.0f});
  test::add_int_attr(b.node("Cast", {"mask"}, {"m"}, "cast"), "to", onnx::TensorProto::FLOAT);
  b.node("Sub", {"one", "m"}, {"s"}, "sub");
  b.node("Mul", {"s", "big"}, {"y"}, "mul");
  return b;
}

TEST(ElementwiseChainPass, BertMaskChainBecomesOneNode) {
  const ModelBuilder b = bert_mask_model();
  const Graph g = optimized(b);
  auto counts = op_counts(g);
  EXPECT_EQ(counts["ElementwiseChain"], 1);
  EXPECT_EQ(counts["*"], 1);
  const Node* chain = find_op(g, "ElementwiseChain");
  ASSERT_NE(chain, nullptr);
  EXPECT_EQ(chain->domain, "kiln");
  ASSERT_EQ(chain->inputs.size(), 1u);  // the int64 mask itself: the Cast is folded into the load
  EXPECT_EQ(g.values[chain->inputs[0]].name, "mask");
  EXPECT_EQ(chain->find_attribute("source_nodes")->strings, (std::vector<std::string>{"cast", "sub", "mul"}));
  EXPECT_EQ(chain->find_attribute("program")->ints.size(), 8u);  // two instructions
}

// After the fusions that take elementwise ops into GEMMs and convs, before the layout pass.
TEST(ElementwiseChainPass, RunsAfterTheOtherFusions) {
  const std::vector<std::string> names = pass_names();
  auto at = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) - names.begin(); };
  ASSERT_LT(at("fuse_elementwise_chains"), static_cast<long>(names.size()));
  EXPECT_LT(at("fuse_gelu"), at("fuse_elementwise_chains"));
  EXPECT_LT(at("fuse_matmul_activation"), at("fuse_elementwise_chains"));
  EXPECT_LT(at("fuse_conv_activation"), at("fuse_elementwise_chains"));
  EXPECT_LT(at("fuse_elementwise_chains"), at("convert_convs_to_channels_last"));
}

TEST(ElementwiseChainPass, CanBeDisabledByName) {
  auto off = op_counts(optimized(bert_mask_model(), kNoChains));
  EXPECT_EQ(off["ElementwiseChain"], 0);
  EXPECT_EQ(off["Cast"], 1);
  EXPECT_EQ(off["Sub"], 1);
  EXPECT_EQ(off["Mul"], 1);
}

TEST(ElementwiseChainValues, BertMaskGivesZeroOrMinusTenThousand) {
  const std::vector<int64_t> mask = {1, 1, 0, 1, 0, 0, 1, 1};
  const std::vector<Input> in = {{"mask", Tensor::from_vector<int64_t>({2, 1, 1, 4}, mask)}};
  const std::vector<double> want = {0, 0, -10000, 0, -10000, -10000, 0, 0};
  expect_close(run(bert_mask_model(), in), want, 0, 0);
  expect_close(run(bert_mask_model(), in, kNoChains), want, 0, 0);
}

// Everything of shape [batch, 40, 33] (1320 elements a batch row): y = relu((x + bias) * w)
// with bias [33] and w [40, 1] broadcast, as GPT-2's Add + Mul chains but with both
// operands broadcasting along different dims.
ModelBuilder bias_scale_relu_model() {
  ModelBuilder b(17);
  b.input("x", kFloat, {"batch", 40, 33});
  b.output("y", kFloat, {"batch", 40, 33});
  b.initializer("bias", {33}, values(33, -1, 1, 7));
  b.initializer("w", {40, 1}, values(40, -2, 2, 9));
  b.node("Add", {"x", "bias"}, {"t"}, "add");
  b.node("Mul", {"t", "w"}, {"u"}, "mul");
  b.node("Relu", {"u"}, {"y"}, "relu");
  return b;
}

TEST(ElementwiseChainPass, BiasScaleReluBecomesOneNodeWithBroadcastInputs) {
  const Graph g = optimized(bias_scale_relu_model());
  auto counts = op_counts(g);
  EXPECT_EQ(counts["ElementwiseChain"], 1);
  EXPECT_EQ(counts["*"], 1);
  EXPECT_EQ(find_op(g, "ElementwiseChain")->inputs.size(), 3u);
}

TEST(ElementwiseChainValues, BroadcastInputsAcrossBlockEdges) {
  const int64_t batch = 3, rows = 40, cols = 33;
  const std::vector<float> x = values(batch * rows * cols, -3, 3, 5);
  const std::vector<float> bias = values(33, -1, 1, 7), w = values(40, -2, 2, 9);
  std::vector<double> want(x.size());
  for (int64_t i = 0; i < batch; ++i) {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        const size_t k = static_cast<size_t>((i * rows + r) * cols + c);
        const double u = (static_cast<double>(x[k]) + bias[c]) * w[r];
        want[k] = u < 0 ? 0 : u;
      }
    }
  }
  const std::vector<Input> in = {{"x", Tensor::from_vector<float>({batch, rows, cols}, x)}};
  expect_close(run(bias_scale_relu_model(), in), want);
}

// Rows of 700 (more than one block, so blocks follow the rows): w [rows, 1] is one scalar
// per row, b [700] a pointer into its row; the int64 mask of 2 x 700 is converted per block.
TEST(ElementwiseChainValues, LongRowsReadBroadcastInputsInPlace) {
  ModelBuilder b(17);
  b.input("x", kFloat, {"rows", 700});
  b.input("w", kFloat, {"rows", 1});
  b.output("y", kFloat, {"rows", 700});
  b.initializer("b", {700}, values(700, -1, 1, 31));
  b.node("Mul", {"x", "w"}, {"t"});
  b.node("Add", {"t", "b"}, {"u"});
  b.node("Relu", {"u"}, {"y"});
  EXPECT_EQ(op_counts(optimized(b))["*"], 1);
  const int64_t rows = 5, cols = 700;
  const std::vector<float> x = values(rows * cols, -2, 2, 32), w = values(rows, -1, 1, 33), bias = values(700, -1, 1, 31);
  std::vector<double> want(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const double u = static_cast<double>(x[r * cols + c]) * w[r] + bias[c];
      want[r * cols + c] = u < 0 ? 0 : u;
    }
  }
  expect_close(run(b, {{"x", Tensor::from_vector<float>({rows, cols}, x)}, {"w", Tensor::from_vector<float>({rows, 1}, w)}}),
               want);

  std::vector<int64_t> mask(2 * 700);
  std::vector<double> mask_want(mask.size());
  for (size_t i = 0; i < mask.size(); ++i) {
    mask[i] = (i * 7919) % 3 == 0 ? 0 : 1;
    mask_want[i] = mask[i] ? 0.0 : -10000.0;
  }
  expect_close(run(bert_mask_model(), {{"mask", Tensor::from_vector<int64_t>({2, 1, 1, 700}, mask)}}), mask_want, 0, 0);
}

// Sixteen batch rows of 40 x 500 elements: 960k element-instructions, enough for the
// kernel to split its blocks over OpenMP threads.
TEST(ElementwiseChainValues, LargeTensorSplitOverThreadsMatchesScalarLoop) {
  ModelBuilder b(17);
  b.input("x", kFloat, {"batch", 40, 500});
  b.input("m", kFloat, {"batch", 1, 500});
  b.output("y", kFloat, {"batch", 40, 500});
  b.initializer("half", {}, {0.5f});
  b.node("Sigmoid", {"x"}, {"s"});
  b.node("Mul", {"x", "s"}, {"swish"});  // x * sigmoid(x): x is read twice, from outside the chain
  b.node("Sub", {"swish", "m"}, {"d"});
  b.node("Mul", {"d", "half"}, {"y"});
  EXPECT_EQ(op_counts(optimized(b))["*"], 1);
  const int64_t batch = 16, rows = 40, cols = 500;
  const std::vector<float> x = values(batch * rows * cols, -8, 8, 3), m = values(batch * cols, -1, 1, 4);
  std::vector<double> want(x.size());
  for (int64_t i = 0; i < batch; ++i) {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        const size_t k = static_cast<size_t>((i * rows + r) * cols + c);
        const double v = x[k];
        want[k] = (v / (1 + std::exp(-v)) - m[i * cols + c]) * 0.5;
      }
    }
  }
  const std::vector<Input> in = {{"x", Tensor::from_vector<float>({batch, rows, cols}, x)},
                                 {"m", Tensor::from_vector<float>({batch, 1, cols}, m)}};
  expect_close(run(b, in), want, 1e-5, 1e-6);
}

// One chain through every continuous op the pass takes, against a scalar loop in double.
TEST(ElementwiseChainValues, EveryOpMatchesItsFormula) {
  ModelBuilder b(17);
  b.input("x", kFloat, {"n"});
  b.input("z", kFloat, {"n"});
  b.output("y", kFloat, {"n"});
  b.initializer("lo", {}, {-2.0f});
  b.initializer("hi", {}, {2.5f});
  b.initializer("two", {}, {2.0f});
  b.initializer("three", {}, {3.0f});
  b.initializer("p", {}, {1.5f});
  b.initializer("c", {}, {0.25f});
  b.node("Tanh", {"x"}, {"a1"});
  b.node("Mul", {"a1", "three"}, {"a2"});
  b.node("Exp", {"a2"}, {"a3"});
  b.node("Sqrt", {"a3"}, {"a4"});
  b.node("Log", {"a4"}, {"a5"});  // 1.5 tanh(x)
  b.node("Erf", {"a5"}, {"a6"});
  b.node("Add", {"a6", "z"}, {"a7"});
  b.node("Clip", {"a7", "lo", "hi"}, {"a8"});
  b.node("Neg", {"a8"}, {"a9"});
  b.node("Abs", {"a9"}, {"a10"});
  b.node("Pow", {"a10", "p"}, {"a11"});
  b.node("Pow", {"a11", "two"}, {"a12"});
  b.node("Sigmoid", {"a12"}, {"a13"});
  float_attr(b.node("LeakyRelu", {"z"}, {"l1"}), "alpha", 0.3f);
  float_attr(b.node("HardSigmoid", {"l1"}, {"l2"}), "alpha", 0.4f);
  b.node("HardSwish", {"l2"}, {"l3"});
  b.node("Max", {"a13", "l3"}, {"a14"});
  b.node("Div", {"a14", "c"}, {"a15"});
  b.node("Min", {"a15", "three"}, {"a16"});
  b.node("Reciprocal", {"a16"}, {"a17"});
  b.node("Softsign", {"a17"}, {"y"});
  auto counts = op_counts(optimized(b));
  EXPECT_EQ(counts["ElementwiseChain"], 1);
  EXPECT_EQ(counts["*"], 1);

  const size_t n = 1000;
  const std::vector<float> x = values(n, -2, 2, 11), z = values(n, -3, 3, 12);
  auto clamp = [](double v, double lo, double hi) { return std::min(std::max(v, lo), hi); };
  std::vector<double> want(n);
  for (size_t i = 0; i < n; ++i) {
    const double a5 = std::log(std::sqrt(std::exp(std::tanh(static_cast<double>(x[i])) * 3)));
    const double a8 = clamp(std::erf(a5) + z[i], -2.0, 2.5);
    const double a13 = 1 / (1 + std::exp(-std::pow(std::pow(std::fabs(-a8), 1.5), 2)));
    const double l1 = z[i] < 0 ? 0.3 * z[i] : z[i];
    const double l2 = clamp(0.4 * l1 + 0.5, 0, 1);
    const double l3 = l2 * clamp(l2 / 6 + 0.5, 0, 1);
    const double a17 = 1 / std::min(std::max(a13, l3) / 0.25, 3.0);
    want[i] = a17 / (1 + std::fabs(a17));
  }
  const std::vector<Input> in = {{"x", Tensor::from_vector<float>({static_cast<int64_t>(n)}, x)},
                                 {"z", Tensor::from_vector<float>({static_cast<int64_t>(n)}, z)}};
  expect_close(run(b, in), want, 2e-5, 1e-6);
}

// floor(1 / x) + ceil(4 x): x is read by both branches of the tree.
TEST(ElementwiseChainValues, RoundingOpsMatchTheirFormula) {
  ModelBuilder b(17);
  b.input("x", kFloat, {"n"});
  b.output("y", kFloat, {"n"});
  b.initializer("four", {}, {4.0f});
  b.node("Reciprocal", {"x"}, {"r"});
  b.node("Floor", {"r"}, {"f"});
  b.node("Mul", {"x", "four"}, {"m"});
  b.node("Ceil", {"m"}, {"c"});
  b.node("Add", {"f", "c"}, {"y"});
  EXPECT_EQ(op_counts(optimized(b))["*"], 1);
  const size_t n = 700;
  const std::vector<float> x = values(n, 0.1f, 3, 13);
  const std::vector<float> got = run(b, {{"x", Tensor::from_vector<float>({static_cast<int64_t>(n)}, x)}});
  ASSERT_EQ(got.size(), n);
  int checked = 0;
  for (size_t i = 0; i < n; ++i) {
    const double r = 1.0 / x[i], m = 4.0 * x[i];
    // Away from the integers, where float and double rounding could fall on either side.
    if (std::fabs(r - std::round(r)) < 1e-4 || std::fabs(m - std::round(m)) < 1e-4) continue;
    ++checked;
    EXPECT_EQ(got[i], std::floor(r) + std::ceil(m)) << "x = " << x[i];
  }
  EXPECT_GT(checked, 690);
}

TEST(ElementwiseChainPass, IntermediateWithTwoReadersOrGraphOutputEndsTheChain) {
  ModelBuilder b(17);
  b.input("x", kFloat, {"batch", 4});
  b.output("y1", kFloat, {"batch", 4});
  b.output("y2", kFloat, {"batch", 4});
  b.initializer("two", {}, {2.0f});
  b.node("Exp", {"x"}, {"t"});
  b.node("Mul", {"t", "two"}, {"y1"});
  b.node("Add", {"t", "two"}, {"y2"});
  auto counts = op_counts(optimized(b));
  EXPECT_EQ(counts["ElementwiseChain"], 0);
  EXPECT_EQ(counts["Exp"], 1);
  EXPECT_EQ(counts["Mul"], 1);
  EXPECT_EQ(counts["Add"], 1);

  ModelBuilder out(17);
  out.input("x", kFloat, {"batch", 4});
  out.output("t", kFloat, {"batch", 4});
  out.output("y", kFloat, {"batch", 4});
  out.node("Exp", {"x"}, {"t"});
  out.node("Neg", {"t"}, {"y"});
  EXPECT_EQ(op_counts(optimized(out))["ElementwiseChain"], 0);
}

// A node whose output is larger than each operand (an outer product), and a node whose
// reader broadcasts it up to a larger tensor, stay out: fused, the small work would be
// redone for every element of the large output.
TEST(ElementwiseChainPass, NoChainGrowsAnIntermediate) {
  ModelBuilder outer(17);
  outer.input("a", kFloat, {3, 1});
  outer.input("b", kFloat, {1, 4});
  outer.output("y", kFloat, {3, 4});
  outer.node("Add", {"a", "b"}, {"s"});
  outer.node("Relu", {"s"}, {"y"});
  auto counts = op_counts(optimized(outer));
  EXPECT_EQ(counts["ElementwiseChain"], 0);
  EXPECT_EQ(counts["Add"], 1);

  // scores [batch, 2, 4, 4] + (1 - mask) [batch, 1, 1, 4], then Relu: only Add -> Relu fuse.
  ModelBuilder mask(17);
  mask.input("scores", kFloat, {"batch", 2, 4, 4});
  mask.input("mask", kFloat, {"batch", 1, 1, 4});
  mask.output("y", kFloat, {"batch", 2, 4, 4});
  mask.initializer("one", {}, {1.0f});
  mask.node("Sub", {"one", "mask"}, {"inv"});
  mask.node("Add", {"scores", "inv"}, {"s"});
  mask.node("Relu", {"s"}, {"y"});
  const Graph g = optimized(mask);
  counts = op_counts(g);
  EXPECT_EQ(counts["Sub"], 1);
  EXPECT_EQ(counts["ElementwiseChain"], 1);
  EXPECT_EQ(find_op(g, "ElementwiseChain")->find_attribute("source_nodes")->strings.size(), 2u);

  const std::vector<float> scores = values(2 * 2 * 4 * 4, -2, 2, 21), m = {1, 0, 1, 1, 0, 1, 1, 0};
  std::vector<double> want(scores.size());
  for (size_t k = 0; k < scores.size(); ++k) {
    const size_t bi = k / 32, col = k % 4;
    const double v = scores[k] + (1.0 - m[bi * 4 + col]);
    want[k] = v < 0 ? 0 : v;
  }
  expect_close(run(mask, {{"scores", Tensor::from_vector<float>({2, 2, 4, 4}, scores)},
                          {"mask", Tensor::from_vector<float>({2, 1, 1, 4}, m)}}),
               want);
}

// fuse_gelu's kiln::Gelu joins a chain; its source nodes carry over into the chain's.
TEST(ElementwiseChainPass, FusedGeluJoinsAChainWithItsSourceNodes) {
  ModelBuilder b(14);
  b.input("x", kFloat, {"batch", 4});
  b.output("y", kFloat, {"batch", 4});
  b.initializer("sqrt2", {}, {1.4142135f});
  b.initializer("one", {}, {1.0f});
  b.initializer("half", {}, {0.5f});
  b.initializer("scale", {4}, {1, -1, 2, 0.5f});
  b.node("Div", {"x", "sqrt2"}, {"d"}, "div");
  b.node("Erf", {"d"}, {"e"}, "erf");
  b.node("Add", {"e", "one"}, {"a"}, "add");
  b.node("Mul", {"x", "a"}, {"m"}, "mul");
  b.node("Mul", {"m", "half"}, {"g"}, "mul_half");
  b.node("Mul", {"g", "scale"}, {"y"}, "scale");
  const Graph g = optimized(b);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "ElementwiseChain");
  EXPECT_EQ(g.nodes[0].find_attribute("source_nodes")->strings,
            (std::vector<std::string>{"mul_half", "mul", "add", "erf", "div", "scale"}));
  const std::vector<float> x = {-3, -1.5f, -0.5f, 0, 0.25f, 1, 2.5f, 4};
  std::vector<double> want(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    want[i] = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))) * std::vector<double>{1, -1, 2, 0.5}[i % 4];
  }
  expect_close(run(b, {{"x", Tensor::from_vector<float>({2, 4}, x)}}), want, 1e-6, 1e-6);
}

// A plan file keeps the program: the loaded engine computes the same.
TEST(ElementwiseChainValues, PlanFileRoundTrip) {
  test::TempDir dir;
  test::write_file(dir.file("m.onnx"), bert_mask_model().bytes());
  auto built = Engine::build_from_onnx(dir.file("m.onnx"), BuildOptions{});
  ASSERT_TRUE(built.is_ok()) << built.status().to_string();
  ASSERT_TRUE((*built)->save_plan(dir.file("m.plan")).is_ok());
  auto loaded = Engine::from_plan_file(dir.file("m.plan"));
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ((*loaded)->num_nodes(), 1u);
  auto ctx = (*loaded)->create_context();
  ASSERT_TRUE(ctx->set_input("mask", Tensor::from_vector<int64_t>({1, 1, 1, 3}, {0, 1, 0})).is_ok());
  ASSERT_TRUE(ctx->run().is_ok());
  const Tensor& y = ctx->outputs()[0];
  ASSERT_EQ(y.numel(), 3);
  EXPECT_EQ(y.data<float>()[0], -10000.0f);
  EXPECT_EQ(y.data<float>()[1], 0.0f);
  EXPECT_EQ(y.data<float>()[2], -10000.0f);
}

// A kiln::ElementwiseChain written directly into a model: y = clip(x * 2 - z, -1, 1).
ModelBuilder hand_written_chain(const std::vector<int64_t>& program, const std::vector<float>& immediates) {
  ModelBuilder b(17);
  b.opset_import("kiln", 1);
  b.input("x", kFloat, {2, 3});
  b.input("z", kFloat, {3});
  b.output("y", kFloat, {2, 3});
  onnx::NodeProto* n = b.node("ElementwiseChain", {"x", "z"}, {"y"}, "my_chain", "kiln");
  test::add_ints_attr(n, "program", program);
  floats_attr(n, "immediates", immediates);
  return b;
}

// Mul(x, imm 2) -> Sub(r2, z) -> Clip(r3, imm -1, imm 1): slots 0, 1 are x and z.
const std::vector<int64_t> kGoodProgram = {3, 0, -1, 0, 2, 2, 1, 0, 41, 3, -2, -3};
const std::vector<float> kGoodImmediates = {2.0f, -1.0f, 1.0f};

TEST(ElementwiseChainKernel, HandWrittenProgramRuns) {
  const std::vector<float> x = {0.1f, 0.9f, -0.3f, 2, -2, 0.5f}, z = {0.5f, 1, -1};
  std::vector<double> want(6);
  for (size_t i = 0; i < 6; ++i) want[i] = std::min(std::max(x[i] * 2.0 - z[i % 3], -1.0), 1.0);
  expect_close(run(hand_written_chain(kGoodProgram, kGoodImmediates),
                   {{"x", Tensor::from_vector<float>({2, 3}, x)}, {"z", Tensor::from_vector<float>({3}, z)}}),
               want);
}

TEST(ElementwiseChainKernel, CorruptedProgramIsAnErrorNamingTheNode) {
  const std::vector<std::pair<std::vector<int64_t>, std::string>> bad = {
      {{3, 0, -1}, "instructions of 4 ints"},                       // truncated
      {{}, "instructions of 4 ints"},                               // empty
      {{99, 0, 1, 0}, "unknown opcode 99"},                         //
      {{3, 0, 7, 0}, "names no input or earlier result"},           // slot past the inputs
      {{3, 0, 2, 0}, "names no input or earlier result"},           // reads its own result
      {{3, 0, -9, 0}, "names an immediate past the 3 given"},       //
      {{20, 0, 1, 0}, "must be 0"},                                 // Relu with a second operand
      {{41, 0, 1, -3}, "parameter and must be an immediate"},       // Clip bound from an input
      {{3, 0, std::numeric_limits<int64_t>::min(), 0}, "names an immediate past the 3 given"},
  };
  for (const auto& [program, message] : bad) {
    auto engine = test::load(hand_written_chain(program, kGoodImmediates));
    EXPECT_TRUE(test::error_mentions(engine, {"my_chain", "ElementwiseChain", message})) << message;
  }
  // Attributes of the wrong kind.
  ModelBuilder wrong_kind = hand_written_chain(kGoodProgram, kGoodImmediates);
  onnx::AttributeProto* program = wrong_kind.graph()->mutable_node(0)->mutable_attribute(0);
  program->set_type(onnx::AttributeProto::FLOATS);
  program->clear_ints();
  program->add_floats(3);
  EXPECT_TRUE(test::error_mentions(test::load(wrong_kind), {"my_chain", "program"}));
  // Nine results alive at once: more than the kernel's eight registers.
  std::vector<int64_t> wide;
  for (int k = 0; k < 9; ++k) wide.insert(wide.end(), {25, 0, 0, 0});  // Neg(x) nine times: slots 2 to 10
  int64_t sum = 2;
  for (int64_t j = 1; j < 9; ++j) {  // then their sum: instruction 8 + j writes slot 10 + j
    wide.insert(wide.end(), {1, sum, 2 + j, 0});
    sum = 10 + j;
  }
  EXPECT_TRUE(test::error_mentions(test::load(hand_written_chain(wide, {})), {"my_chain", "intermediate results"}));
}

}  // namespace
}  // namespace kiln
