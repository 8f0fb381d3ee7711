// Conv followed by Relu or Clip (ReLU6 in MobileNet) becomes one kiln::FusedConv whose
// activation runs as a oneDNN post-op while the output is still in cache, instead of a
// second pass over the whole activation. A FusedConv that already adds a residual (ResNet's
// Conv -> Add -> Relu) takes the activation too, applied after the sum.
#include "ir/graph_edit.h"
#include "passes/fusion_util.h"
#include "passes/pass.h"

namespace kiln {
namespace {

// Clip bounds when they are constants (attributes before opset 11, inputs after).
bool constant_clip_bounds(const Graph& graph, const Node& clip, float& lo, float& hi) {
  lo = -3.402823466e38f;
  hi = 3.402823466e38f;
  if (const Attribute* a = clip.find_attribute("min")) lo = a->f;
  if (const Attribute* a = clip.find_attribute("max")) hi = a->f;
  for (size_t i = 1; i < clip.inputs.size() && i < 3; ++i) {
    const int v = clip.inputs[i];
    if (v == kNoValue) continue;
    const Value& bound = graph.values[v];
    if (!bound.is_constant() || bound.constant.numel() != 1) return false;
    (i == 1 ? lo : hi) = static_cast<float>(bound.constant.get_as_double(0));
  }
  return true;
}

}  // namespace

Result<bool> fuse_conv_activation(Graph& graph, PassContext&) {
  const auto consumers = value_consumers(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  bool changed = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& conv = graph.nodes[n];
    // A FusedConv from fuse_conv_add (Conv + residual Add) takes the activation after its sum.
    const bool fused_add = conv.op_type == "FusedConv" && conv.domain == "kiln" && !conv.find_attribute("activation");
    if (!fused_add && (conv.op_type != "Conv" || !conv.domain.empty())) continue;
    const int c = sole_consumer(graph, consumers, static_cast<int>(n));
    if (c < 0 || graph.values[conv.outputs[0]].type.dtype != DType::kFloat32) continue;
    const Node& act = graph.nodes[c];
    if (act.inputs.empty() || act.inputs[0] != conv.outputs[0]) continue;
    Attribute activation;
    activation.kind = Attribute::Kind::kString;
    if (act.op_type == "Relu") {
      activation.s = "Relu";
    } else if (act.op_type == "Clip") {
      float lo, hi;
      if (!constant_clip_bounds(graph, act, lo, hi)) continue;
      activation.s = "Clip";
      Attribute a_lo, a_hi;
      a_lo.kind = a_hi.kind = Attribute::Kind::kFloat;
      a_lo.f = lo;
      a_hi.f = hi;
      conv.attributes["clip_min"] = a_lo;
      conv.attributes["clip_max"] = a_hi;
    } else {
      continue;
    }
    conv.attributes["activation"] = activation;
    absorb_consumer(graph, static_cast<int>(n), c, "FusedConv", dead);
    changed = true;
  }
  if (changed) finish_fusion(graph, dead);
  return changed;
}

}  // namespace kiln
