// A Transpose that moves only axes of size 1 keeps every element where it is: it is a
// Reshape, which kiln runs as a view instead of a copy. torch's MultiheadAttention
// exports one on each side of every attention block ([B, S, E] <-> [S, B, E]); at
// batch 1 those are ViT-B/16's 25 remaining Transposes.
#include <string>

#include "passes/fusion_util.h"
#include "passes/pass.h"

namespace kiln {
namespace {

// Whether `perm` keeps the axes of `shape` that are not 1 in their order. Unknown dims
// count as not 1.
bool moves_only_unit_axes(const SymShape& shape, const std::vector<int64_t>& perm) {
  int64_t last = -1;
  for (int64_t axis : perm) {
    if (axis < 0 || axis >= static_cast<int64_t>(shape.size())) return false;
    const Dim& d = shape[static_cast<size_t>(axis)];
    if (d.known() && d.value == 1) continue;
    if (axis < last) return false;
    last = axis;
  }
  return true;
}

}  // namespace

Result<bool> reshape_unit_axis_transposes(Graph& graph, PassContext&) {
  bool changed = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& node = graph.nodes[n];
    if (node.op_type != "Transpose" || !node.domain.empty() || node.inputs.size() != 1 || node.outputs.size() != 1) {
      continue;
    }
    const auto& in = graph.values[node.inputs[0]].type.shape;
    const auto& out = graph.values[node.outputs[0]].type.shape;
    if (!in || !out || !is_concrete(*out) || out->size() != in->size()) continue;
    std::vector<int64_t> perm;
    if (const Attribute* p = node.find_attribute("perm")) {
      perm = p->ints;
    } else {
      for (size_t i = in->size(); i-- > 0;) perm.push_back(static_cast<int64_t>(i));
    }
    if (perm.size() != in->size() || !moves_only_unit_axes(*in, perm)) continue;
    const Shape target = to_concrete(*out);
    const int shape = add_constant(graph, node.name + "_shape",
                                   Tensor::from_vector<int64_t>({static_cast<int64_t>(target.size())},
                                                                std::vector<int64_t>(target.begin(), target.end())));
    Node& rewritten = graph.nodes[n];
    rewritten.op_type = "Reshape";
    rewritten.attributes.erase("perm");
    rewritten.inputs.push_back(shape);
    changed = true;
  }
  return changed;
}

}  // namespace kiln
