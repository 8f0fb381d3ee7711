#include "passes/fusion_util.h"

#include "ir/graph_edit.h"

namespace kiln {

int sole_consumer(const Graph& graph, const std::vector<std::vector<int>>& consumers, int producer) {
  const Node& node = graph.nodes[producer];
  if (node.outputs.size() != 1 || node.outputs[0] == kNoValue) return -1;
  const int out = node.outputs[0];
  if (is_graph_output(graph, out) || consumers[out].size() != 1) return -1;
  const Node& consumer = graph.nodes[consumers[out][0]];
  if (!consumer.domain.empty() || consumer.outputs.size() != 1 || consumer.outputs[0] == kNoValue) return -1;
  return consumers[out][0];
}

void record_source_nodes(Node& node, const Node& absorbed) {
  Attribute& sources = node.attributes["source_nodes"];
  if (sources.kind != Attribute::Kind::kStrings) {
    sources.kind = Attribute::Kind::kStrings;
    sources.strings = {node.name};
  }
  sources.strings.push_back(absorbed.name);
}

void absorb_consumer(Graph& graph, int producer, int consumer, const std::string& fused_op_type,
                     std::vector<bool>& dead) {
  Node& node = graph.nodes[producer];
  const Node& absorbed = graph.nodes[consumer];
  record_source_nodes(node, absorbed);
  node.op_type = fused_op_type;
  node.domain = "kiln";
  node.outputs[0] = absorbed.outputs[0];
  graph.values[absorbed.outputs[0]].producer = producer;
  dead[consumer] = true;
}

void finish_fusion(Graph& graph, const std::vector<bool>& dead) {
  graph.opsets["kiln"] = 1;
  compact(graph, dead);
}

int add_constant(Graph& graph, const std::string& base, Tensor t) {
  int id = graph.add_value(base);
  for (int k = 1; id < 0; ++k) id = graph.add_value(base + "_" + std::to_string(k));
  Value& v = graph.values[id];
  v.type.dtype = t.dtype();
  v.type.shape = to_sym_shape(t.shape());
  v.constant = std::move(t);
  return id;
}

}  // namespace kiln
