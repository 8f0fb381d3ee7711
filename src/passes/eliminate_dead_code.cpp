// Removes nodes none of whose outputs is read by another node or is a graph output,
// repeatedly (a removed node can make its producers dead too), and unused values.
#include "ir/graph_edit.h"
#include "passes/pass.h"

namespace kiln {

Result<bool> eliminate_dead_code(Graph& graph, PassContext&) {
  const size_t before_nodes = graph.nodes.size();
  const size_t before_values = graph.values.size();
  std::vector<int> readers(graph.values.size(), 0);
  for (const Node& node : graph.nodes) {
    for (int in : node.inputs) if (in != kNoValue) ++readers[in];
  }
  for (int out : graph.outputs) ++readers[out];
  std::vector<bool> dead(graph.nodes.size(), false);
  // Walk backwards so a chain dies in one sweep when the file is sorted; repeat otherwise.
  for (bool progress = true; progress;) {
    progress = false;
    for (size_t n = graph.nodes.size(); n-- > 0;) {
      if (dead[n]) continue;
      bool used = false;
      for (int out : graph.nodes[n].outputs) used |= out != kNoValue && readers[out] > 0;
      if (used) continue;
      dead[n] = true;
      progress = true;
      for (int in : graph.nodes[n].inputs) if (in != kNoValue) --readers[in];
    }
  }
  compact(graph, dead);
  return graph.nodes.size() != before_nodes || graph.values.size() != before_values;
}

}  // namespace kiln
