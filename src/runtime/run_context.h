// RunContext over the execution context's value slots.
#pragma once

#include <vector>

#include "ir/graph.h"
#include "ops/kernel.h"

namespace kiln {

class SlotRunContext : public RunContext {
 public:
  SlotRunContext(const Node& node, const std::vector<bool>& consumed, std::vector<Tensor>& values,
                 std::vector<Tensor>& scratch)
      : node_(node), consumed_(consumed), values_(values), scratch_(scratch) {
    scratch_.assign(node.outputs.size(), Tensor());
  }
  size_t num_inputs() const override { return node_.inputs.size(); }
  size_t num_outputs() const override { return node_.outputs.size(); }
  bool has_input(size_t i) const override { return i < node_.inputs.size() && node_.inputs[i] != kNoValue; }
  const Tensor& input(size_t i) const override {
    static const Tensor kEmpty;
    return has_input(i) ? values_[node_.inputs[i]] : kEmpty;
  }
  bool has_output(size_t i) const override {
    return i < node_.outputs.size() && node_.outputs[i] != kNoValue && consumed_[node_.outputs[i]];
  }
  Tensor& output(size_t i) override { return slot(i); }
  Status allocate_output(size_t i, DType dtype, const Shape& shape) override {
    if (i >= node_.outputs.size()) return internal_error(node_.describe() + ": output index out of range");
    KILN_ASSIGN_OR_RETURN(slot(i), Tensor::allocate(dtype, shape));
    return Status::ok();
  }
  void set_output(size_t i, Tensor tensor) override {
    if (i < node_.outputs.size()) slot(i) = std::move(tensor);
  }

 private:
  // Outputs nobody reads (omitted optional outputs) go to scratch so kernels need not care.
  Tensor& slot(size_t i) {
    if (i < node_.outputs.size() && node_.outputs[i] != kNoValue) return values_[node_.outputs[i]];
    return scratch_[i < scratch_.size() ? i : 0];
  }
  const Node& node_;
  const std::vector<bool>& consumed_;
  std::vector<Tensor>& values_;
  std::vector<Tensor>& scratch_;
};

}  // namespace kiln
