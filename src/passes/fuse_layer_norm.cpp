// LayerNorm as PyTorch exports it below opset 17 (BERT, DistilBERT at opset 14):
//   m = ReduceMean(x); d = x - m; v = ReduceMean(d^2); y = d / Sqrt(v + eps) * gamma + beta
// over the last axis becomes one kiln::LayerNorm node: one kernel reading each row once
// (in cache) instead of nine passes over the tensor with three full-size temporaries.
//
// Why kiln::LayerNorm rather than ONNX LayerNormalization: these graphs import ai.onnx
// at opset 14, where LayerNormalization does not exist, and raising the model's opset to
// 17 would change the meaning of its other nodes. The kiln op has the attributes and
// the kernel of LayerNormalization-17 (registered to the same factory), so
// fuse_skip_layer_norm treats both alike.
#include "passes/fusion_util.h"
#include "passes/pass.h"
#include "passes/pattern_match.h"

namespace kiln {
namespace {

// The single node reading `value` when it is a default-domain `op_type` and `value` is
// not a graph output; -1 otherwise.
int sole_reader(const Graph& g, const PatternMatcher& pm, int value, const char* op_type) {
  const auto& readers = pm.consumers()[value];
  if (readers.size() != 1 || pm.is_graph_output(value)) return -1;
  const Node& node = g.nodes[readers[0]];
  return node.op_type == op_type && node.domain.empty() && node.outputs.size() == 1 ? readers[0] : -1;
}

// A ReduceMean over only the last axis of a rank-`rank` input, keeping that axis.
bool is_last_axis_mean(const Graph& g, const Node& node, int rank) {
  if (node.op_type != "ReduceMean" || !node.domain.empty() || rank < 1) return false;
  const Attribute* keep = node.find_attribute("keepdims");
  if (keep && keep->i != 1) return false;
  std::vector<int64_t> axes;
  if (const Attribute* a = node.find_attribute("axes")) {
    axes = a->ints;
  } else if (node.inputs.size() > 1 && node.inputs[1] != kNoValue) {  // opset 18: axes as an input
    const Value& v = g.values[node.inputs[1]];
    if (!v.is_constant()) return false;
    for (int64_t i = 0; i < v.constant.numel(); ++i) axes.push_back(static_cast<int64_t>(v.constant.get_as_double(i)));
  }
  return axes.size() == 1 && (axes[0] == -1 || axes[0] == rank - 1);
}

// gamma or beta: a float32 constant varying at most along the last axis, of size 1 or
// N, and of rank at most x's (a higher rank would broadcast x up).
bool is_row_parameter(const Graph& g, int value, int rank, int64_t n) {
  if (value == kNoValue) return false;
  const Value& v = g.values[value];
  if (!v.is_constant() || v.constant.dtype() != DType::kFloat32) return false;
  const Tensor& t = v.constant;
  if (t.rank() < 1 || static_cast<int>(t.rank()) > rank) return false;
  for (size_t d = 0; d + 1 < t.rank(); ++d) {
    if (t.dim(d) != 1) return false;
  }
  return t.dim(t.rank() - 1) == n || t.dim(t.rank() - 1) == 1;
}

struct LayerNormMatch {
  int x = kNoValue, gamma = kNoValue, beta = kNoValue;
  float epsilon = 0;
  int root = -1;             // the last node (Add of beta, or Mul of gamma); becomes the LayerNorm
  std::vector<int> removed;  // the other matched nodes
};

// The chain that starts at `sub` = x - ReduceMean(x).
bool match_layer_norm(const Graph& g, const PatternMatcher& pm, int sub, LayerNormMatch& m) {
  const Node& s = g.nodes[sub];
  if (s.inputs.size() != 2 || s.outputs.size() != 1) return false;
  const int x = s.inputs[0];
  const int rank = pm.rank(x);
  if (g.values[x].type.dtype != DType::kFloat32 || rank < 1) return false;
  const Dim last = (*g.values[x].type.shape)[rank - 1];
  if (!last.known()) return false;
  const int mean = pm.private_producer(s.inputs[1], "ReduceMean");
  if (mean < 0 || g.nodes[mean].inputs.empty() || g.nodes[mean].inputs[0] != x) return false;
  if (!is_last_axis_mean(g, g.nodes[mean], rank)) return false;
  // d = x - mean feeds exactly the square (Pow(d, 2) or Mul(d, d)) and the division.
  const int d = s.outputs[0];
  if (pm.is_graph_output(d)) return false;
  int square = -1, div = -1;
  for (int reader : pm.consumers()[d]) {
    const Node& r = g.nodes[reader];
    if (!r.domain.empty() || r.inputs.size() != 2 || r.outputs.size() != 1) return false;
    if (r.op_type == "Div" && r.inputs[0] == d && r.inputs[1] != d && div < 0) {
      div = reader;
    } else if (r.op_type == "Pow" && r.inputs[0] == d && pm.is_scalar(r.inputs[1], 2.0, rank) && square < 0) {
      square = reader;
    } else if (r.op_type == "Mul" && r.inputs[0] == d && r.inputs[1] == d && (square < 0 || square == reader)) {
      square = reader;  // listed twice: it reads d in both slots
    } else {
      return false;
    }
  }
  if (square < 0 || div < 0) return false;
  const int var = sole_reader(g, pm, g.nodes[square].outputs[0], "ReduceMean");
  if (var < 0 || g.nodes[var].inputs[0] != g.nodes[square].outputs[0] || !is_last_axis_mean(g, g.nodes[var], rank)) {
    return false;
  }
  const int add_eps = sole_reader(g, pm, g.nodes[var].outputs[0], "Add");
  if (add_eps < 0) return false;
  const int var_out = g.nodes[var].outputs[0];
  if (!pm.scalar_value(pm.other_input(g.nodes[add_eps], var_out), m.epsilon, rank)) return false;
  const int sqrt = sole_reader(g, pm, g.nodes[add_eps].outputs[0], "Sqrt");
  if (sqrt < 0 || sole_reader(g, pm, g.nodes[sqrt].outputs[0], "Div") != div) return false;
  if (g.nodes[div].inputs[1] != g.nodes[sqrt].outputs[0]) return false;
  const int div_out = g.nodes[div].outputs[0];
  const int mul = sole_reader(g, pm, div_out, "Mul");
  if (mul < 0) return false;
  m.gamma = pm.other_input(g.nodes[mul], div_out);
  if (!is_row_parameter(g, m.gamma, rank, last.value)) return false;
  m.x = x;
  m.removed = {mean, sub, square, var, add_eps, sqrt, div};
  m.root = mul;
  const int mul_out = g.nodes[mul].outputs[0];
  const int add_beta = sole_reader(g, pm, mul_out, "Add");
  if (add_beta >= 0) {
    const int beta = pm.other_input(g.nodes[add_beta], mul_out);
    if (is_row_parameter(g, beta, rank, last.value)) {
      m.beta = beta;
      m.removed.push_back(mul);
      m.root = add_beta;
    }
  }
  return true;
}

}  // namespace

Result<bool> fuse_layer_norm(Graph& graph, PassContext&) {
  const PatternMatcher pm(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  bool changed = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& sub = graph.nodes[n];
    if (sub.op_type != "Sub" || !sub.domain.empty() || dead[n]) continue;
    LayerNormMatch m;
    if (!match_layer_norm(graph, pm, static_cast<int>(n), m)) continue;
    bool taken = dead[m.root];
    for (int k : m.removed) taken = taken || dead[k];
    if (taken) continue;
    Node& root = graph.nodes[m.root];
    Attribute axis, epsilon, sources;
    axis.kind = Attribute::Kind::kInt;
    axis.i = -1;
    epsilon.kind = Attribute::Kind::kFloat;
    epsilon.f = m.epsilon;
    sources.kind = Attribute::Kind::kStrings;
    for (int k : m.removed) {
      sources.strings.push_back(graph.nodes[k].name);
      dead[k] = true;
    }
    sources.strings.push_back(root.name);
    root.op_type = "LayerNorm";
    root.domain = "kiln";
    root.inputs = {m.x, m.gamma};
    if (m.beta != kNoValue) root.inputs.push_back(m.beta);
    root.attributes = {{"axis", axis}, {"epsilon", epsilon}, {"source_nodes", sources}};
    changed = true;
  }
  if (changed) finish_fusion(graph, dead);
  return changed;
}

}  // namespace kiln
