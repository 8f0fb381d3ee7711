// Constant folding: a node whose inputs are all constants is run once at build time with
// the backend's own kernel and replaced by its outputs. Constant nodes fold trivially.
// Growth is budgeted (as tract does) so a small model cannot make the builder allocate
// gigabytes: Expand or ConstantOfShape of a huge shape stays a node.
#include <set>

#include "ir/graph_edit.h"
#include "ir/verifier.h"
#include "passes/evaluate_node.h"
#include "passes/pass.h"

namespace kiln {
namespace {

constexpr int64_t kFoldingGrowthBudget = int64_t{4} << 20;  // bytes

bool is_nondeterministic(const Node& node) {
  static const std::set<std::string> kRandom = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                                                "RandomUniformLike", "Bernoulli", "Multinomial"};
  return kRandom.count(node.op_type) > 0;
}

}  // namespace

Result<bool> fold_constants(Graph& graph, PassContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, topological_order(graph));
  std::vector<bool> dead(graph.nodes.size(), false);
  int64_t budget = kFoldingGrowthBudget;
  bool changed = false;
  for (int n : order) {
    const Node& node = graph.nodes[n];
    if (is_nondeterministic(node)) continue;
    bool all_constant = true;
    int64_t input_bytes = 0;
    for (int in : node.inputs) {
      if (in == kNoValue) continue;
      all_constant &= graph.values[in].is_constant();
      if (all_constant) input_bytes += static_cast<int64_t>(graph.values[in].constant.nbytes());
    }
    if (!all_constant) continue;
    Result<std::vector<Tensor>> outputs = evaluate_node(graph, node, ctx.backend);
    if (!outputs.is_ok()) continue;  // the same error will surface, with context, at run time
    int64_t output_bytes = 0;
    bool complete = true;
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i] == kNoValue) continue;
      complete &= (*outputs)[i].defined();
      output_bytes += static_cast<int64_t>((*outputs)[i].nbytes());
    }
    const int64_t growth = output_bytes - input_bytes;
    if (!complete || growth > budget) continue;
    if (growth > 0) budget -= growth;
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const int v = node.outputs[i];
      if (v == kNoValue) continue;
      Value& value = graph.values[v];
      value.constant = (*outputs)[i];
      value.type.dtype = value.constant.dtype();
      value.type.shape = to_sym_shape(value.constant.shape());
      value.producer = -1;
    }
    dead[n] = true;
    changed = true;
  }
  if (changed) compact(graph, dead);
  return changed;
}

}  // namespace kiln
