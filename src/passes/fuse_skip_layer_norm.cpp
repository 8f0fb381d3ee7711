// The residual Add in front of a last-axis LayerNorm (every transformer block has two)
// becomes part of one kiln::SkipLayerNorm(A, B, Scale, Bias) = LayerNorm(A + B): the sum
// is formed row by row while the row is in cache, instead of written out in full and
// read back by the norm.
// Post-norm blocks (BERT, DistilBERT) read the sum only in the norm. Pre-norm blocks
// (GPT-2, ViT) also carry it on as the next residual; there SkipLayerNorm gets a second
// output, the sum itself, written in the same pass.
#include "passes/fusion_util.h"
#include "passes/pass.h"
#include "passes/pattern_match.h"

namespace kiln {
namespace {

// A rank-1 float32 constant (the forms of Scale and B this fusion keeps: a [N] parameter
// forces the norm's last dim to be N, so the fused kernel's check changes nothing).
bool is_vector_constant(const Graph& g, int value, int64_t size) {
  if (value == kNoValue) return false;
  const Value& v = g.values[value];
  return v.is_constant() && v.constant.dtype() == DType::kFloat32 && v.constant.rank() == 1 &&
         (size < 0 || v.constant.dim(0) == size);
}

// An ONNX LayerNormalization or kiln::LayerNorm over the last axis, in float, whose
// optional Mean and InvStdDev outputs nobody reads.
bool is_last_axis_layer_norm(const Graph& g, const PatternMatcher& pm, const Node& ln) {
  const bool onnx = ln.op_type == "LayerNormalization" && ln.domain.empty();
  const bool kiln = ln.op_type == "LayerNorm" && ln.domain == "kiln";
  if (!(onnx || kiln) || ln.inputs.size() < 2 || ln.outputs.empty() || ln.outputs[0] == kNoValue) return false;
  const int rank = pm.rank(ln.inputs[0]);
  const Attribute* axis = ln.find_attribute("axis");
  if (axis && axis->i != -1 && (rank < 1 || axis->i != rank - 1)) return false;
  const Attribute* stash = ln.find_attribute("stash_type");
  if (stash && stash->i != static_cast<int64_t>(DType::kFloat32)) return false;
  for (size_t i = 1; i < ln.outputs.size(); ++i) {
    const int v = ln.outputs[i];
    if (v != kNoValue && (pm.num_reads(v) > 0 || pm.is_graph_output(v))) return false;
  }
  return true;
}

}  // namespace

Result<bool> fuse_skip_layer_norm(Graph& graph, PassContext&) {
  const PatternMatcher pm(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  bool changed = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& ln = graph.nodes[n];
    if (!is_last_axis_layer_norm(graph, pm, ln)) continue;
    const int sum = ln.inputs[0];
    const int add = pm.producer(sum, "Add");
    if (add < 0 || dead[add] || graph.values[sum].type.dtype != DType::kFloat32) continue;
    const Node& a = graph.nodes[add];
    if (a.inputs.size() != 2 || a.inputs[0] == kNoValue || a.inputs[1] == kNoValue) continue;
    const int gamma = ln.inputs[1];
    const int beta = ln.inputs.size() > 2 ? ln.inputs[2] : kNoValue;
    if (!is_vector_constant(graph, gamma, -1)) continue;
    if (beta != kNoValue && !is_vector_constant(graph, beta, graph.values[gamma].constant.dim(0))) continue;

    Attribute epsilon, sources;
    epsilon.kind = Attribute::Kind::kFloat;
    const Attribute* eps = ln.find_attribute("epsilon");
    epsilon.f = eps ? eps->f : 1e-5f;
    sources.kind = Attribute::Kind::kStrings;
    sources.strings = {a.name, ln.name};
    ln.op_type = "SkipLayerNorm";
    ln.domain = "kiln";
    ln.inputs = {a.inputs[0], a.inputs[1], gamma, beta};
    if (beta == kNoValue) ln.inputs.pop_back();
    ln.attributes = {{"epsilon", epsilon}, {"source_nodes", sources}};
    // Other readers of the sum (the residual path) now get it from the second output.
    const bool sum_read_elsewhere = pm.num_reads(sum) > 1 || pm.is_graph_output(sum);
    ln.outputs.resize(1);
    if (sum_read_elsewhere) {
      ln.outputs.push_back(sum);
      graph.values[sum].producer = static_cast<int>(n);
    }
    dead[add] = true;
    changed = true;
  }
  if (changed) finish_fusion(graph, dead);
  return changed;
}

}  // namespace kiln
