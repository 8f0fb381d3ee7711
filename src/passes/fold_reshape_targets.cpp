// Reshape targets computed at run time from the input's own shape become constants, with
// ONNX's 0 ("copy this input dim") where the computed size provably is that dim and -1
// for at most one size left over. Exports with dynamic axes write
//   x.view(x.size(0), x.size(1), 12, 64)   as   Reshape(x, Concat(Gather(Shape(x), 0), ...))
// whose output shape static typing cannot know ("?"); as Reshape(x, [0, 0, 12, 64]) it is
// [batch, sequence, 12, 64], and the passes that need shapes (the attention layouts, the
// Q/K/V merge) work on dynamic-shape profiles too. The Shape/Gather/Concat nodes are then
// unread and are removed right away. Sizes are compared with SymbolicDims, which
// follows a dim back through Reshapes and Transposes to the dim it copies.
#include "passes/fusion_util.h"
#include "passes/pass.h"
#include "passes/symbolic_dims.h"

namespace kiln {
namespace {

// The constant target for `reshape`, or nullopt when a size cannot be proved.
std::optional<std::vector<int64_t>> constant_target(const Graph& graph, const SymbolicDims& dims, const Node& reshape) {
  const Value& target = graph.values[reshape.inputs[1]];
  const auto& target_shape = target.type.shape;
  if (target.is_constant() || !target_shape || target_shape->size() != 1 || !(*target_shape)[0].known()) {
    return std::nullopt;
  }
  if (const Attribute* a = reshape.find_attribute("allowzero"); a && a->i != 0) return std::nullopt;
  const int64_t rank = dims.rank(reshape.inputs[0]);
  std::vector<int64_t> out;
  bool inferred = false;
  for (int64_t i = 0; i < (*target_shape)[0].value; ++i) {
    const std::optional<DimExpr> size = dims.int_element(reshape.inputs[1], i);
    if (!size) return std::nullopt;
    if (size->is_constant()) {
      if (size->constant < -1) return std::nullopt;  // the Reshape itself reports it
      if (size->constant == -1) {
        if (inferred) return std::nullopt;
        inferred = true;
      }
      out.push_back(size->constant);
      continue;
    }
    if (i < rank) {
      const std::optional<DimExpr> same = dims.dim(reshape.inputs[0], i);
      if (same && *same == *size) {
        out.push_back(0);
        continue;
      }
    }
    if (inferred) return std::nullopt;  // a second size nothing pins down
    inferred = true;
    out.push_back(-1);
  }
  return out;
}

}  // namespace

Result<bool> fold_reshape_targets(Graph& graph, PassContext& ctx) {
  const SymbolicDims dims(graph);
  std::vector<std::pair<size_t, std::vector<int64_t>>> rewrites;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    if (node.op_type != "Reshape" || !node.domain.empty() || node.inputs.size() != 2 || node.inputs[1] == kNoValue) {
      continue;
    }
    if (auto target = constant_target(graph, dims, node)) rewrites.emplace_back(n, std::move(*target));
  }
  // Applied after the scan: SymbolicDims reads the graph as it was.
  for (auto& [n, target] : rewrites) {
    const int64_t r = static_cast<int64_t>(target.size());
    const int shape = add_constant(graph, graph.nodes[n].name + "_target", Tensor::from_vector<int64_t>({r}, target));
    graph.nodes[n].inputs[1] = shape;
  }
  if (rewrites.empty()) return false;
  // The size computations are unread now. They go at once: a Shape node still reading a
  // projection would make it look shared to the fusions that follow.
  if (!ctx.disabled("dead_code_elimination")) KILN_RETURN_IF_ERROR(eliminate_dead_code(graph, ctx).status());
  return true;
}

}  // namespace kiln
