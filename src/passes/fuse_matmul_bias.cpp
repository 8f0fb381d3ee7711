// MatMul by a constant weight followed by Add of a constant bias row [N] (how PyTorch
// exports nn.Linear on 3-D inputs) becomes one kiln::FusedMatMul: oneDNN adds the bias
// while the output tile is in registers, saving a pass over the activation.
#include "ir/graph_edit.h"
#include "passes/fusion_util.h"
#include "passes/pass.h"

namespace kiln {
namespace {

// The Add's other input when it is a float32 constant holding one row of N values.
int bias_input(const Graph& graph, const Node& add, int matmul_out, int64_t n) {
  if (add.inputs.size() != 2) return kNoValue;
  const int other = add.inputs[0] == matmul_out ? add.inputs[1] : add.inputs[0];
  if (other == kNoValue || other == matmul_out) return kNoValue;
  const Value& v = graph.values[other];
  if (!v.is_constant() || v.constant.dtype() != DType::kFloat32 || v.constant.numel() != n) return kNoValue;
  for (size_t d = 0; d + 1 < v.constant.rank(); ++d) {
    if (v.constant.dim(d) != 1) return kNoValue;
  }
  return other;
}

}  // namespace

Result<bool> fuse_matmul_bias(Graph& graph, PassContext&) {
  const auto consumers = value_consumers(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  bool changed = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& matmul = graph.nodes[n];
    if (matmul.op_type != "MatMul" || !matmul.domain.empty() || matmul.inputs.size() != 2) continue;
    const Value& weights = graph.values[matmul.inputs[1]];
    if (!weights.is_constant() || weights.constant.dtype() != DType::kFloat32 || weights.constant.rank() != 2) continue;
    const int c = sole_consumer(graph, consumers, static_cast<int>(n));
    if (c < 0 || graph.nodes[c].op_type != "Add") continue;
    const int out = matmul.outputs[0];
    const auto& out_shape = graph.values[out].type.shape;
    // The bias must not widen the output (a bias of rank above the output's would).
    if (!out_shape || out_shape->size() < 2) continue;
    const int bias = bias_input(graph, graph.nodes[c], out, weights.constant.dim(1));
    if (bias == kNoValue || graph.values[bias].constant.rank() > out_shape->size()) continue;
    matmul.inputs.push_back(bias);
    absorb_consumer(graph, static_cast<int>(n), c, "FusedMatMul", dead);
    changed = true;
  }
  if (changed) finish_fusion(graph, dead);
  return changed;
}

}  // namespace kiln
