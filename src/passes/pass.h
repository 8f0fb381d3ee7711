// A graph pass: a named rewrite of the IR. run() returns whether it changed anything.
#pragma once

#include "backend/backend.h"
#include "ir/graph.h"
#include "kiln/build_options.h"
#include "kiln/status.h"

namespace kiln {

struct PassContext {
  const BuildOptions& options;
  const Backend& backend;  // passes that evaluate nodes (constant folding) run its kernels
  // Whether the build turned pass `name` off (for a pass that runs another as a step).
  bool disabled(const std::string& name) const {
    for (const std::string& d : options.disabled_passes) {
      if (d == name) return true;
    }
    return false;
  }
};

struct GraphPass {
  const char* name;
  Result<bool> (*run)(Graph& graph, PassContext& ctx);
};

Result<bool> specialize_input_shapes(Graph& graph, PassContext& ctx);
Result<bool> fold_constants(Graph& graph, PassContext& ctx);
Result<bool> remove_identities(Graph& graph, PassContext& ctx);
Result<bool> fold_shape_queries(Graph& graph, PassContext& ctx);
Result<bool> fold_reshape_targets(Graph& graph, PassContext& ctx);
Result<bool> eliminate_common_subexpressions(Graph& graph, PassContext& ctx);
Result<bool> eliminate_dead_code(Graph& graph, PassContext& ctx);
Result<bool> fold_conv_batchnorm(Graph& graph, PassContext& ctx);
Result<bool> fuse_conv_add(Graph& graph, PassContext& ctx);
Result<bool> fuse_conv_activation(Graph& graph, PassContext& ctx);
Result<bool> convert_convs_to_channels_last(Graph& graph, PassContext& ctx);
Result<bool> select_winograd_convolutions(Graph& graph, PassContext& ctx);
Result<bool> write_residual_in_place(Graph& graph, PassContext& ctx);
Result<bool> fuse_matmul_bias(Graph& graph, PassContext& ctx);
Result<bool> fuse_attention(Graph& graph, PassContext& ctx);
Result<bool> fold_attention_layouts(Graph& graph, PassContext& ctx);
Result<bool> reshape_unit_axis_transposes(Graph& graph, PassContext& ctx);
Result<bool> fuse_gelu(Graph& graph, PassContext& ctx);
Result<bool> fuse_layer_norm(Graph& graph, PassContext& ctx);
Result<bool> fuse_skip_layer_norm(Graph& graph, PassContext& ctx);
Result<bool> fuse_matmul_activation(Graph& graph, PassContext& ctx);
Result<bool> fuse_elementwise_chains(Graph& graph, PassContext& ctx);

// Static types for every value (creates the backend's kernels to run their infer()).
Status annotate_types(Graph& graph, const Backend& backend);

}  // namespace kiln
