// A FusedConv adds its residual with oneDNN's sum post-op, which reads the residual from
// the output buffer: without this pass the kernel first copies the residual there. When
// nothing reads the residual after the conv (its other readers all run before it: in
// ResNet and MobileNetV2 the block's first conv), the conv may write over the residual
// instead; it then hands out its output as a view of that buffer, which the activation
// arena already tracks like any view (its lifetime extends to the output's last reader).
// Marks such convs with residual_in_place=1. Runs last: a later rewrite could add readers.
#include <unordered_set>

#include "ir/graph_edit.h"
#include "passes/pass.h"

namespace kiln {
namespace {

constexpr size_t kResidualInput = 3;

// Producers whose output is a buffer of its own (never a view of an input or a constant),
// except through this same in-place rewrite, whose safety composes.
bool writes_own_buffer(const Node& node) {
  if (node.domain == "kiln") {
    return node.op_type == "FusedConv" || node.op_type == "Reorder" || node.op_type == "ChannelsLastPool";
  }
  return node.domain.empty() && node.op_type == "Conv";
}

// Whether node `a` is an ancestor of node `b` (b depends on a's outputs, maybe transitively).
bool is_ancestor(const Graph& graph, int a, int b) {
  std::vector<int> stack{b};
  std::unordered_set<int> seen{b};
  while (!stack.empty()) {
    const int n = stack.back();
    stack.pop_back();
    for (int in : graph.nodes[n].inputs) {
      if (in == kNoValue) continue;
      const int p = graph.values[in].producer;
      if (p < 0 || !seen.insert(p).second) continue;
      if (p == a) return true;
      stack.push_back(p);
    }
  }
  return false;
}

bool can_overwrite(const Graph& graph, const std::vector<std::vector<int>>& consumers, int conv) {
  const Node& node = graph.nodes[conv];
  const int residual = node.inputs[kResidualInput];
  const Value& v = graph.values[residual];
  if (v.is_constant() || v.producer < 0 || is_graph_output(graph, residual)) return false;
  if (!writes_own_buffer(graph.nodes[v.producer])) return false;
  for (size_t slot = 0; slot < node.inputs.size(); ++slot) {
    if (slot != kResidualInput && node.inputs[slot] == residual) return false;  // read as X too
  }
  for (int reader : consumers[residual]) {
    if (reader != conv && !is_ancestor(graph, reader, conv)) return false;
  }
  return true;
}

}  // namespace

Result<bool> write_residual_in_place(Graph& graph, PassContext&) {
  const auto consumers = value_consumers(graph);
  bool changed = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& node = graph.nodes[n];
    if (node.op_type != "FusedConv" || node.domain != "kiln" || node.inputs.size() <= kResidualInput ||
        node.inputs[kResidualInput] == kNoValue || node.find_attribute("residual_in_place")) {
      continue;
    }
    if (!can_overwrite(graph, consumers, static_cast<int>(n))) continue;
    Attribute flag;
    flag.kind = Attribute::Kind::kInt;
    flag.i = 1;
    node.attributes["residual_in_place"] = flag;
    changed = true;
  }
  return changed;
}

}  // namespace kiln
