// The two InferContexts: static (types from the graph, dims maybe symbolic) used when an
// engine is built, and run time (everything from the actual tensors).
#pragma once

#include <optional>
#include <vector>

#include "ir/graph.h"
#include "ops/kernel.h"

namespace kiln {

struct InferredOutput {
  DType dtype = DType::kUndefined;
  std::optional<SymShape> shape;
  bool set = false;
};

// Shared by both: stores what the kernel reports for each output.
class InferContextBase : public InferContext {
 public:
  InferContextBase(const Node& node, int64_t opset, const std::vector<bool>& consumed)
      : node_(node), opset_(opset), consumed_(consumed), outputs_(node.outputs.size()) {}
  const Node& node() const override { return node_; }
  int64_t opset() const override { return opset_; }
  size_t num_inputs() const override { return node_.inputs.size(); }
  size_t num_outputs() const override { return node_.outputs.size(); }
  bool has_input(size_t i) const override { return i < node_.inputs.size() && node_.inputs[i] != kNoValue; }
  bool has_output(size_t i) const override {
    return i < node_.outputs.size() && node_.outputs[i] != kNoValue && consumed_[node_.outputs[i]];
  }
  void set_output(size_t i, DType dtype, std::optional<SymShape> shape) override {
    if (i >= outputs_.size()) return;
    outputs_[i] = InferredOutput{dtype, std::move(shape), true};
  }
  const std::vector<InferredOutput>& inferred() const { return outputs_; }

 protected:
  const Node& node_;
  int64_t opset_;
  const std::vector<bool>& consumed_;
  std::vector<InferredOutput> outputs_;
};

class StaticInferContext : public InferContextBase {
 public:
  StaticInferContext(const Graph& graph, const Node& node, const std::vector<bool>& consumed)
      : InferContextBase(node, graph.opset(node.domain), consumed), graph_(graph) {}
  DType input_dtype(size_t i) const override {
    return has_input(i) ? graph_.values[node_.inputs[i]].type.dtype : DType::kUndefined;
  }
  const SymShape* input_shape(size_t i) const override {
    if (!has_input(i)) return nullptr;
    const auto& s = graph_.values[node_.inputs[i]].type.shape;
    return s ? &*s : nullptr;
  }
  const Tensor* input_value(size_t i) const override {
    if (!has_input(i)) return nullptr;
    const Value& v = graph_.values[node_.inputs[i]];
    return v.is_constant() ? &v.constant : nullptr;
  }

 private:
  const Graph& graph_;
};

class RuntimeInferContext : public InferContextBase {
 public:
  // `shape_derived`, when given, tells which values are functions of the input shapes
  // alone: reading any other input's value makes the output shapes depend on data
  // (reads_runtime_values()).
  RuntimeInferContext(const Node& node, int64_t opset, const std::vector<bool>& consumed,
                      const std::vector<Tensor>& values, const std::vector<bool>* shape_derived = nullptr)
      : InferContextBase(node, opset, consumed), values_(values), shape_derived_(shape_derived),
        shapes_(node.inputs.size()) {
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i] != kNoValue) shapes_[i] = to_sym_shape(values[node.inputs[i]].shape());
    }
  }
  DType input_dtype(size_t i) const override {
    return has_input(i) ? values_[node_.inputs[i]].dtype() : DType::kUndefined;
  }
  const SymShape* input_shape(size_t i) const override { return has_input(i) ? &shapes_[i] : nullptr; }
  const Tensor* input_value(size_t i) const override {
    if (!has_input(i)) return nullptr;
    if (shape_derived_ && !(*shape_derived_)[node_.inputs[i]]) reads_runtime_values_ = true;
    return &values_[node_.inputs[i]];
  }
  // Whether infer() looked at the value of an input that depends on input data, so the
  // output shapes may differ between runs with the same input shapes.
  bool reads_runtime_values() const { return reads_runtime_values_; }

 private:
  const std::vector<Tensor>& values_;
  const std::vector<bool>* shape_derived_;
  mutable bool reads_runtime_values_ = false;
  std::vector<SymShape> shapes_;
};

}  // namespace kiln
