// A float32 GEMM (MatMul, kiln::FusedMatMul from fuse_matmul_bias, or Gemm) whose only
// reader is a Relu or GELU becomes kiln::FusedMatMul / kiln::FusedGemm with an
// `activation` attribute that oneDNN applies as an eltwise post-op: the activation
// costs no pass over memory of its own (the transformer's feed-forward up-projection).
// A Reshape between the two (GPT-2 runs nn.Linear as Reshape -> Gemm -> Reshape) is
// looked through: an elementwise function commutes with a reshape, so the GEMM applies
// it and the Reshape then writes the activation's output.
#include "ir/graph_edit.h"
#include "passes/fusion_util.h"
#include "passes/pass.h"

namespace kiln {
namespace {

// The single node reading `value`, when `value` is not a graph output; -1 otherwise.
int only_reader(const Graph& g, const std::vector<std::vector<int>>& consumers, int value) {
  if (consumers[value].size() != 1 || is_graph_output(g, value)) return -1;
  return consumers[value][0];
}

// The `activation` attribute value for an activation node reading `input`; "" if none.
std::string activation_of(const Node& node, int input) {
  if (node.inputs.empty() || node.inputs[0] != input || node.outputs.size() != 1 || node.outputs[0] == kNoValue) {
    return "";
  }
  if (node.op_type == "Relu" && node.domain.empty()) return "Relu";
  const bool gelu = node.op_type == "Gelu" && (node.domain.empty() || node.domain == "kiln");
  if (!gelu) return "";
  const Attribute* a = node.find_attribute("approximate");
  const std::string approximate = a ? a->s : "none";
  if (approximate == "none") return "Gelu";
  return approximate == "tanh" ? "GeluTanh" : "";
}

// The fused op a GEMM node becomes; "" when it is no float32 GEMM or already activated.
const char* fused_op_for(const Graph& g, const Node& node) {
  if (node.outputs.size() != 1 || node.outputs[0] == kNoValue) return "";
  if (g.values[node.outputs[0]].type.dtype != DType::kFloat32 || node.find_attribute("activation")) return "";
  if (node.domain.empty() && node.op_type == "MatMul") return "FusedMatMul";
  if (node.domain.empty() && node.op_type == "Gemm") return "FusedGemm";
  if (node.domain == "kiln" && node.op_type == "FusedMatMul") return "FusedMatMul";
  return "";
}

}  // namespace

Result<bool> fuse_matmul_activation(Graph& graph, PassContext&) {
  const auto consumers = value_consumers(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  bool changed = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& gemm = graph.nodes[n];
    const std::string fused_op = fused_op_for(graph, gemm);
    if (fused_op.empty()) continue;
    int reader = only_reader(graph, consumers, gemm.outputs[0]);
    if (reader < 0) continue;
    int reshape = -1;  // a Reshape between the GEMM and the activation
    const Node* r = &graph.nodes[reader];
    if (r->op_type == "Reshape" && r->domain.empty() && !r->inputs.empty() && r->inputs[0] == gemm.outputs[0] &&
        r->outputs.size() == 1) {
      reshape = reader;
      reader = only_reader(graph, consumers, r->outputs[0]);
      if (reader < 0) continue;
    }
    const Node& act = graph.nodes[reader];
    const int act_input = reshape >= 0 ? graph.nodes[reshape].outputs[0] : gemm.outputs[0];
    const std::string activation = activation_of(act, act_input);
    if (activation.empty() || dead[reader]) continue;

    Attribute a, sources;
    a.kind = Attribute::Kind::kString;
    a.s = activation;
    sources.kind = Attribute::Kind::kStrings;
    if (const Attribute* earlier = gemm.find_attribute("source_nodes")) {
      sources.strings = earlier->strings;  // fuse_matmul_bias's MatMul + Add
    } else {
      sources.strings = {gemm.name};
    }
    sources.strings.push_back(act.name);
    gemm.attributes["activation"] = a;
    gemm.attributes["source_nodes"] = sources;
    gemm.op_type = fused_op;
    gemm.domain = "kiln";
    // The activation's output value (and name) is now written by whoever wrote its input.
    const int writer = reshape >= 0 ? reshape : static_cast<int>(n);
    graph.nodes[writer].outputs[0] = act.outputs[0];
    graph.values[act.outputs[0]].producer = writer;
    dead[reader] = true;
    changed = true;
  }
  if (changed) finish_fusion(graph, dead);
  return changed;
}

}  // namespace kiln
