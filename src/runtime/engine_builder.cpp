#include <algorithm>
#include <map>
#include <set>

#include "ir/verifier.h"
#include "backend/backend.h"
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

// One error that lists every node kiln cannot run, so a user sees the whole gap at once.
Status check_supported(const Graph& graph, const Backend& backend) {
  std::vector<std::string> missing;
  for (const Node& node : graph.nodes) {
    const int64_t opset = graph.opset(node.domain);
    const OpRegistration* reg = backend.find_kernel(node.domain, node.op_type, opset);
    if (!reg || !reg->factory) {
      const std::string domain = node.domain.empty() ? "ai.onnx" : node.domain;
      missing.push_back("  " + node.name + ": " + node.op_type + " (domain " + domain + ", opset " +
                        std::to_string(opset) + ")");
    }
  }
  if (missing.empty()) return Status::ok();
  std::string msg = std::to_string(missing.size()) + " node(s) use operators the " + backend.name() +
                    " backend does not support:";
  for (const std::string& m : missing) msg += "\n" + m;
  return unsupported(msg);
}

Status create_kernels(EngineImpl& e, const Backend& backend) {
  e.kernels.resize(e.graph.nodes.size());
  for (size_t n = 0; n < e.graph.nodes.size(); ++n) {
    const Node& node = e.graph.nodes[n];
    const int64_t opset = e.graph.opset(node.domain);
    const OpRegistration* reg = backend.find_kernel(node.domain, node.op_type, opset);
    KernelInit init{node, opset, {}, {}};
    for (int in : node.inputs) {
      const Value* v = in == kNoValue ? nullptr : &e.graph.values[in];
      init.constant_inputs.push_back(v && v->is_constant() ? &v->constant : nullptr);
      init.input_types.push_back(v ? &v->type : nullptr);
    }
    Result<std::unique_ptr<OpKernel>> kernel = reg->factory(init);
    if (!kernel.is_ok()) return in_node(kernel.status(), node);
    e.kernels[n] = std::move(kernel).value();
  }
  return Status::ok();
}

// Static shape inference in schedule order. Values keep the model's declared type where
// a kernel cannot tell more (data-dependent shapes).
Status infer_static_types(EngineImpl& e) {
  for (int n : e.schedule) {
    const Node& node = e.graph.nodes[n];
    StaticInferContext ctx(e.graph, node, e.consumed);
    Status s = e.kernels[n]->infer(ctx);
    if (!s.is_ok()) return in_node(s, node);
    const auto& inferred = ctx.inferred();
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i] == kNoValue || !inferred[i].set) continue;
      TypeInfo& t = e.graph.values[node.outputs[i]].type;
      t.dtype = inferred[i].dtype;
      if (inferred[i].shape) t.shape = inferred[i].shape;
    }
  }
  return Status::ok();
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

}  // namespace

Result<std::unique_ptr<EngineImpl>> build_engine(Graph graph, const Backend& backend) {
  auto e = std::make_unique<EngineImpl>();
  e->graph = std::move(graph);
  const std::string where = "model '" + e->graph.source_path + "'";
  Result<std::vector<int>> schedule = verify_graph(e->graph);
  if (!schedule.is_ok()) return schedule.status().with_context(where);
  e->schedule = std::move(schedule).value();
  KILN_RETURN_IF_ERROR(check_supported(e->graph, backend).with_context(where));
  compute_lifetimes(*e);
  KILN_RETURN_IF_ERROR(create_kernels(*e, backend).with_context(where));
  KILN_RETURN_IF_ERROR(infer_static_types(*e).with_context(where));
  for (int in : e->graph.inputs) e->inputs.push_back(describe_value(e->graph.values[in]));
  for (int out : e->graph.outputs) e->outputs.push_back(describe_value(e->graph.values[out]));
  return e;
}

}  // namespace kiln
