// Conv whose only reader is Add(conv_out, residual), the residual having exactly the
// conv's output shape (ResNet and MobileNetV2 skip connections), becomes kiln::FusedConv
// with the residual as input R: oneDNN's sum post-op adds it while the output tile is in
// registers, instead of the Add reading both tensors again and writing a third.
// A Relu after the Add is taken by fuse_conv_activation, which runs next, as an eltwise
// post-op after the sum.
#include "ir/graph_edit.h"
#include "passes/fusion_util.h"
#include "passes/pass.h"

namespace kiln {
namespace {

constexpr size_t kBiasInput = 2;

bool same_static_shape(const TypeInfo& a, const TypeInfo& b) {
  if (!a.shape || !b.shape || a.shape->size() != b.shape->size()) return false;
  for (size_t i = 0; i < a.shape->size(); ++i) {
    if (!((*a.shape)[i] == (*b.shape)[i])) return false;
  }
  return true;
}

// The Add's other operand when it is a float32 tensor of the conv output's exact shape
// (no broadcasting in either direction), else kNoValue.
int residual_input(const Graph& graph, const Node& add, int conv_out) {
  if (add.op_type != "Add" || !add.domain.empty() || add.inputs.size() != 2) return kNoValue;
  const int other = add.inputs[0] == conv_out ? add.inputs[1] : add.inputs[0];
  if (other == kNoValue || other == conv_out) return kNoValue;
  const TypeInfo& residual = graph.values[other].type;
  if (residual.dtype != DType::kFloat32 || !same_static_shape(residual, graph.values[conv_out].type)) return kNoValue;
  if (!same_static_shape(residual, graph.values[add.outputs[0]].type)) return kNoValue;
  return other;
}

}  // namespace

Result<bool> fuse_conv_add(Graph& graph, PassContext&) {
  const auto consumers = value_consumers(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  bool changed = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& conv = graph.nodes[n];
    if (conv.op_type != "Conv" || !conv.domain.empty() || conv.inputs.size() > kBiasInput + 1) continue;
    const int c = sole_consumer(graph, consumers, static_cast<int>(n));
    // Both operands of one Add may be Convs (ResNet's downsampling block): the first takes it.
    if (c < 0 || dead[c] || graph.values[conv.outputs[0]].type.dtype != DType::kFloat32) continue;
    const int residual = residual_input(graph, graph.nodes[c], conv.outputs[0]);
    if (residual == kNoValue) continue;
    conv.inputs.resize(kBiasInput + 1, kNoValue);
    conv.inputs.push_back(residual);
    absorb_consumer(graph, static_cast<int>(n), c, "FusedConv", dead);
    changed = true;
  }
  if (changed) finish_fusion(graph, dead);
  return changed;
}

}  // namespace kiln
