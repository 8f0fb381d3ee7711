// Conv with constant weights followed by an inference-mode BatchNormalization with constant
// parameters becomes one Conv: per output channel c, with a = scale[c] / sqrt(var[c] + eps),
//   W'[c] = W[c] * a     b'[c] = (b[c] - mean[c]) * a + B[c].
// BN is then free at run time instead of a full pass over the activation. Exports in
// training mode, older exporters and hand-built graphs keep the BN as a separate node.
// The factors are computed in double so folding adds no error beyond the final rounding.
#include <cmath>

#include "ir/graph_edit.h"
#include "passes/fusion_util.h"
#include "passes/pass.h"

namespace kiln {
namespace {

// A float tensor of exactly `n` elements that is a model constant, or null.
const Tensor* constant_channels(const Graph& graph, int value, int64_t n) {
  if (value == kNoValue) return nullptr;
  const Value& v = graph.values[value];
  if (!v.is_constant() || !is_float_dtype(v.constant.dtype()) || v.constant.numel() != n) return nullptr;
  return &v.constant;
}

// Whether `bn` is a BatchNormalization this pass can fold: inference mode, per-channel
// parameters (spatial=1 before opset 9), and no consumed training-only outputs.
bool foldable_batchnorm(const Graph& graph, const std::vector<std::vector<int>>& consumers, const Node& bn) {
  if (bn.op_type != "BatchNormalization" || !bn.domain.empty() || bn.inputs.size() != 5) return false;
  if (bn.outputs.empty() || bn.outputs[0] == kNoValue) return false;
  const int64_t opset = graph.opset("");
  if (const Attribute* a = bn.find_attribute("training_mode"); a && opset >= 14 && a->i != 0) return false;
  if (const Attribute* a = bn.find_attribute("spatial"); a && opset < 9 && a->i == 0) return false;
  for (size_t i = 1; i < bn.outputs.size(); ++i) {
    const int v = bn.outputs[i];
    if (v != kNoValue && (is_graph_output(graph, v) || !consumers[v].empty())) return false;
  }
  return true;
}

// The Conv's only reader when that reader is a foldable BN taking the Conv output as X.
int batchnorm_after(const Graph& graph, const std::vector<std::vector<int>>& consumers, int conv) {
  const Node& node = graph.nodes[conv];
  if (node.outputs.size() != 1 || node.outputs[0] == kNoValue) return -1;
  const int out = node.outputs[0];
  if (is_graph_output(graph, out) || consumers[out].size() != 1) return -1;
  const int c = consumers[out][0];
  const Node& bn = graph.nodes[c];
  if (!foldable_batchnorm(graph, consumers, bn) || bn.inputs[0] != out) return -1;
  return c;
}

// Folds `bn` into `conv` (weights W, optional bias b): new constants, the Conv writes
// the BN's output. Fails only on allocation.
Status fold(Graph& graph, int conv, int bn_node, std::vector<bool>& dead) {
  const Node& bn = graph.nodes[bn_node];
  const Tensor& w = graph.values[graph.nodes[conv].inputs[1]].constant;
  const int64_t channels = w.dim(0);
  const int64_t per_channel = channels == 0 ? 0 : w.numel() / channels;
  const Tensor* gamma = constant_channels(graph, bn.inputs[1], channels);
  const Tensor* beta = constant_channels(graph, bn.inputs[2], channels);
  const Tensor* mean = constant_channels(graph, bn.inputs[3], channels);
  const Tensor* var = constant_channels(graph, bn.inputs[4], channels);
  const Attribute* eps_attr = bn.find_attribute("epsilon");
  const double epsilon = eps_attr ? static_cast<double>(eps_attr->f) : 1e-5;
  const Node& c = graph.nodes[conv];
  const Tensor* bias = c.inputs.size() > 2 && c.inputs[2] != kNoValue ? &graph.values[c.inputs[2]].constant : nullptr;

  KILN_ASSIGN_OR_RETURN(Tensor folded_w, Tensor::allocate(DType::kFloat32, w.shape()));
  KILN_ASSIGN_OR_RETURN(Tensor folded_b, Tensor::allocate(DType::kFloat32, {channels}));
  const float* src = w.data<float>();
  float* dst = folded_w.data<float>();
  for (int64_t o = 0; o < channels; ++o) {
    const double a = gamma->get_as_double(o) / std::sqrt(var->get_as_double(o) + epsilon);
    for (int64_t i = o * per_channel; i < (o + 1) * per_channel; ++i) dst[i] = static_cast<float>(src[i] * a);
    const double b = bias ? bias->get_as_double(o) : 0.0;
    folded_b.data<float>()[o] = static_cast<float>((b - mean->get_as_double(o)) * a + beta->get_as_double(o));
  }
  const std::string w_name = graph.values[c.inputs[1]].name;
  const int w_id = add_constant(graph, w_name + "_bn_folded", std::move(folded_w));
  const int b_id = add_constant(graph, w_name + "_bn_folded_bias", std::move(folded_b));

  Node& node = graph.nodes[conv];
  const Node& absorbed = graph.nodes[bn_node];
  node.inputs.resize(3);
  node.inputs[1] = w_id;
  node.inputs[2] = b_id;
  record_source_nodes(node, absorbed);
  node.outputs[0] = absorbed.outputs[0];
  graph.values[absorbed.outputs[0]].producer = conv;
  dead[bn_node] = true;
  return Status::ok();
}

}  // namespace

Result<bool> fold_conv_batchnorm(Graph& graph, PassContext&) {
  const auto consumers = value_consumers(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  bool changed = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& conv = graph.nodes[n];
    if (conv.op_type != "Conv" || !conv.domain.empty() || conv.inputs.size() < 2) continue;
    const Value& w = graph.values[conv.inputs[1]];
    if (!w.is_constant() || w.constant.dtype() != DType::kFloat32 || w.constant.rank() < 3) continue;
    const int64_t channels = w.constant.dim(0);
    if (conv.inputs.size() > 2 && conv.inputs[2] != kNoValue) {
      const Value& b = graph.values[conv.inputs[2]];
      if (!b.is_constant() || b.constant.dtype() != DType::kFloat32 || b.constant.numel() != channels) continue;
    }
    const int bn = batchnorm_after(graph, consumers, static_cast<int>(n));
    if (bn < 0 || dead[bn]) continue;
    const Node& bn_node = graph.nodes[bn];
    bool constant_params = true;
    for (int i = 1; i <= 4; ++i) constant_params &= constant_channels(graph, bn_node.inputs[i], channels) != nullptr;
    if (!constant_params) continue;
    KILN_RETURN_IF_ERROR(fold(graph, static_cast<int>(n), bn, dead));
    changed = true;
  }
  if (changed) compact(graph, dead);
  return changed;
}

}  // namespace kiln
