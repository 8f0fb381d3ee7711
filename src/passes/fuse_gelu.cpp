// GELU as PyTorch exports it becomes one kiln::Gelu node (the semantics of ONNX Gelu-20,
// which models exported at opset < 20 cannot name):
//   erf form (nn.GELU; BERT, DistilBERT, ViT): x * (1 + erf(x / sqrt(2))) * 0.5
//   tanh form (GPT-2's NewGELU):  0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
// One vectorized pass over the tensor instead of five to eight, and a single node that
// fuse_matmul_activation can fold into the GEMM before it as a oneDNN post-op.
// The product of x, 0.5 and (1 + f) is matched in any association and operand order.
#include <cmath>

#include "passes/fusion_util.h"
#include "passes/pass.h"
#include "passes/pattern_match.h"

namespace kiln {
namespace {

struct GeluMatch {
  int x = kNoValue;
  const char* approximate = nullptr;
  std::vector<int> removed;  // every matched node but the root, which becomes the Gelu
};

// For a two-input node with a scalar constant close to `constant` on one side: the other
// input; kNoValue otherwise.
int beside_scalar(const PatternMatcher& pm, const Node& node, double constant) {
  if (node.inputs.size() != 2) return kNoValue;
  for (int i = 0; i < 2; ++i) {
    const int other = node.inputs[1 - i];
    if (other != kNoValue && pm.is_scalar(node.inputs[i], constant, pm.rank(other))) return other;
  }
  return kNoValue;
}

// erf's argument x / sqrt(2) (or x * 1/sqrt(2)), made of nodes read only by the chain.
bool match_erf_argument(const Graph& g, const PatternMatcher& pm, int arg, int x, GeluMatch& m) {
  if (const int d = pm.private_producer(arg, "Div"); d >= 0) {
    const Node& div = g.nodes[d];
    if (div.inputs.size() != 2 || div.inputs[0] != x || !pm.is_scalar(div.inputs[1], std::sqrt(2.0), pm.rank(x))) {
      return false;
    }
    m.removed.push_back(d);
    return true;
  }
  const int mu = pm.private_producer(arg, "Mul");
  if (mu < 0 || beside_scalar(pm, g.nodes[mu], 1.0 / std::sqrt(2.0)) != x) return false;
  m.removed.push_back(mu);
  return true;
}

// tanh's argument sqrt(2/pi) * (x + 0.044715 * Pow(x, 3)).
bool match_tanh_argument(const Graph& g, const PatternMatcher& pm, int arg, int x, GeluMatch& m) {
  const int scale = pm.private_producer(arg, "Mul");
  if (scale < 0) return false;
  const int sum_value = beside_scalar(pm, g.nodes[scale], 0.7978845608028654 /* sqrt(2/pi) */);
  const int sum = pm.private_producer(sum_value, "Add");
  if (sum < 0) return false;
  const int cubic_value = pm.other_input(g.nodes[sum], x);
  const int cubic = pm.private_producer(cubic_value, "Mul");
  if (cubic < 0) return false;
  const int pow = pm.private_producer(beside_scalar(pm, g.nodes[cubic], 0.044715), "Pow");
  if (pow < 0) return false;
  const Node& p = g.nodes[pow];
  if (p.inputs.size() != 2 || p.inputs[0] != x || !pm.is_scalar(p.inputs[1], 3.0, pm.rank(x))) return false;
  m.removed.insert(m.removed.end(), {scale, sum, cubic, pow});
  return true;
}

// `one_plus` = 1 + erf(...) or 1 + tanh(...) of x.
bool match_one_plus(const Graph& g, const PatternMatcher& pm, int one_plus, int x, GeluMatch& m) {
  const int add = pm.private_producer(one_plus, "Add");
  if (add < 0) return false;
  const int f = beside_scalar(pm, g.nodes[add], 1.0);
  const size_t mark = m.removed.size();
  m.removed.push_back(add);
  bool ok = false;
  if (const int e = pm.private_producer(f, "Erf"); e >= 0) {
    m.removed.push_back(e);
    m.approximate = "none";
    ok = match_erf_argument(g, pm, g.nodes[e].inputs[0], x, m);
  } else if (const int t = pm.private_producer(f, "Tanh"); t >= 0) {
    m.removed.push_back(t);
    m.approximate = "tanh";
    ok = match_tanh_argument(g, pm, g.nodes[t].inputs[0], x, m);
  }
  if (!ok) m.removed.resize(mark);
  return ok;
}

// The GELU whose last node is the Mul `root`: its two inputs plus those of one inner Mul
// (read only by the root) are x, 0.5 and 1 + f(x).
bool match_gelu(const Graph& g, const PatternMatcher& pm, int root, GeluMatch& m) {
  const Node& r = g.nodes[root];
  if (r.inputs.size() != 2 || r.outputs.size() != 1) return false;
  const int out_rank = pm.rank(r.outputs[0]);
  for (int i = 0; i < 2; ++i) {
    const int inner = pm.private_producer(r.inputs[i], "Mul");
    if (inner < 0 || g.nodes[inner].inputs.size() != 2) continue;
    const int factors[3] = {g.nodes[inner].inputs[0], g.nodes[inner].inputs[1], r.inputs[1 - i]};
    for (int half = 0; half < 3; ++half) {
      if (!pm.is_scalar(factors[half], 0.5, out_rank)) continue;
      const int p = factors[(half + 1) % 3], q = factors[(half + 2) % 3];
      for (const auto& [x, one_plus] : {std::pair{p, q}, std::pair{q, p}}) {
        if (x == kNoValue || g.values[x].type.dtype != DType::kFloat32) continue;
        m = GeluMatch{x, nullptr, {inner}};
        if (match_one_plus(g, pm, one_plus, x, m)) return true;
      }
    }
  }
  return false;
}

}  // namespace

Result<bool> fuse_gelu(Graph& graph, PassContext&) {
  const PatternMatcher pm(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  bool changed = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& root = graph.nodes[n];
    if (root.op_type != "Mul" || !root.domain.empty() || dead[n]) continue;
    GeluMatch m;
    if (!match_gelu(graph, pm, static_cast<int>(n), m)) continue;
    bool taken = false;
    for (int k : m.removed) taken = taken || dead[k];
    if (taken) continue;
    Attribute sources, approximate;
    sources.kind = Attribute::Kind::kStrings;
    sources.strings = {root.name};
    for (int k : m.removed) {
      sources.strings.push_back(graph.nodes[k].name);
      dead[k] = true;
    }
    approximate.kind = Attribute::Kind::kString;
    approximate.s = m.approximate;
    root.op_type = "Gelu";
    root.domain = "kiln";
    root.inputs = {m.x};
    root.attributes = {{"approximate", approximate}, {"source_nodes", sources}};
    changed = true;
  }
  if (changed) finish_fusion(graph, dead);
  return changed;
}

}  // namespace kiln
