#include "passes/evaluate_node.h"

#include "runtime/infer_contexts.h"
#include "runtime/node_status.h"
#include "runtime/run_context.h"

namespace kiln {

Result<std::vector<Tensor>> evaluate_node(const Graph& graph, const Node& node, const Backend& backend) {
  const int64_t opset = graph.opset(node.domain);
  const OpRegistration* reg = backend.find_kernel(node.domain, node.op_type, opset);
  if (!reg || !reg->factory) return unsupported(node.describe() + ": no kernel to evaluate it");
  KernelInit init{node, opset, {}, {}};
  // Contexts index values by graph id; only this node's inputs and outputs are filled.
  std::vector<Tensor> values(graph.values.size());
  for (int in : node.inputs) {
    const Value* v = in == kNoValue ? nullptr : &graph.values[in];
    if (v && !v->is_constant()) return internal_error(node.describe() + ": input '" + v->name + "' is not constant");
    init.constant_inputs.push_back(v ? &v->constant : nullptr);
    init.input_types.push_back(v ? &v->type : nullptr);
    if (v) values[in] = v->constant;
  }
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<OpKernel> kernel, reg->factory(init));
  std::vector<bool> consumed(graph.values.size(), false);
  for (int out : node.outputs) {
    if (out != kNoValue) consumed[out] = true;
  }
  RuntimeInferContext ictx(node, opset, consumed, values);
  KILN_RETURN_IF_ERROR(in_node(kernel->infer(ictx), node));
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    const InferredOutput& out = ictx.inferred()[i];
    if (node.outputs[i] == kNoValue || !out.set || !out.shape || !is_concrete(*out.shape)) continue;
    KILN_ASSIGN_OR_RETURN(values[node.outputs[i]], Tensor::allocate(out.dtype, to_concrete(*out.shape)));
  }
  std::vector<Tensor> scratch;
  SlotRunContext rctx(node, consumed, values, scratch);
  KILN_RETURN_IF_ERROR(in_node(kernel->run(rctx), node));
  std::vector<Tensor> outputs;
  for (int out : node.outputs) outputs.push_back(out == kNoValue ? Tensor() : values[out]);
  return outputs;
}

}  // namespace kiln
