#include "backend/graph_kernels.h"

#include "runtime/infer_contexts.h"
#include "runtime/node_status.h"

namespace kiln {

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

Result<GraphKernels> create_kernels(const Graph& graph, const Backend& backend,
                                    const std::vector<std::vector<PackedWeight>>& packed) {
  GraphKernels kernels(graph.nodes.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    const int64_t opset = graph.opset(node.domain);
    const OpRegistration* reg = backend.find_kernel(node.domain, node.op_type, opset);
    if (!reg || !reg->factory) return unsupported(node.describe() + ": no kernel on the " + backend.name() + " backend");
    KernelInit init{node, opset, {}, {}};
    if (n < packed.size()) init.packed_weights = packed[n];
    for (int in : node.inputs) {
      const Value* v = in == kNoValue ? nullptr : &graph.values[in];
      init.constant_inputs.push_back(v && v->is_constant() ? &v->constant : nullptr);
      init.input_types.push_back(v ? &v->type : nullptr);
    }
    Result<std::unique_ptr<OpKernel>> kernel = reg->factory(init);
    if (!kernel.is_ok()) return in_node(kernel.status(), node);
    kernels[n] = std::move(kernel).value();
  }
  return kernels;
}

std::vector<bool> consumed_values(const Graph& graph) {
  std::vector<bool> consumed(graph.values.size(), false);
  for (const Node& node : graph.nodes) {
    for (int in : node.inputs) {
      if (in != kNoValue) consumed[in] = true;
    }
  }
  for (int out : graph.outputs) consumed[out] = true;
  return consumed;
}

Status infer_static_types(Graph& graph, const GraphKernels& kernels, const std::vector<int>& schedule) {
  const std::vector<bool> consumed = consumed_values(graph);
  for (int n : schedule) {
    const Node& node = graph.nodes[n];
    StaticInferContext ctx(graph, node, consumed);
    Status s = kernels[n]->infer(ctx);
    if (!s.is_ok()) return in_node(s, node);
    const auto& inferred = ctx.inferred();
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i] == kNoValue || !inferred[i].set) continue;
      TypeInfo& t = graph.values[node.outputs[i]].type;
      t.dtype = inferred[i].dtype;
      if (inferred[i].shape) t.shape = inferred[i].shape;
    }
  }
  return Status::ok();
}

}  // namespace kiln
