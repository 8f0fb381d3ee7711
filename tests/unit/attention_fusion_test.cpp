// fuse_attention and kiln::Attention: the attention cores of BERT, DistilBERT and GPT-2
// exports (built here with the same node patterns) become one Attention node, the pass
// can be turned off by name, and the fused engine computes what the unfused one does and
// what an independent reference does: numpy values written in for a small causal case,
// and for the rest a plain loop below that follows the ONNX graph (float scores, masks,
// softmax in double), sharing nothing with the kernel.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <thread>

#include "kiln/engine.h"
#include "onnx/model_importer.h"
#include "passes/pipeline.h"
#include "unit/attention_reference.h"
#include "unit/model_builder.h"

namespace kiln {
namespace {

using test::ModelBuilder;
using test::Problem;
using test::expect_near;
using test::merge_heads;
using test::project;
using test::random_values;
using test::reference;

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;
constexpr int32_t kInt64 = onnx::TensorProto::INT64;
constexpr float kMin = std::numeric_limits<float>::lowest();  // torch.finfo(float32).min

// GPT-2's `bias` buffer: a [1, 1, n, n] lower-triangular bool constant.
void causal_buffer(ModelBuilder& b, const std::string& name, int64_t n) {
  onnx::TensorProto* t = b.graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::BOOL);
  for (int64_t d : {int64_t{1}, int64_t{1}, n, n}) t->add_dims(d);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) t->add_int32_data(j <= i ? 1 : 0);
  }
}

// dim `axis` (negative) of `x` as a scalar, the way the exporter computes sizes.
std::string size_of(ModelBuilder& b, const std::string& x, int64_t axis, const std::string& out) {
  test::int64_constant(b, out + "_s", {1}, {axis});
  test::int64_constant(b, out + "_e", {1}, {axis == -1 ? std::numeric_limits<int64_t>::max() : axis + 1});
  test::int64_constant(b, out + "_a", {1}, {0});
  b.node("Shape", {x}, {out + "_shape"});
  b.node("Slice", {out + "_shape", out + "_s", out + "_e", out + "_a"}, {out + "_1"});
  b.node("Squeeze", {out + "_1", out + "_a"}, {out});
  return out;
}

// attention_mask [B, Sk] int64 -> (1 - mask) * fill as [B, 1, 1, Sk] float.
void additive_padding_mask(ModelBuilder& b, float fill, const std::string& out) {
  test::int64_constant(b, "mask_axes", {2}, {1, 2});
  b.initializer("one", {}, {1.0f});
  b.initializer("mask_fill", {}, {fill});
  b.node("Unsqueeze", {"attention_mask", "mask_axes"}, {"mask4"});
  onnx::NodeProto* cast = b.node("Cast", {"mask4"}, {"mask4f"});
  test::add_int_attr(cast, "to", onnx::TensorProto::FLOAT);
  b.node("Sub", {"one", "mask4f"}, {"inverted"});
  b.node("Mul", {"inverted", "mask_fill"}, {out});
}

// GPT-2's core on given Q, K, V [B, H, S*, D] (K also as K^T, the exporter's second
// Transpose), scale 1/sqrt(D) computed from V's shape, causal slice of an n x n buffer
// at rows [Sk - Sq, Sk), padding mask of finfo.min, and float -> float Casts.
void gpt2_core(ModelBuilder& b, const std::string& q, const std::string& k, const std::string& kt,
               const std::string& v, const std::string& y, int64_t buffer) {
  b.node("MatMul", {q, kt}, {"scores"}, "qk");
  size_of(b, v, -1, "head_dim");
  onnx::NodeProto* c = b.node("Cast", {"head_dim"}, {"head_dim_f"});
  test::add_int_attr(c, "to", onnx::TensorProto::FLOAT);
  b.initializer("half", {}, {0.5f});
  b.node("Pow", {"head_dim_f", "half"}, {"divisor"});
  b.node("Div", {"scores", "divisor"}, {"scaled"}, "scale");
  c = b.node("Cast", {"scaled"}, {"scaled_f"});
  test::add_int_attr(c, "to", onnx::TensorProto::FLOAT);
  causal_buffer(b, "bias", buffer);
  size_of(b, q, -2, "query_length");
  size_of(b, k, -2, "key_length");
  test::int64_constant(b, "zero1", {1}, {0});
  test::int64_constant(b, "axis2", {1}, {2});
  test::int64_constant(b, "axis3", {1}, {3});
  test::int64_constant(b, "step1", {1}, {1});
  b.node("Sub", {"key_length", "query_length"}, {"row_start0"});
  b.node("Unsqueeze", {"row_start0", "zero1"}, {"row_start"});
  b.node("Unsqueeze", {"key_length", "zero1"}, {"row_end"});
  b.node("Slice", {"bias", "row_start", "row_end", "axis2", "step1"}, {"bias_rows"});
  b.node("Slice", {"bias_rows", "zero1", "row_end", "axis3", "step1"}, {"causal"});
  b.initializer("min_value", {}, {kMin});
  b.node("Where", {"causal", "scaled_f", "min_value"}, {"masked"}, "causal_where");
  additive_padding_mask(b, kMin, "padding");
  b.node("Add", {"masked", "padding"}, {"logits"}, "add_mask");
  b.node("Softmax", {"logits"}, {"weights"}, "softmax");
  c = b.node("Cast", {"weights"}, {"weights_f"});
  test::add_int_attr(c, "to", onnx::TensorProto::FLOAT);
  b.node("MatMul", {"weights_f", v}, {y}, "pv");
}

// GPT-2's core on inputs q [B, H, Sq, D], k and v [B, H, Sk, D], attention_mask [B, Sk].
ModelBuilder causal_core_model(int64_t depth) {
  ModelBuilder b(14);
  b.input("q", kFloat, {"batch", "heads", "q_len", depth});
  b.input("k", kFloat, {"batch", "heads", "k_len", depth});
  b.input("v", kFloat, {"batch", "heads", "k_len", depth});
  b.input("attention_mask", kInt64, {"batch", "k_len"});
  b.output("y", kFloat, {"batch", "heads", "q_len", depth});
  onnx::NodeProto* t = b.node("Transpose", {"k"}, {"kt"}, "k_transpose");
  test::add_ints_attr(t, "perm", {0, 1, 3, 2});
  gpt2_core(b, "q", "k", "kt", "v", "y", 64);
  return b;
}

// Projection weights of the two-layer-free test transformers: hidden 8 = 2 heads x 4.
struct Projections {
  std::vector<float> wq, wk, wv;  // [8, 8] each
};

// x [B, S, 8] -> Q, K, V projections, each Reshaped to [B, S, 2, 4] by a run-time shape
// (Shape/Gather/Concat, as exports write it) and Transposed: Q and V to [B, H, S, D], K
// to K^T by perm (0, 2, 3, 1), and (GPT-2) K also to [B, H, S, D] for its length. Then
// `core` ("bert" or "gpt2") and the merge back to [B, S, 8].
ModelBuilder projected_model(const Projections& w, const std::string& core) {
  ModelBuilder b(14);
  b.input("x", kFloat, {"batch", "seq", 8});
  b.input("attention_mask", kInt64, {"batch", "seq"});
  b.output("y", kFloat, {"batch", "seq", 8});
  test::int64_constant(b, "i0", {}, {0});
  test::int64_constant(b, "i1", {}, {1});
  test::int64_constant(b, "u0", {1}, {0});
  test::int64_constant(b, "heads", {1}, {2});
  test::int64_constant(b, "depth", {1}, {4});
  b.node("Shape", {"x"}, {"xs"});
  b.node("Gather", {"xs", "i0"}, {"bsz"});
  b.node("Gather", {"xs", "i1"}, {"len"});
  b.node("Unsqueeze", {"bsz", "u0"}, {"bsz1"});
  b.node("Unsqueeze", {"len", "u0"}, {"len1"});
  onnx::NodeProto* cat = b.node("Concat", {"bsz1", "len1", "heads", "depth"}, {"split_shape"});
  test::add_int_attr(cat, "axis", 0);
  for (const auto& [n, weights] : {std::pair<std::string, const std::vector<float>*>{"q", &w.wq}, {"k", &w.wk}, {"v", &w.wv}}) {
    b.initializer("W" + n, {8, 8}, *weights);
    b.node("MatMul", {"x", "W" + n}, {n + "_proj"});
    b.node("Reshape", {n + "_proj", "split_shape"}, {n + "_heads"});
  }
  test::add_ints_attr(b.node("Transpose", {"q_heads"}, {"q"}), "perm", {0, 2, 1, 3});
  test::add_ints_attr(b.node("Transpose", {"k_heads"}, {"kt"}), "perm", {0, 2, 3, 1});
  test::add_ints_attr(b.node("Transpose", {"v_heads"}, {"v"}), "perm", {0, 2, 1, 3});
  if (core == "gpt2") {
    test::add_ints_attr(b.node("Transpose", {"k_heads"}, {"k"}), "perm", {0, 2, 1, 3});
    gpt2_core(b, "q", "k", "kt", "v", "ctx", 64);
  } else {  // BERT: scores / sqrt(4) + (1 - mask) * -10000
    b.initializer("sqrt_depth", {}, {2.0f});
    b.node("MatMul", {"q", "kt"}, {"scores"}, "qk");
    b.node("Div", {"scores", "sqrt_depth"}, {"scaled"}, "scale");
    additive_padding_mask(b, -10000.0f, "padding");
    b.node("Add", {"scaled", "padding"}, {"logits"}, "add_mask");
    b.node("Softmax", {"logits"}, {"weights"}, "softmax");
    b.node("MatMul", {"weights", "v"}, {"ctx"}, "pv");
  }
  test::add_ints_attr(b.node("Transpose", {"ctx"}, {"ctx_t"}), "perm", {0, 2, 1, 3});
  test::int64_constant(b, "merge_shape", {3}, {0, 0, 8});
  b.node("Reshape", {"ctx_t", "merge_shape"}, {"y"});
  return b;
}

// BERT's core on q [B, H, Sq, D], kt [B, H, D, Sk] (as BERT's Transpose (0, 2, 3, 1)
// leaves it) or k [B, H, Sk, D], v [B, H, Sk, D], and a float additive mask input of
// `mask_dims`: MatMul, Div by 2, Add, Softmax, MatMul.
ModelBuilder additive_core_model(const std::vector<test::DimSpec>& mask_dims, bool k_given_transposed) {
  ModelBuilder b(14);
  b.input("q", kFloat, {"batch", "heads", "q_len", 4});
  if (k_given_transposed) {
    b.input("kt", kFloat, {"batch", "heads", 4, "k_len"});
  } else {
    b.input("k", kFloat, {"batch", "heads", "k_len", 4});
    test::add_ints_attr(b.node("Transpose", {"k"}, {"kt"}), "perm", {0, 1, 3, 2});
  }
  b.input("v", kFloat, {"batch", "heads", "k_len", 3});
  b.input("mask", kFloat, mask_dims);
  b.output("y", kFloat, {"batch", "heads", "q_len", 3});
  b.initializer("two", {}, {2.0f});
  b.node("MatMul", {"q", "kt"}, {"scores"}, "qk");
  b.node("Div", {"scores", "two"}, {"scaled"}, "scale");
  b.node("Add", {"mask", "scaled"}, {"logits"}, "add_mask");  // mask first: Add commutes
  b.node("Softmax", {"logits"}, {"weights"}, "softmax");
  b.node("MatMul", {"weights", "v"}, {"y"}, "pv");
  return b;
}

// DistilBERT's core: Q divided by 2 before the MatMul, and
// Where(Expand(Reshape(attention_mask == 0, [B, 1, 1, Sk]), Shape(scores)), min, scores).
ModelBuilder where_mask_core_model() {
  ModelBuilder b(14);
  b.input("q", kFloat, {"batch", "heads", "q_len", 4});
  b.input("k", kFloat, {"batch", "heads", "k_len", 4});
  b.input("v", kFloat, {"batch", "heads", "k_len", 4});
  b.input("attention_mask", kInt64, {"batch", "k_len"});
  b.output("y", kFloat, {"batch", "heads", "q_len", 4});
  b.initializer("two", {}, {2.0f});
  b.initializer("min_value", {}, {kMin});
  test::int64_constant(b, "zero", {}, {0});
  test::int64_constant(b, "mask_shape", {4}, {0, 1, 1, -1});
  b.node("Div", {"q", "two"}, {"q_scaled"}, "prescale");
  test::add_ints_attr(b.node("Transpose", {"k"}, {"kt"}), "perm", {0, 1, 3, 2});
  b.node("MatMul", {"q_scaled", "kt"}, {"scores"}, "qk");
  b.node("Equal", {"attention_mask", "zero"}, {"padded"});
  b.node("Reshape", {"padded", "mask_shape"}, {"padded4"});
  b.node("Shape", {"scores"}, {"scores_shape"});
  b.node("Expand", {"padded4", "scores_shape"}, {"padded_full"});
  onnx::NodeProto* c = b.node("Cast", {"padded_full"}, {"padded_cast"});
  test::add_int_attr(c, "to", onnx::TensorProto::BOOL);
  b.node("Where", {"padded_cast", "min_value", "scores"}, {"masked"}, "where");
  b.node("Softmax", {"masked"}, {"weights"}, "softmax");
  b.node("MatMul", {"weights", "v"}, {"y"}, "pv");
  return b;
}

std::map<std::string, int> op_counts(const ModelBuilder& b, const BuildOptions& options = {}) {
  Result<Graph> g = import_onnx_bytes(b.bytes(), "", "attention_test.onnx");
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  std::map<std::string, int> counts;
  if (!g.is_ok()) return counts;
  Status s = optimize_graph(*g, options);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  for (const Node& n : g->nodes) ++counts[n.op_type];
  return counts;
}

// The optimized graph's Attention node (fails the test when there is not exactly one).
Node attention_node(const ModelBuilder& b) {
  Result<Graph> g = import_onnx_bytes(b.bytes(), "", "attention_test.onnx");
  EXPECT_TRUE(g.is_ok() && optimize_graph(*g, {}).is_ok());
  std::vector<Node> found;
  if (g.is_ok()) {
    for (const Node& n : g->nodes) {
      if (n.op_type == "Attention") found.push_back(n);
    }
  }
  EXPECT_EQ(found.size(), 1u);
  return found.empty() ? Node{} : found[0];
}

std::shared_ptr<Engine> build(const ModelBuilder& b, bool fused) {
  test::TempDir dir;
  test::write_file(dir.file("m.onnx"), b.bytes());
  BuildOptions options;
  if (!fused) options.disabled_passes = {"fuse_attention"};
  auto engine = Engine::build_from_onnx(dir.file("m.onnx"), options);
  EXPECT_TRUE(engine.is_ok()) << engine.status().to_string();
  return engine.is_ok() ? *engine : nullptr;
}

std::vector<float> run(const std::shared_ptr<Engine>& engine, const std::map<std::string, Tensor>& inputs) {
  if (!engine) return {};
  auto ctx = engine->create_context();
  for (const auto& [name, t] : inputs) EXPECT_TRUE(ctx->set_input(name, t).is_ok()) << name;
  Status s = ctx->run();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  if (!s.is_ok()) return {};
  const Tensor& y = ctx->outputs()[0];
  return std::vector<float>(y.data<float>(), y.data<float>() + y.numel());
}

// [B, H, S, D] -> [B, H, D, S]
std::vector<float> transpose_last_two(const std::vector<float>& x, int64_t bh, int64_t s, int64_t d) {
  std::vector<float> t(x.size());
  for (int64_t n = 0; n < bh; ++n) {
    for (int64_t i = 0; i < s; ++i) {
      for (int64_t c = 0; c < d; ++c) t[(n * d + c) * s + i] = x[(n * s + i) * d + c];
    }
  }
  return t;
}

Tensor int64_tensor(const Shape& shape, const std::vector<int64_t>& v) { return Tensor::from_vector<int64_t>(shape, v); }

// Padding masks [B, Sk] as 0/1 with the padding in `mask`, and the matching additive form.
std::vector<float> padding_as_additive(const std::vector<int64_t>& mask) {
  std::vector<float> m;
  for (int64_t x : mask) m.push_back((1.0f - static_cast<float>(x)) * kMin);
  return m;
}

Projections random_projections(uint32_t seed) {
  return {random_values(64, seed, -0.5f, 0.5f), random_values(64, seed + 1, -0.5f, 0.5f),
          random_values(64, seed + 2, -0.5f, 0.5f)};
}

// Both projected models on x [2, 9, 8], the second sequence padded (GPT-2: on the left,
// so its first query sees only padding; BERT: on the right).
void check_projected_model(const std::string& core) {
  const Projections w = random_projections(11);
  const ModelBuilder b = projected_model(w, core);
  const int64_t batch = 2, seq = 9;
  const std::vector<float> x = random_values(batch * seq * 8, 5);
  std::vector<int64_t> mask(batch * seq, 1);
  for (int64_t i = 0; i < 3; ++i) mask[seq + (core == "gpt2" ? i : seq - 1 - i)] = 0;

  Problem p{batch, 2, seq, seq, 4, 4, project(x, w.wq, batch, seq), project(x, w.wk, batch, seq),
            project(x, w.wv, batch, seq), {}, {batch, 1, 1, seq}};
  p.divisor = 2.0f;
  p.causal = core == "gpt2";
  p.mask = padding_as_additive(mask);
  if (core != "gpt2") {
    for (float& m : p.mask) m = m == 0.0f ? 0.0f : -10000.0f;
  }
  const std::vector<float> want = merge_heads(reference(p), batch, seq);
  const std::map<std::string, Tensor> inputs{{"x", Tensor::from_vector<float>({batch, seq, 8}, x)},
                                             {"attention_mask", int64_tensor({batch, seq}, mask)}};
  const std::vector<float> fused = run(build(b, true), inputs);
  expect_near(fused, want, 2e-5f, core + " fused vs reference");
  expect_near(fused, run(build(b, false), inputs), 1e-5f, core + " fused vs unfused");
}

TEST(AttentionFusionBert, BertLikeGraphBecomesOneAttentionNode) {
  const ModelBuilder b = projected_model(random_projections(1), "bert");
  auto counts = op_counts(b);
  EXPECT_EQ(counts["Attention"], 1);
  EXPECT_EQ(counts["Softmax"], 0);
  EXPECT_EQ(counts["Div"], 0);
  EXPECT_EQ(counts["MatMul"], 3);  // the projections
  const Node n = attention_node(b);
  EXPECT_FLOAT_EQ(n.find_attribute("scale")->f, 0.5f);
  EXPECT_EQ(n.find_attribute("causal")->i, 0);
  EXPECT_EQ(n.find_attribute("k_transposed")->i, 1);  // K^T by perm (0, 2, 3, 1) is read as is
  EXPECT_EQ(n.find_attribute("source_nodes")->strings,
            (std::vector<std::string>{"qk", "scale", "add_mask", "softmax", "pv"}));
}

TEST(AttentionFusionBert, BertLikeGraphMatchesReferenceAndUnfused) { check_projected_model("bert"); }

TEST(AttentionFusionBert, PassCanBeDisabledByName) {
  const ModelBuilder b = projected_model(random_projections(1), "bert");
  BuildOptions off;
  off.disabled_passes = {"fuse_attention"};
  auto counts = op_counts(b, off);
  EXPECT_EQ(counts["Attention"], 0);
  EXPECT_EQ(counts["Softmax"], 1);
  EXPECT_EQ(counts["MatMul"], 5);
  EXPECT_EQ(build(b, false)->num_nodes(), build(b, true)->num_nodes() + 4);
}

TEST(AttentionFusionGpt2, Gpt2LikeGraphBecomesOneCausalAttentionNode) {
  const ModelBuilder b = projected_model(random_projections(1), "gpt2");
  BuildOptions no_chains;  // the mask's Cast -> Sub -> Mul would become one ElementwiseChain
  no_chains.disabled_passes = {"fuse_elementwise_chains"};
  auto counts = op_counts(b, no_chains);
  EXPECT_EQ(counts["Attention"], 1);
  // The causal Slices with their size arithmetic, and the scale's Pow, go with the chain.
  for (const char* gone : {"Softmax", "Where", "Slice", "Pow", "Div", "Squeeze"}) {
    EXPECT_EQ(counts[gone], 0) << gone;
  }
  EXPECT_EQ(counts["Cast"], 1);  // the padding mask's int64 -> float; the float -> float ones are gone
  const Node n = attention_node(b);
  EXPECT_EQ(n.find_attribute("causal")->i, 1);
  EXPECT_FLOAT_EQ(n.find_attribute("scale")->f, 0.5f);  // 1 / sqrt(4), from V's shape
  EXPECT_EQ(n.inputs.size(), 4u);                         // no bool mask: the Where is the causal flag
}

TEST(AttentionFusionGpt2, Gpt2LikeGraphMatchesReferenceAndUnfused) { check_projected_model("gpt2"); }

// Q [1, 2, 2, 2], K and V [1, 2, 3, 2] through the GPT-2 core; expected values from numpy
// (float32 throughout, f = np.finfo(np.float32).min):
//   s = (Q @ K.transpose(0, 1, 3, 2)) / np.sqrt(np.float32(2))
//   s = np.where(np.tril(np.ones((64, 64), bool))[None, None, 1:3, :3], s, f)
//   s = s + ((1 - mask) * f)[:, None, None, :];  p = softmax(s, -1);  y = p @ V
TEST(AttentionFusionGpt2, CausalCoreWithMoreKeysThanQueriesMatchesNumpy) {
  const ModelBuilder b = causal_core_model(2);
  EXPECT_EQ(attention_node(b).find_attribute("k_transposed")->i, 0);  // Transpose(k) absorbed
  const std::vector<float> q{0.5f, -1.0f, 1.5f, 0.25f, -0.75f, 2.0f, 1.0f, 1.0f};
  const std::vector<float> k{1.0f, 0.5f, -0.5f, 1.0f, 2.0f, -1.0f, 0.25f, 0.75f, -1.0f, 0.5f, 1.5f, 1.5f};
  const std::vector<float> v{1, 2, 3, 4, 5, 6, -1, 0.5f, 2, -2, 0, 1};
  const std::vector<std::pair<std::vector<int64_t>, std::vector<float>>> cases = {
      {{1, 1, 1}, {1.58474743f, 2.58474731f, 3.70710111f, 4.70710087f, 0.730186641f, -0.941822171f, -0.0563324094f, 0.718163252f}},
      {{1, 1, 0}, {1.58474743f, 2.58474731f, 1.36407542f, 2.36407542f, 0.730186641f, -0.941822171f, -0.22845006f, -0.142958283f}},
      {{0, 1, 1}, {3, 4, 4.8174386f, 5.8174386f, 2, -2, 0.155276999f, 0.76708442f}},
      // Query 0 sees only padding: every score is finfo.min, the hidden key too, so the
      // weights are uniform over all three keys, as in the unfused graph.
      {{0, 0, 1}, {3, 4, 5, 6, 0.333333343f, -0.166666657f, 0, 1}},
  };
  auto fused = build(b, true), unfused = build(b, false);
  for (const auto& [mask, want] : cases) {
    const std::map<std::string, Tensor> inputs{{"q", Tensor::from_vector<float>({1, 2, 2, 2}, q)},
                                               {"k", Tensor::from_vector<float>({1, 2, 3, 2}, k)},
                                               {"v", Tensor::from_vector<float>({1, 2, 3, 2}, v)},
                                               {"attention_mask", int64_tensor({1, 3}, mask)}};
    expect_near(run(fused, inputs), want, 1e-6f, "fused");
    expect_near(run(unfused, inputs), want, 1e-6f, "unfused");
  }
}

// Several row blocks of 32, Sq != Sk, left and right padding, 2 x 3 heads.
TEST(AttentionFusionGpt2, CausalCoreMatchesReferenceAcrossRowBlocks) {
  const ModelBuilder b = causal_core_model(16);
  auto fused = build(b, true), unfused = build(b, false);
  for (const auto& [sq, sk] : {std::pair<int64_t, int64_t>{40, 50}, {64, 64}, {1, 9}, {33, 33}}) {
    const int64_t batch = 2, heads = 3, d = 16;
    Problem p{batch, heads, sq, sk, d, d, random_values(batch * heads * sq * d, 1, -2, 2),
              random_values(batch * heads * sk * d, 2, -2, 2), random_values(batch * heads * sk * d, 3), {},
              {batch, 1, 1, sk}};
    p.divisor = 4.0f;
    p.causal = true;
    std::vector<int64_t> mask(batch * sk, 1);
    for (int64_t j = 0; j < std::min<int64_t>(5, sk - 1); ++j) mask[j] = 0;       // left padding
    for (int64_t j = sk - std::min<int64_t>(4, sk - 1); j < sk; ++j) mask[sk + j] = 0;  // right padding
    p.mask = padding_as_additive(mask);
    const std::map<std::string, Tensor> inputs{{"q", Tensor::from_vector<float>({batch, heads, sq, d}, p.q)},
                                               {"k", Tensor::from_vector<float>({batch, heads, sk, d}, p.k)},
                                               {"v", Tensor::from_vector<float>({batch, heads, sk, d}, p.v)},
                                               {"attention_mask", int64_tensor({batch, sk}, mask)}};
    const std::string what = "Sq " + std::to_string(sq) + " Sk " + std::to_string(sk);
    const std::vector<float> got = run(fused, inputs);
    expect_near(got, reference(p), 2e-5f, what + " fused vs reference");
    expect_near(got, run(unfused, inputs), 1e-5f, what + " fused vs unfused");
  }
}

// The parallel kernel (OpenMP teams with per-thread scratch) from two contexts at once.
TEST(AttentionFusionThreads, TwoContextsRunTheParallelKernelAtOnce) {
  const auto engine = build(causal_core_model(16), true);
  ASSERT_TRUE(engine);
  const int64_t batch = 1, heads = 4, sq = 70, sk = 70, d = 16;
  std::vector<Problem> problems;
  std::vector<std::map<std::string, Tensor>> inputs;
  for (uint32_t t = 0; t < 2; ++t) {
    Problem p{batch, heads, sq, sk, d, d, random_values(batch * heads * sq * d, 50 + t, -2, 2),
              random_values(batch * heads * sk * d, 60 + t, -2, 2), random_values(batch * heads * sk * d, 70 + t),
              std::vector<float>(sk, 0.0f), {batch, 1, 1, sk}};
    p.divisor = 4.0f;
    p.causal = true;
    inputs.push_back({{"q", Tensor::from_vector<float>({batch, heads, sq, d}, p.q)},
                      {"k", Tensor::from_vector<float>({batch, heads, sk, d}, p.k)},
                      {"v", Tensor::from_vector<float>({batch, heads, sk, d}, p.v)},
                      {"attention_mask", int64_tensor({batch, sk}, std::vector<int64_t>(sk, 1))}});
    problems.push_back(p);
  }
  std::vector<std::vector<float>> results[2];
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) results[t].push_back(run(engine, inputs[t]));
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < 2; ++t) {
    const std::vector<float> want = reference(problems[t]);
    for (const std::vector<float>& got : results[t]) expect_near(got, want, 2e-5f, "thread " + std::to_string(t));
  }
}

// Additive masks of every broadcast form, Sq = 5 != Sk = 7, D = 4, Dv = 3, with K given
// as [.., Sk, D] (Transpose absorbed) and as [.., D, Sk].
class AttentionFusionMasks : public ::testing::TestWithParam<std::tuple<Shape, bool>> {};

TEST_P(AttentionFusionMasks, AdditiveMaskBroadcastsLikeTheUnfusedAdd) {
  const auto& [mask_shape, k_given_transposed] = GetParam();
  std::vector<test::DimSpec> dims;
  for (int64_t d : mask_shape) dims.push_back(d);
  const ModelBuilder b = additive_core_model(dims, k_given_transposed);
  EXPECT_EQ(op_counts(b)["Attention"], 1);
  EXPECT_EQ(attention_node(b).find_attribute("k_transposed")->i, k_given_transposed ? 1 : 0);
  const int64_t batch = 2, heads = 3, sq = 5, sk = 7;
  int64_t mask_size = 1;
  for (int64_t d : mask_shape) mask_size *= d;
  Problem p{batch, heads, sq, sk, 4, 3, random_values(batch * heads * sq * 4, 21, -2, 2),
            random_values(batch * heads * sk * 4, 22, -2, 2), random_values(batch * heads * sk * 3, 23),
            random_values(static_cast<size_t>(mask_size), 24, -3, 3), mask_shape};
  p.divisor = 2.0f;
  std::map<std::string, Tensor> inputs{{"q", Tensor::from_vector<float>({batch, heads, sq, 4}, p.q)},
                                       {"v", Tensor::from_vector<float>({batch, heads, sk, 3}, p.v)},
                                       {"mask", Tensor::from_vector<float>(mask_shape, p.mask)}};
  if (k_given_transposed) {
    inputs["kt"] = Tensor::from_vector<float>({batch, heads, 4, sk}, transpose_last_two(p.k, batch * heads, sk, 4));
  } else {
    inputs["k"] = Tensor::from_vector<float>({batch, heads, sk, 4}, p.k);
  }
  const std::vector<float> got = run(build(b, true), inputs);
  expect_near(got, reference(p), 2e-5f, "fused vs reference");
  expect_near(got, run(build(b, false), inputs), 1e-5f, "fused vs unfused");
}

INSTANTIATE_TEST_SUITE_P(AttentionFusionMaskShapes, AttentionFusionMasks,
                         ::testing::Combine(::testing::Values(Shape{2, 1, 1, 7}, Shape{2, 1, 5, 7}, Shape{1, 1, 5, 7},
                                                              Shape{2, 3, 5, 7}, Shape{5, 7}, Shape{7}),
                                            ::testing::Bool()));

TEST(AttentionFusionWhere, DistilbertMaskFusesWithoutItsExpand) {
  const ModelBuilder b = where_mask_core_model();
  auto counts = op_counts(b);
  EXPECT_EQ(counts["Attention"], 1);
  for (const char* gone : {"Where", "Expand", "Shape", "Softmax", "Div", "Transpose", "Cast"}) {
    EXPECT_EQ(counts[gone], 0) << gone;
  }
  const Node n = attention_node(b);
  EXPECT_FLOAT_EQ(n.find_attribute("scale")->f, 0.5f);
  EXPECT_EQ(n.find_attribute("bool_mask_keeps")->i, 0);  // Where(padded, min, scores)
  EXPECT_EQ(n.inputs.size(), 5u);

  const int64_t batch = 2, heads = 2, sq = 6, sk = 6;
  Problem p{batch, heads, sq, sk, 4, 4, random_values(batch * heads * sq * 4, 31, -2, 2),
            random_values(batch * heads * sk * 4, 32, -2, 2), random_values(batch * heads * sk * 4, 33), {},
            {batch, 1, 1, sk}};
  p.divisor = 2.0f;
  const std::vector<int64_t> mask{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  p.mask = padding_as_additive(mask);  // score + min rounds to min: the Where's replacement
  const std::map<std::string, Tensor> inputs{{"q", Tensor::from_vector<float>({batch, heads, sq, 4}, p.q)},
                                             {"k", Tensor::from_vector<float>({batch, heads, sk, 4}, p.k)},
                                             {"v", Tensor::from_vector<float>({batch, heads, sk, 4}, p.v)},
                                             {"attention_mask", int64_tensor({batch, sk}, mask)}};
  const std::vector<float> got = run(build(b, true), inputs);
  expect_near(got, reference(p), 2e-5f, "fused vs reference");
  expect_near(got, run(build(b, false), inputs), 1e-5f, "fused vs unfused");
}

// A Where over a constant that is not lower triangular is no causal mask: it stays a
// bool mask input.
TEST(AttentionFusionWhere, NonCausalConstantConditionStaysABoolMask) {
  ModelBuilder b(14);
  b.input("q", kFloat, {1, 2, 3, 4});
  b.input("k", kFloat, {1, 2, 3, 4});
  b.input("v", kFloat, {1, 2, 3, 4});
  b.output("y", kFloat, {1, 2, 3, 4});
  onnx::TensorProto* cond = b.graph()->add_initializer();
  cond->set_name("cond");
  cond->set_data_type(onnx::TensorProto::BOOL);
  for (int64_t d : {1, 1, 3, 3}) cond->add_dims(d);
  for (int x : {1, 1, 0, 0, 1, 1, 1, 0, 1}) cond->add_int32_data(x);  // upper, not lower, triangle
  b.initializer("min_value", {}, {kMin});
  b.initializer("scale", {}, {0.5f});
  test::add_ints_attr(b.node("Transpose", {"k"}, {"kt"}), "perm", {0, 1, 3, 2});
  b.node("MatMul", {"q", "kt"}, {"scores"});
  b.node("Mul", {"scale", "scores"}, {"scaled"});
  b.node("Where", {"cond", "scaled", "min_value"}, {"masked"});
  b.node("Softmax", {"masked"}, {"weights"});
  b.node("MatMul", {"weights", "v"}, {"y"});
  const Node n = attention_node(b);
  EXPECT_EQ(n.find_attribute("causal")->i, 0);
  EXPECT_EQ(n.find_attribute("bool_mask_keeps")->i, 1);
  const std::map<std::string, Tensor> inputs{{"q", Tensor::from_vector<float>({1, 2, 3, 4}, random_values(24, 41))},
                                             {"k", Tensor::from_vector<float>({1, 2, 3, 4}, random_values(24, 42))},
                                             {"v", Tensor::from_vector<float>({1, 2, 3, 4}, random_values(24, 43))}};
  expect_near(run(build(b, true), inputs), run(build(b, false), inputs), 1e-6f, "fused vs unfused");
}

TEST(AttentionFusionLimits, ScoresReadOutsideTheChainAreNotFused) {
  ModelBuilder b = additive_core_model({2, 1, 1, 7}, true);
  b.output("scaled", kFloat, {"batch", "heads", "q_len", "k_len"});
  EXPECT_EQ(op_counts(b)["Attention"], 0);
}

// y = softmax(s) s with s = q k^T: V is the scores themselves, so the chain cannot vanish.
TEST(AttentionFusionLimits, ScoresUsedAsValuesAreNotFused) {
  ModelBuilder b(14);
  b.input("q", kFloat, {1, 2, 3, 4});
  b.input("kt", kFloat, {1, 2, 4, 3});
  b.output("y", kFloat, {1, 2, 3, 3});
  b.node("MatMul", {"q", "kt"}, {"scores"});
  b.node("Softmax", {"scores"}, {"weights"});
  b.node("MatMul", {"weights", "scores"}, {"y"});
  EXPECT_EQ(op_counts(b)["Attention"], 0);
}

TEST(AttentionFusionLimits, SoftmaxOverAnotherAxisIsNotFused) {
  ModelBuilder b = additive_core_model({2, 1, 1, 7}, true);
  for (onnx::NodeProto& n : *b.graph()->mutable_node()) {
    if (n.op_type() == "Softmax") test::add_int_attr(&n, "axis", 2);
  }
  EXPECT_EQ(op_counts(b)["Attention"], 0);
}

}  // namespace
}  // namespace kiln
