#include "ir/graph_edit.h"

#include <algorithm>

namespace kiln {

std::vector<std::vector<int>> value_consumers(const Graph& graph) {
  std::vector<std::vector<int>> consumers(graph.values.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    for (int in : graph.nodes[n].inputs) {
      if (in != kNoValue) consumers[in].push_back(static_cast<int>(n));
    }
  }
  return consumers;
}

bool is_graph_output(const Graph& graph, int value) {
  return std::find(graph.outputs.begin(), graph.outputs.end(), value) != graph.outputs.end();
}

void reroute_uses(Graph& graph, int from, int to) {
  for (Node& node : graph.nodes) {
    for (int& in : node.inputs) {
      if (in == from) in = to;
    }
  }
}

void compact(Graph& graph, const std::vector<bool>& dead_nodes) {
  std::vector<Node> nodes;
  nodes.reserve(graph.nodes.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (!dead_nodes[n]) nodes.push_back(std::move(graph.nodes[n]));
  }
  // A value survives if a live node reads or writes it, or it is a graph input or output.
  std::vector<bool> live(graph.values.size(), false);
  for (const Node& node : nodes) {
    for (int v : node.inputs) if (v != kNoValue) live[v] = true;
    for (int v : node.outputs) if (v != kNoValue) live[v] = true;
  }
  for (int v : graph.inputs) live[v] = true;
  for (int v : graph.outputs) live[v] = true;

  Graph rebuilt;
  rebuilt.name = graph.name;
  rebuilt.opsets = graph.opsets;
  rebuilt.ir_version = graph.ir_version;
  rebuilt.source_path = graph.source_path;
  std::vector<int> new_id(graph.values.size(), kNoValue);
  for (size_t v = 0; v < graph.values.size(); ++v) {
    if (!live[v]) continue;
    new_id[v] = rebuilt.add_value(graph.values[v].name);
    Value& nv = rebuilt.values[new_id[v]];
    nv.type = std::move(graph.values[v].type);
    nv.constant = std::move(graph.values[v].constant);
  }
  auto remap = [&](std::vector<int>& ids) {
    for (int& id : ids) id = id == kNoValue ? kNoValue : new_id[id];
  };
  for (size_t n = 0; n < nodes.size(); ++n) {
    remap(nodes[n].inputs);
    remap(nodes[n].outputs);
    for (int v : nodes[n].outputs) {
      if (v != kNoValue) rebuilt.values[v].producer = static_cast<int>(n);
    }
  }
  rebuilt.nodes = std::move(nodes);
  rebuilt.inputs = graph.inputs;
  rebuilt.outputs = graph.outputs;
  remap(rebuilt.inputs);
  remap(rebuilt.outputs);
  graph = std::move(rebuilt);
}

}  // namespace kiln
