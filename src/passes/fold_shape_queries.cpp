// Shape queries whose answer the static shapes already know become constants:
//   Shape(x) when all of x's dims are known (after the profile fixed them), and
//   Gather(Shape(x), i) when the dims it picks are known even if others are symbolic
//   (PyTorch exports ask for the hidden size this way next to a dynamic batch).
// Constant folding then collapses the Unsqueeze/Concat chains that follow.
#include <algorithm>
#include <optional>

#include "ir/graph_edit.h"
#include "ops/op_util.h"
#include "passes/pass.h"

namespace kiln {
namespace {

// The dims a Shape node reports: its input's static dims within [start, end) (opset 15).
std::optional<SymShape> shape_node_dims(const Graph& graph, const Node& shape) {
  if (shape.inputs.empty() || shape.inputs[0] == kNoValue) return std::nullopt;
  const auto& in = graph.values[shape.inputs[0]].type.shape;
  if (!in) return std::nullopt;
  const int64_t rank = static_cast<int64_t>(in->size());
  Result<int64_t> start = attr_int(shape, "start", 0);
  Result<int64_t> end = attr_int(shape, "end", rank);
  if (!start.is_ok() || !end.is_ok()) return std::nullopt;
  auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
  const int64_t s = clamp(*start), e = clamp(*end);
  if (s >= e) return SymShape{};
  return SymShape(in->begin() + s, in->begin() + e);
}

std::optional<Tensor> known_dims_tensor(const SymShape& dims, const std::vector<int64_t>& picks, bool scalar) {
  std::vector<int64_t> values;
  for (int64_t p : picks) {
    if (p < 0) p += static_cast<int64_t>(dims.size());
    if (p < 0 || p >= static_cast<int64_t>(dims.size()) || !dims[p].known()) return std::nullopt;
    values.push_back(dims[p].value);
  }
  return Tensor::from_vector<int64_t>(scalar ? Shape{} : Shape{static_cast<int64_t>(values.size())}, values);
}

void make_constant(Graph& graph, int value, Tensor t) {
  Value& v = graph.values[value];
  v.type.dtype = t.dtype();
  v.type.shape = to_sym_shape(t.shape());
  v.constant = std::move(t);
  v.producer = -1;
}

}  // namespace

Result<bool> fold_shape_queries(Graph& graph, PassContext& ctx) {
  KILN_RETURN_IF_ERROR(annotate_types(graph, ctx.backend));
  std::vector<bool> dead(graph.nodes.size(), false);
  bool changed = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    if (node.outputs.empty() || node.outputs[0] == kNoValue) continue;
    if (node.op_type == "Shape") {
      std::optional<SymShape> dims = shape_node_dims(graph, node);
      if (!dims || !is_concrete(*dims)) continue;
      make_constant(graph, node.outputs[0], Tensor::from_vector<int64_t>({static_cast<int64_t>(dims->size())},
                                                                          to_concrete(*dims)));
      dead[n] = true;
      changed = true;
    } else if (node.op_type == "Gather" && node.inputs.size() == 2 && node.inputs[0] != kNoValue &&
               node.inputs[1] != kNoValue) {
      const Value& data = graph.values[node.inputs[0]];
      const Value& indices = graph.values[node.inputs[1]];
      if (data.producer < 0 || dead[data.producer] || graph.nodes[data.producer].op_type != "Shape") continue;
      if (!indices.is_constant() || indices.constant.rank() > 1) continue;
      Result<int64_t> axis = attr_int(node, "axis", 0);
      if (!axis.is_ok() || (*axis != 0 && *axis != -1)) continue;
      std::optional<SymShape> dims = shape_node_dims(graph, graph.nodes[data.producer]);
      if (!dims) continue;
      std::optional<Tensor> folded =
          known_dims_tensor(*dims, indices.constant.to_int64_vector(), indices.constant.rank() == 0);
      if (!folded) continue;
      make_constant(graph, node.outputs[0], std::move(*folded));
      dead[n] = true;
      changed = true;
    }
  }
  if (changed) compact(graph, dead);
  return changed;
}

}  // namespace kiln
