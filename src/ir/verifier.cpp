#include "ir/verifier.h"

#include <queue>

namespace kiln {

Result<std::vector<int>> topological_order(const Graph& graph) {
  const size_t n = graph.nodes.size();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> consumers(n);
  for (size_t i = 0; i < n; ++i) {
    for (int in : graph.nodes[i].inputs) {
      if (in == kNoValue) continue;
      const int producer = graph.values[in].producer;
      if (producer >= 0) {
        ++pending[i];
        consumers[producer].push_back(static_cast<int>(i));
      }
    }
  }
  // Kahn's algorithm; a min-queue keeps the file's order where it is already valid.
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < n; ++i) {
    if (pending[i] == 0) ready.push(static_cast<int>(i));
  }
  std::vector<int> order;
  order.reserve(n);
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int c : consumers[i]) {
      if (--pending[c] == 0) ready.push(c);
    }
  }
  if (order.size() != n) {
    for (size_t i = 0; i < n; ++i) {
      if (pending[i] > 0) return invalid_model(graph.nodes[i].describe() + " is part of a cycle");
    }
  }
  return order;
}

Result<std::vector<int>> verify_graph(const Graph& graph) {
  const int num_values = static_cast<int>(graph.values.size());
  for (const Node& node : graph.nodes) {
    for (int v : node.inputs) {
      if (v != kNoValue && (v < 0 || v >= num_values)) return internal_error(node.describe() + ": bad input id");
    }
    for (int v : node.outputs) {
      if (v != kNoValue && (v < 0 || v >= num_values)) return internal_error(node.describe() + ": bad output id");
    }
  }
  if (graph.outputs.empty()) return invalid_model("the graph has no outputs");
  for (int out : graph.outputs) {
    const Value& v = graph.values[out];
    if (v.producer < 0 && !v.is_constant()) {
      bool is_input = false;
      for (int in : graph.inputs) is_input |= in == out;
      if (!is_input) return invalid_model("graph output '" + v.name + "' is never produced");
    }
  }
  return topological_order(graph);
}

}  // namespace kiln
