// Identity, and Dropout at inference, copy their input: readers are rerouted to the input
// and the node goes. A node whose output is a graph output stays, so output names keep.
#include "ir/graph_edit.h"
#include "passes/pass.h"

namespace kiln {
namespace {

bool is_identity(const Graph& graph, const Node& node) {
  if (node.op_type == "Identity") return node.inputs.size() == 1 && node.inputs[0] != kNoValue;
  if (node.op_type != "Dropout" || node.inputs.empty() || node.inputs[0] == kNoValue) return false;
  // Dropout's mask output, or training_mode (input 2) set, makes it more than a copy.
  if (node.outputs.size() > 1 && node.outputs[1] != kNoValue) return false;
  if (node.inputs.size() > 2 && node.inputs[2] != kNoValue) {
    const Value& training = graph.values[node.inputs[2]];
    if (!training.is_constant() || training.constant.numel() != 1 || training.constant.get_as_int64(0) != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<bool> remove_identities(Graph& graph, PassContext&) {
  std::vector<bool> dead(graph.nodes.size(), false);
  bool changed = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    if (!is_identity(graph, node) || node.outputs.empty() || node.outputs[0] == kNoValue) continue;
    if (is_graph_output(graph, node.outputs[0])) continue;
    reroute_uses(graph, node.outputs[0], node.inputs[0]);
    dead[n] = true;
    changed = true;
  }
  if (changed) compact(graph, dead);
  return changed;
}

}  // namespace kiln
