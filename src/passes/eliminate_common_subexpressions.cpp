// Nodes that compute the same thing (same op, domain, attributes and inputs) are merged:
// readers of the duplicate read the first node's outputs. PyTorch exports repeat the
// same Shape/Gather/Unsqueeze chains in every layer; after folding, many coincide.
#include <map>
#include <sstream>

#include "ir/graph_edit.h"
#include "ir/verifier.h"
#include "passes/pass.h"

namespace kiln {
namespace {

void append_tensor(std::ostringstream& key, const Tensor& t) {
  key << "T" << static_cast<int>(t.dtype()) << ":" << shape_to_string(t.shape()) << ":";
  key.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
}

// A byte string equal for two nodes exactly when they compute the same outputs.
std::string node_key(const Node& node) {
  std::ostringstream key;
  key << node.domain << '\0' << node.op_type << '\0';
  for (int in : node.inputs) key << in << ',';
  key << '|' << node.outputs.size() << '|';
  for (const auto& [name, a] : node.attributes) {  // std::map: a stable order
    key << name << '=' << static_cast<int>(a.kind) << ':';
    switch (a.kind) {
      case Attribute::Kind::kFloat: key << a.f; break;
      case Attribute::Kind::kInt: key << a.i; break;
      case Attribute::Kind::kString: key << a.s.size() << ':' << a.s; break;
      case Attribute::Kind::kTensor: append_tensor(key, a.t); break;
      case Attribute::Kind::kFloats: for (float f : a.floats) key << f << ','; break;
      case Attribute::Kind::kInts: for (int64_t i : a.ints) key << i << ','; break;
      case Attribute::Kind::kStrings: for (const auto& s : a.strings) key << s.size() << ':' << s; break;
      case Attribute::Kind::kTensors: for (const auto& t : a.tensors) append_tensor(key, t); break;
      default: return "";  // subgraphs and unknown kinds: never merged
    }
    key << ';';
  }
  return key.str();
}

}  // namespace

Result<bool> eliminate_common_subexpressions(Graph& graph, PassContext&) {
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, topological_order(graph));
  std::map<std::string, int> seen;
  std::vector<bool> dead(graph.nodes.size(), false);
  bool changed = false;
  for (int n : order) {
    const Node& node = graph.nodes[n];
    if (node.op_type.rfind("Random", 0) == 0) continue;
    const std::string key = node_key(node);
    if (key.empty()) continue;
    auto [it, inserted] = seen.emplace(key, n);
    if (inserted) continue;
    const Node& first = graph.nodes[it->second];
    bool outputs_free = true;  // a graph output keeps its own producer, so its name stays
    for (int out : node.outputs) outputs_free &= out == kNoValue || !is_graph_output(graph, out);
    if (!outputs_free) continue;
    bool first_has_outputs = true;
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      first_has_outputs &= node.outputs[i] == kNoValue || first.outputs[i] != kNoValue;
    }
    if (!first_has_outputs) continue;
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i] != kNoValue) reroute_uses(graph, node.outputs[i], first.outputs[i]);
    }
    dead[n] = true;
    changed = true;
  }
  if (changed) compact(graph, dead);
  return changed;
}

}  // namespace kiln
