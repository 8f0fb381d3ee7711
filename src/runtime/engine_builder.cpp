#include <algorithm>
#include <map>
#include <set>

#include "ir/verifier.h"
#include "backend/graph_kernels.h"
#include "runtime/engine_impl.h"
#include "runtime/infer_contexts.h"
#include "runtime/node_status.h"

namespace kiln {
namespace {

TensorDesc describe_value(const Value& v) {
  TensorDesc d;
  d.name = v.name;
  d.dtype = v.type.dtype;
  if (v.type.shape) {
    d.has_shape = true;
    for (const Dim& dim : *v.type.shape) {
      d.dims.push_back(dim.known() ? dim.value : -1);
      d.dim_names.push_back(dim.symbol);
    }
  }
  return d;
}

void compute_lifetimes(EngineImpl& e) {
  const size_t num_values = e.graph.values.size();
  e.last_use.assign(num_values, -1);
  e.consumed.assign(num_values, false);
  for (size_t pos = 0; pos < e.schedule.size(); ++pos) {
    for (int in : e.graph.nodes[e.schedule[pos]].inputs) {
      if (in == kNoValue) continue;
      e.last_use[in] = static_cast<int>(pos);
      e.consumed[in] = true;
    }
  }
  for (int out : e.graph.outputs) {
    e.last_use[out] = EngineImpl::kKeepAlive;
    e.consumed[out] = true;
  }
  for (size_t v = 0; v < num_values; ++v) {
    if (e.graph.values[v].is_constant()) e.last_use[v] = EngineImpl::kKeepAlive;
  }
}

// Constants are shape-derived; Shape and Size outputs are; any other node's outputs are
// when all its inputs are, except for ops whose values are random.
void mark_shape_derived(EngineImpl& e) {
  static const std::set<std::string> kRandom = {"RandomNormal", "RandomNormalLike", "RandomUniform",
                                                "RandomUniformLike", "Multinomial", "Bernoulli"};
  e.shape_derived.assign(e.graph.values.size(), false);
  for (size_t v = 0; v < e.graph.values.size(); ++v) e.shape_derived[v] = e.graph.values[v].is_constant();
  for (int n : e.schedule) {
    const Node& node = e.graph.nodes[n];
    bool derived = node.domain.empty() && (node.op_type == "Shape" || node.op_type == "Size");
    if (!derived && !node.inputs.empty() && !kRandom.count(node.op_type)) {
      derived = true;
      for (int in : node.inputs) derived = derived && (in == kNoValue || e.shape_derived[in]);
    }
    for (int out : node.outputs) {
      if (out != kNoValue) e.shape_derived[out] = derived;
    }
  }
}

}  // namespace

Result<std::unique_ptr<EngineImpl>> build_engine(Graph graph, const Backend& backend,
                                                 const BuildOptions& options,
                                                 const std::vector<std::vector<PackedWeight>>& packed_weights) {
  auto e = std::make_unique<EngineImpl>();
  e->options = options;
  e->graph = std::move(graph);
  const std::string where = "model '" + e->graph.source_path + "'";
  Result<std::vector<int>> schedule = verify_graph(e->graph);
  if (!schedule.is_ok()) return schedule.status().with_context(where);
  e->schedule = std::move(schedule).value();
  KILN_RETURN_IF_ERROR(check_supported(e->graph, backend).with_context(where));
  compute_lifetimes(*e);
  mark_shape_derived(*e);
  Result<GraphKernels> kernels = create_kernels(e->graph, backend, packed_weights);
  if (!kernels.is_ok()) return kernels.status().with_context(where);
  e->kernels = std::move(kernels).value();
  KILN_RETURN_IF_ERROR(infer_static_types(e->graph, e->kernels, e->schedule).with_context(where));
  for (int in : e->graph.inputs) e->inputs.push_back(describe_value(e->graph.values[in]));
  for (int out : e->graph.outputs) e->outputs.push_back(describe_value(e->graph.values[out]));
  return e;
}

}  // namespace kiln
