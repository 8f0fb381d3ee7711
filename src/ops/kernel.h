// The contract between the executor and an operator implementation.
//
// An op is created once per node (attributes parsed and validated there, constant
// weights prepacked) and is then immutable: infer() and run() are const and may be
// called from many threads at once.
//   infer(): output dtypes and shapes from input dtypes, shapes and, where known, input
//            values. The same code serves static inference (dims may be symbolic or
//            unknown, values mostly unknown) and run time (everything concrete).
//   run():   computes outputs. Outputs whose shape infer() made concrete are already
//            allocated; an op whose output shape depends on data it computes (NonZero)
//            allocates in run() with ctx.allocate_output().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/status.h"
#include "kiln/tensor.h"
#include "ops/packed_weight.h"

namespace kiln {

class InferContext {
 public:
  virtual ~InferContext() = default;
  virtual const Node& node() const = 0;
  virtual int64_t opset() const = 0;
  virtual size_t num_inputs() const = 0;
  virtual size_t num_outputs() const = 0;
  // False for an omitted optional input (empty name) or an index past the end.
  virtual bool has_input(size_t i) const = 0;
  virtual DType input_dtype(size_t i) const = 0;
  // Null when the rank is unknown.
  virtual const SymShape* input_shape(size_t i) const = 0;
  // The input's value when known (initializers, constants, and everything at run time).
  virtual const Tensor* input_value(size_t i) const = 0;
  // Whether output i is consumed or a graph output (optional outputs may be skipped).
  virtual bool has_output(size_t i) const = 0;
  virtual void set_output(size_t i, DType dtype, std::optional<SymShape> shape) = 0;
};

class RunContext {
 public:
  virtual ~RunContext() = default;
  virtual size_t num_inputs() const = 0;
  virtual size_t num_outputs() const = 0;
  virtual bool has_input(size_t i) const = 0;
  virtual const Tensor& input(size_t i) const = 0;
  virtual bool has_output(size_t i) const = 0;
  // The output allocated from infer(); undefined if infer() left its shape unknown.
  virtual Tensor& output(size_t i) = 0;
  virtual Status allocate_output(size_t i, DType dtype, const Shape& shape) = 0;
  // Ops such as Reshape or Identity may hand out a view of an input instead of a copy.
  virtual void set_output(size_t i, Tensor tensor) = 0;
};

class OpKernel {
 public:
  virtual ~OpKernel() = default;
  virtual Status infer(InferContext& ctx) const = 0;
  virtual Status run(RunContext& ctx) const = 0;
  // Names the implementation for layer info ("onednn", "cpu"), as trtexec names tactics.
  virtual const char* implementation() const { return "cpu"; }
  // The constant weights this kernel holds in a packed layout so far (one per layout its
  // primitives asked for), for the plan writer. Safe to call while other threads run.
  virtual std::vector<PackedWeight> packed_weights() const { return {}; }
};

// What a kernel factory sees: the node, the model's opset for the node's domain, and
// constant inputs (initializers), so weights can be validated and prepacked once.
struct KernelInit {
  const Node& node;
  int64_t opset;
  std::vector<const Tensor*> constant_inputs;  // per input; null when not constant
  std::vector<const TypeInfo*> input_types;    // per input; null for omitted inputs
  // Weights a plan carries already packed for this node (empty when building from ONNX):
  // the kernel uses them instead of packing when a primitive asks for their layout.
  std::vector<PackedWeight> packed_weights = {};

  const Tensor* constant_input(size_t i) const {
    return i < constant_inputs.size() ? constant_inputs[i] : nullptr;
  }
};

using KernelFactory = Result<std::unique_ptr<OpKernel>> (*)(const KernelInit& init);

}  // namespace kiln
