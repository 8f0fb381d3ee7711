// ExecutionContext: one request's bindings, activation arena and per-shape records. The
// first run with new input shapes infers every node's outputs and learns the memory plan;
// later runs with those shapes replay the record: no shape inference, no heap allocation
// of activations, no allocation for outputs that kernels hand out as views.
#include <chrono>
#include <map>
#include <new>

#include "kiln/engine.h"
#include "runtime/activation_arena.h"
#include "runtime/engine_impl.h"
#include "runtime/infer_contexts.h"
#include "runtime/node_status.h"
#include "runtime/run_context.h"
#include "runtime/shape_record.h"

namespace kiln {

ExecutionContext::ExecutionContext(std::shared_ptr<const EngineImpl> engine)
    : engine_(std::move(engine)), arena_(std::make_unique<ActivationArena>()),
      records_(std::make_unique<ShapeRecords>()) {
  inputs_.resize(engine_->inputs.size());
}

int64_t ExecutionContext::activation_bytes() const { return arena_->arena_bytes(); }
size_t ExecutionContext::recorded_shape_count() const { return records_->reusable_count(); }
ExecutionContext::~ExecutionContext() = default;

Status ExecutionContext::set_optimization_profile(int index) {
  const int count = static_cast<int>(engine_->options.profiles.size());
  if (index < 0 || (index >= count && !(count == 0 && index == 0))) {
    return invalid_argument("optimization profile " + std::to_string(index) + " does not exist (the engine has " +
                            std::to_string(count) + ")");
  }
  profile_ = index;
  return Status::ok();
}

namespace {

// A shape outside the selected profile fails here, when it is set, naming the input, the
// dim and the profile's range, rather than deep inside a kernel prepared for other sizes.
Status check_profile(const BuildOptions& options, int profile, const std::string& name, const Shape& shape) {
  if (options.profiles.empty()) return Status::ok();
  const ShapeProfile& p = options.profiles[profile];
  auto lo = p.min.find(name);
  auto hi = p.max.find(name);
  if (lo == p.min.end() || hi == p.max.end()) return Status::ok();
  if (lo->second.size() != shape.size() || hi->second.size() != shape.size()) {
    return invalid_argument("input '" + name + "': shape " + shape_to_string(shape) + " has another rank than profile " +
                            std::to_string(profile) + "'s " + shape_to_string(lo->second));
  }
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < lo->second[d] || shape[d] > hi->second[d]) {
      return invalid_argument("input '" + name + "': dim " + std::to_string(d) + " is " + std::to_string(shape[d]) +
                              ", outside optimization profile " + std::to_string(profile) + "'s range [" +
                              std::to_string(lo->second[d]) + ", " + std::to_string(hi->second[d]) + "] (min " +
                              shape_to_string(lo->second) + ", max " + shape_to_string(hi->second) + ")");
    }
  }
  return Status::ok();
}

}  // namespace

Status ExecutionContext::set_input(const std::string& name, const Tensor& tensor) {
  const auto& descs = engine_->inputs;
  for (size_t i = 0; i < descs.size(); ++i) {
    const TensorDesc& d = descs[i];
    if (d.name != name) continue;
    const std::string where = "input '" + name + "'";
    if (!tensor.defined()) return invalid_argument(where + ": the tensor is empty");
    if (tensor.dtype() != d.dtype) {
      return invalid_argument(where + ": expected dtype " + dtype_name(d.dtype) + ", got " + dtype_name(tensor.dtype()));
    }
    if (d.has_shape) {
      if (tensor.rank() != d.dims.size()) {
        return invalid_argument(where + ": expected rank " + std::to_string(d.dims.size()) + " (shape " +
                                d.shape_string() + "), got rank " + std::to_string(tensor.rank()) + " (shape " +
                                shape_to_string(tensor.shape()) + ")");
      }
      for (size_t k = 0; k < d.dims.size(); ++k) {
        if (d.dims[k] >= 0 && tensor.dim(k) != d.dims[k]) {
          return invalid_argument(where + ": dim " + std::to_string(k) + " must be " + std::to_string(d.dims[k]) +
                                  " (shape " + d.shape_string() + "), got " + std::to_string(tensor.dim(k)) +
                                  " (shape " + shape_to_string(tensor.shape()) + ")");
        }
      }
    }
    KILN_RETURN_IF_ERROR(check_profile(engine_->options, profile_, name, tensor.shape()));
    inputs_[i] = tensor;
    return Status::ok();
  }
  std::string known;
  for (const TensorDesc& d : descs) known += (known.empty() ? "" : ", ") + d.name;
  return invalid_argument("the model has no input named '" + name + "' (its inputs: " + known + ")");
}

namespace {

// Inputs that share a symbolic dim ("batch_size") must agree on its value.
Status check_symbolic_dims(const std::vector<TensorDesc>& descs, const std::vector<Tensor>& inputs) {
  std::map<std::string, std::pair<int64_t, std::string>> seen;
  for (size_t i = 0; i < descs.size(); ++i) {
    const TensorDesc& d = descs[i];
    if (!inputs[i].defined()) return invalid_argument("input '" + d.name + "' was not set");
    for (size_t k = 0; k < d.dim_names.size(); ++k) {
      if (d.dim_names[k].empty() || d.dims[k] >= 0) continue;
      const int64_t value = inputs[i].dim(k);
      auto [it, inserted] = seen.emplace(d.dim_names[k], std::make_pair(value, d.name));
      if (!inserted && it->second.first != value) {
        return invalid_argument("input '" + d.name + "' dim " + std::to_string(k) + " ('" + d.dim_names[k] +
                                "') is " + std::to_string(value) + " but input '" + it->second.second +
                                "' has " + d.dim_names[k] + " = " + std::to_string(it->second.first));
      }
    }
  }
  return Status::ok();
}

// Every consumed output was produced, with the dtype inference promised (kUndefined:
// nothing promised).
Status check_outputs(const Node& node, const std::vector<DType>& expected, const std::vector<Tensor>& values,
                     const std::vector<bool>& consumed) {
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    const int v = node.outputs[i];
    if (v == kNoValue || !consumed[v]) continue;
    if (!values[v].defined()) return internal_error(node.describe() + ": output " + std::to_string(i) + " was not produced");
    if (expected[i] != DType::kUndefined && expected[i] != values[v].dtype()) {
      return internal_error(node.describe() + ": output " + std::to_string(i) + " has dtype " +
                            dtype_name(values[v].dtype()) + ", inferred " + dtype_name(expected[i]));
    }
  }
  return Status::ok();
}

std::string signature_text(const std::vector<Tensor>& inputs) {
  std::string signature;
  for (const Tensor& t : inputs) signature += shape_to_string(t.shape()) + ";";
  return signature;
}

}  // namespace

Status ExecutionContext::prepare_outputs(size_t pos, const ShapeRecord* replay, ShapeRecord* learning) {
  const EngineImpl& e = *engine_;
  const Node& node = e.graph.nodes[e.schedule[pos]];
  expected_dtypes_.assign(node.outputs.size(), DType::kUndefined);
  if (replay) {
    const std::vector<RecordedOutput>& recorded = replay->outputs[pos];
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const int v = node.outputs[i];
      if (v == kNoValue) continue;
      values_[v] = Tensor();
      expected_dtypes_[i] = recorded[i].dtype;
      if (!recorded[i].allocate) continue;
      Result<Tensor> t = arena_->allocate(v, static_cast<int>(pos), recorded[i].dtype, recorded[i].shape);
      if (!t.is_ok()) return t.status().with_context(node.describe() + " output " + std::to_string(i));
      values_[v] = std::move(t).value();
    }
    return Status::ok();
  }
  RuntimeInferContext ictx(node, e.graph.opset(node.domain), e.consumed, values_, &e.shape_derived);
  KILN_RETURN_IF_ERROR(in_node(e.kernels[e.schedule[pos]]->infer(ictx), node));
  if (ictx.reads_runtime_values()) learning->reusable = false;
  std::vector<RecordedOutput>& recorded = learning->outputs[pos];
  recorded.assign(node.outputs.size(), RecordedOutput());
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    const int v = node.outputs[i];
    const InferredOutput& out = ictx.inferred()[i];
    if (v == kNoValue) continue;
    values_[v] = Tensor();
    if (out.set) expected_dtypes_[i] = out.dtype;
    if (out.set && out.shape && is_concrete(*out.shape) && is_supported_dtype(out.dtype)) {
      Result<Tensor> t = arena_->allocate(v, static_cast<int>(pos), out.dtype, to_concrete(*out.shape));
      if (!t.is_ok()) return t.status().with_context(node.describe() + " output " + std::to_string(i));
      values_[v] = std::move(t).value();
      recorded[i].allocate = true;
    } else if (e.consumed[v]) {
      learning->reusable = false;  // a size only the kernel knows: may differ next run
    }
  }
  return Status::ok();
}

// After the node ran in a learning run: what it produced, and which outputs it replaced
// with tensors of its own (those are not allocated when the record is replayed).
void ExecutionContext::record_outputs(size_t pos, const std::vector<const void*>& allocated, ShapeRecord& learning) {
  const Node& node = engine_->graph.nodes[engine_->schedule[pos]];
  std::vector<RecordedOutput>& recorded = learning.outputs[pos];
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    const int v = node.outputs[i];
    if (v == kNoValue || !values_[v].defined()) {
      recorded[i].allocate = false;
      continue;
    }
    recorded[i].dtype = values_[v].dtype();
    recorded[i].shape = values_[v].shape();
    recorded[i].allocate = recorded[i].allocate && values_[v].raw() == allocated[i];
  }
}

Status ExecutionContext::run() {
  const EngineImpl& e = *engine_;
  KILN_RETURN_IF_ERROR(check_symbolic_dims(e.inputs, inputs_));
  if (values_.size() != e.graph.values.size()) {
    values_.assign(e.graph.values.size(), Tensor());
    for (size_t v = 0; v < e.graph.values.size(); ++v) {
      if (e.graph.values[v].is_constant()) values_[v] = e.graph.values[v].constant;
    }
  }
  for (size_t i = 0; i < e.graph.inputs.size(); ++i) values_[e.graph.inputs[i]] = inputs_[i];

  const ShapeRecords::Key key = ShapeRecords::key_of(inputs_);
  const ShapeRecord* known = records_->find(key);
  const ShapeRecord* replay = known && known->reusable ? known : nullptr;
  std::unique_ptr<ShapeRecord> learning;
  if (!replay) {
    learning = std::make_unique<ShapeRecord>();
    learning->signature = known ? known->signature : signature_text(inputs_);
    learning->outputs.resize(e.schedule.size());
  }
  arena_->begin_run(replay ? replay->signature : learning->signature, e.graph.values.size());
  if (profiling_) layer_times_ms_.assign(e.schedule.size(), 0.0);
  std::vector<const void*> allocated;
  Status status = Status::ok();
  try {
    for (size_t pos = 0; pos < e.schedule.size() && status.is_ok(); ++pos) {
      const int n = e.schedule[pos];
      const Node& node = e.graph.nodes[n];
      status = prepare_outputs(pos, replay, learning.get());
      if (!status.is_ok()) break;
      if (learning) {
        allocated.assign(node.outputs.size(), nullptr);
        for (size_t i = 0; i < node.outputs.size(); ++i) {
          if (node.outputs[i] != kNoValue) allocated[i] = values_[node.outputs[i]].raw();
        }
      }
      SlotRunContext rctx(node, e.consumed, values_, scratch_);
      const auto start = profiling_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
      status = in_node(e.kernels[n]->run(rctx), node);
      if (profiling_) {
        layer_times_ms_[pos] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      }
      if (!status.is_ok()) break;
      status = check_outputs(node, expected_dtypes_, values_, e.consumed);
      if (!status.is_ok()) break;
      if (learning) record_outputs(pos, allocated, *learning);
      arena_->after_node(node, values_);
      for (int in : node.inputs) {
        if (in != kNoValue && e.last_use[in] == static_cast<int>(pos)) values_[in] = Tensor();
      }
    }
  } catch (const std::bad_alloc&) {
    status = resource_exhausted("out of memory during inference");
  } catch (const std::exception& ex) {
    status = internal_error(std::string("unexpected exception during inference: ") + ex.what());
  }
  if (status.is_ok()) {
    outputs_.clear();
    for (int out : e.graph.outputs) outputs_.push_back(values_[out]);
  }
  // Drop every activation reference (constants stay bound for the next run).
  for (size_t v = 0; v < values_.size(); ++v) {
    if (!e.graph.values[v].is_constant()) values_[v] = Tensor();
  }
  KILN_RETURN_IF_ERROR(status);
  KILN_RETURN_IF_ERROR(arena_->end_run(e.last_use, e.options.workspace_limit_bytes));
  if (learning && !known) {
    // A record that cannot be replayed is kept only for its signature.
    if (!learning->reusable) learning->outputs.clear();
    records_->insert(key, std::move(*learning));
  }
  return Status::ok();
}

Result<Tensor> ExecutionContext::output(const std::string& name) const {
  for (size_t i = 0; i < engine_->outputs.size() && i < outputs_.size(); ++i) {
    if (engine_->outputs[i].name == name) return outputs_[i];
  }
  return not_found("no output named '" + name + "' (or run() has not succeeded yet)");
}

}  // namespace kiln
