#include "passes/pattern_match.h"

#include <cmath>

#include "ir/graph_edit.h"

namespace kiln {

PatternMatcher::PatternMatcher(const Graph& graph) : graph_(graph), consumers_(value_consumers(graph)) {}

int PatternMatcher::producer(int value, const char* op_type) const {
  if (value == kNoValue) return -1;
  const int p = graph_.values[value].producer;
  if (p < 0) return -1;
  const Node& node = graph_.nodes[p];
  return node.op_type == op_type && node.domain.empty() ? p : -1;
}

int PatternMatcher::private_producer(int value, const char* op_type) const {
  const int p = producer(value, op_type);
  if (p < 0 || consumers_[value].size() != 1 || is_graph_output(value)) return -1;
  return p;
}

bool PatternMatcher::is_graph_output(int value) const { return kiln::is_graph_output(graph_, value); }

int PatternMatcher::other_input(const Node& node, int value) const {
  if (node.inputs.size() != 2) return kNoValue;
  if (node.inputs[0] == value && node.inputs[1] != value) return node.inputs[1];
  if (node.inputs[1] == value && node.inputs[0] != value) return node.inputs[0];
  return kNoValue;
}

bool PatternMatcher::scalar_value(int value, float& out, int partner_rank) const {
  if (value == kNoValue) return false;
  const Value& v = graph_.values[value];
  if (!v.is_constant() || v.constant.numel() != 1 || v.constant.dtype() != DType::kFloat32) return false;
  // A [1, 1, 1] constant times a rank-2 tensor is rank 3: not the same as dropping it.
  const int r = static_cast<int>(v.constant.rank());
  if (r > 0 && (partner_rank < 0 || r > partner_rank)) return false;
  out = v.constant.data<float>()[0];
  return true;
}

bool PatternMatcher::is_scalar(int value, double expected, int partner_rank) const {
  if (value == kNoValue) return false;
  const Value& v = graph_.values[value];
  if (!v.is_constant() || v.constant.numel() != 1) return false;
  const int r = static_cast<int>(v.constant.rank());
  if (r > 0 && (partner_rank < 0 || r > partner_rank)) return false;
  // Exporters round: BERT's 1.4142135 for sqrt(2), GPT-2's 0.7978846 for sqrt(2/pi).
  return std::fabs(v.constant.get_as_double(0) - expected) <= 1e-4 * std::fabs(expected);
}

int PatternMatcher::rank(int value) const {
  const auto& shape = graph_.values[value].type.shape;
  return shape ? static_cast<int>(shape->size()) : -1;
}

}  // namespace kiln
