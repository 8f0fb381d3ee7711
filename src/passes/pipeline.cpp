#include "passes/pipeline.h"

#include <algorithm>
#include <set>

#include "backend/graph_kernels.h"
#include "ir/verifier.h"
#include "passes/pass.h"

namespace kiln {

Status annotate_types(Graph& graph, const Backend& backend);

namespace {

Result<bool> fold_constants_and_shapes_to_fixed_point(Graph& graph, PassContext& ctx);

// The pipeline, in order. Why each sits where it does:
const GraphPass kPipeline[] = {
    // First, so every later pass sees the dims the profiles pin as static.
    {"specialize_input_shapes", specialize_input_shapes},
    // Constant nodes and pure-constant subgraphs (weight transposes, precomputed masks)
    // become values before anything pattern-matches, so patterns see constants.
    {"constant_folding", fold_constants},
    // Identity/Dropout hide producer-consumer pairs from later pattern matches.
    {"remove_identity", remove_identities},
    // Needs static shapes, which are most precise once constants are folded.
    {"fold_shape_queries", fold_shape_queries},
    // The Unsqueeze/Concat chains after the folded shape queries are constant now; that
    // can make more shapes static (a Slice whose end was a shape query), so the two
    // alternate until neither changes anything.
    {"constant_folding_after_shapes", fold_constants_and_shapes_to_fixed_point},
    // What shape queries are left are dynamic dims: Reshape targets built from them become
    // constants of 0 (copy) and -1, so the output shapes are symbolic instead of unknown.
    {"fold_reshape_targets", fold_reshape_targets},
    // Exports repeat identical subgraphs per layer; merge them once they are canonical.
    {"common_subexpression_elimination", eliminate_common_subexpressions},
    // Fusions run on the cleaned graph, so a producer's only reader is visible.
    // First fusion: it takes whole MatMul-Softmax-MatMul chains before the MatMul
    // fusions look at their pieces.
    {"fuse_attention", fuse_attention},
    // Before the conv fusions: a BN between Conv and its Add/Relu would hide them.
    {"fold_conv_batchnorm", fold_conv_batchnorm},
    // Before fuse_conv_activation, so Conv -> Add -> Relu ends as one FusedConv (sum, then relu).
    {"fuse_conv_add", fuse_conv_add},
    {"fuse_conv_activation", fuse_conv_activation},
    // Collapse the exported GELU and LayerNorm chains before the GEMM fusions look for
    // a GEMM's only reader (a Gelu node, not the first of its eight).
    {"fuse_gelu", fuse_gelu},
    {"fuse_layer_norm", fuse_layer_norm},
    {"fuse_matmul_bias", fuse_matmul_bias},
    // After fuse_layer_norm (needs the norm node) and fuse_matmul_bias, so an Add of a
    // constant bias goes into the GEMM rather than being taken as the skip input.
    {"fuse_skip_layer_norm", fuse_skip_layer_norm},
    // After fuse_matmul_bias (the bias is added before the activation) and fuse_gelu.
    {"fuse_matmul_activation", fuse_matmul_activation},
    // After fuse_attention and fuse_matmul_bias: it removes the head Transposes around
    // Attention nodes and merges their Q, K and V projections (FusedMatMuls) into one.
    {"fold_attention_layouts", fold_attention_layouts},
    // After the fusions that match Transposes (attention heads, K^T): those stay theirs.
    {"reshape_unit_axis_transposes", reshape_unit_axis_transposes},
    // After every fusion into GEMMs, convs and norms: it takes what elementwise work they left.
    {"fuse_elementwise_chains", fuse_elementwise_chains},
    // After the conv fusions, so the convs it picks carry their bias, sum and activation.
    {"select_winograd_convolutions", select_winograd_convolutions},
    // After every fusion: the fused convs then read and write NHWC, which no pattern above expects.
    {"convert_convs_to_channels_last", convert_convs_to_channels_last},
    // After every rewrite that could add a reader of a residual (the reorders above).
    {"write_residual_in_place", write_residual_in_place},
    // Last: removes whatever the rewrites above left unread.
    {"dead_code_elimination", eliminate_dead_code},
};

// BERT's position ids are Slice(table, 0, Gather(Shape(input_ids), 1)): folding the query
// makes the Slice's end constant, only then are the embeddings' and every later tensor's
// shapes static, and only then do the per-layer Shape queries fold.
Result<bool> fold_constants_and_shapes_to_fixed_point(Graph& graph, PassContext& ctx) {
  constexpr int kMaxRounds = 1024;  // each round reaches at least one layer further
  bool changed = false;
  for (int round = 0; round < kMaxRounds; ++round) {
    KILN_ASSIGN_OR_RETURN(bool constants, fold_constants(graph, ctx));
    if (constants) KILN_RETURN_IF_ERROR(annotate_types(graph, ctx.backend));
    bool queries = false;
    if (!ctx.disabled("fold_shape_queries")) {
      KILN_ASSIGN_OR_RETURN(queries, fold_shape_queries(graph, ctx));
      if (queries) KILN_RETURN_IF_ERROR(annotate_types(graph, ctx.backend));
    }
    changed = changed || constants || queries;
    if (!queries) break;  // nothing new to fold into constants
  }
  return changed;
}

}  // namespace

std::vector<std::string> pass_names() {
  std::vector<std::string> names;
  for (const GraphPass& p : kPipeline) names.push_back(p.name);
  return names;
}

Status annotate_types(Graph& graph, const Backend& backend) {
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, verify_graph(graph));
  KILN_ASSIGN_OR_RETURN(GraphKernels kernels, create_kernels(graph, backend));
  return infer_static_types(graph, kernels, order);
}

Status optimize_graph(Graph& graph, const BuildOptions& options) {
  const std::vector<std::string> known = pass_names();
  for (const std::string& name : options.disabled_passes) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return invalid_argument("unknown pass '" + name + "' in disabled passes (passes: " + list + ")");
    }
  }
  const std::set<std::string> disabled(options.disabled_passes.begin(), options.disabled_passes.end());
  const Backend& backend = cpu_backend();
  // Every node must have a kernel before any pass evaluates or types the graph.
  KILN_RETURN_IF_ERROR(check_supported(graph, backend));
  KILN_RETURN_IF_ERROR(annotate_types(graph, backend));
  PassContext ctx{options, backend};
  for (const GraphPass& pass : kPipeline) {
    if (disabled.count(pass.name)) continue;
    Result<bool> changed = pass.run(graph, ctx);
    if (!changed.is_ok()) return changed.status().with_context("pass " + std::string(pass.name));
    // The rewrite is checked: the graph must still verify and type-check.
    if (*changed) {
      Status s = annotate_types(graph, backend);
      if (!s.is_ok()) return s.with_context("pass " + std::string(pass.name) + " produced an invalid graph");
    }
  }
  return Status::ok();
}

}  // namespace kiln
