#include "kiln/engine.h"

#include <chrono>
#include <map>
#include <new>

#include "onnx/model_importer.h"
#include "passes/pipeline.h"
#include "plan/plan_file.h"
#include "runtime/profile_validation.h"
#include "runtime/activation_arena.h"
#include "runtime/engine_impl.h"
#include "runtime/infer_contexts.h"
#include "runtime/node_status.h"
#include "runtime/run_context.h"

namespace kiln {

std::string TensorDesc::shape_string() const {
  if (!has_shape) return "(unknown rank)";
  if (dims.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += "x";
    s += dims[i] >= 0 ? std::to_string(dims[i]) : (dim_names[i].empty() ? "?" : dim_names[i]);
  }
  return s;
}

Engine::Engine(std::unique_ptr<EngineImpl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

Result<std::shared_ptr<Engine>> Engine::from_onnx_file(const std::string& path) {
  return build_from_onnx(path, BuildOptions{});
}

Result<std::shared_ptr<Engine>> Engine::from_onnx_bytes(const std::string& bytes, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(Graph graph, import_onnx_bytes(bytes, "", name));
  KILN_RETURN_IF_ERROR(optimize_graph(graph, BuildOptions{}).with_context("model '" + name + "'"));
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<EngineImpl> impl, build_engine(std::move(graph), cpu_backend()));
  return std::shared_ptr<Engine>(new Engine(std::move(impl)));
}

Result<std::shared_ptr<Engine>> Engine::build_from_onnx(const std::string& path, const BuildOptions& options) {
  KILN_ASSIGN_OR_RETURN(Graph graph, import_onnx_file(path));
  KILN_RETURN_IF_ERROR(validate_profiles(graph, options).with_context("model '" + path + "'"));
  KILN_RETURN_IF_ERROR(optimize_graph(graph, options).with_context("model '" + path + "'"));
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<EngineImpl> impl, build_engine(std::move(graph), cpu_backend(), options));
  return std::shared_ptr<Engine>(new Engine(std::move(impl)));
}

Result<std::shared_ptr<Engine>> Engine::from_plan_file(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(PlanContents plan, read_plan_file(path));
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<EngineImpl> impl,
                        build_engine(std::move(plan.graph), cpu_backend(), plan.options));
  return std::shared_ptr<Engine>(new Engine(std::move(impl)));
}

Status Engine::save_plan(const std::string& path) const {
  return write_plan_file(path, impl_->graph, impl_->options);
}

const std::vector<TensorDesc>& Engine::inputs() const { return impl_->inputs; }
const std::vector<TensorDesc>& Engine::outputs() const { return impl_->outputs; }
size_t Engine::num_nodes() const { return impl_->graph.nodes.size(); }
const BuildOptions& Engine::build_options() const { return impl_->options; }

std::vector<LayerInfo> Engine::layer_info() const {
  const Graph& g = impl_->graph;
  auto shape_text = [&](int v) {
    if (v == kNoValue) return std::string();
    const auto& shape = g.values[v].type.shape;
    return shape ? sym_shape_to_string(*shape) : std::string("?");
  };
  std::vector<LayerInfo> layers;
  for (int n : impl_->schedule) {
    const Node& node = g.nodes[n];
    LayerInfo info;
    info.name = node.name;
    info.type = node.op_type;
    const Attribute* sources = node.find_attribute("source_nodes");
    info.source_nodes = sources && sources->kind == Attribute::Kind::kStrings ? sources->strings
                                                                               : std::vector<std::string>{node.name};
    for (int v : node.inputs) {
      if (v == kNoValue) continue;
      info.inputs.push_back(g.values[v].name);
      info.input_shapes.push_back(shape_text(v));
    }
    for (int v : node.outputs) {
      if (v == kNoValue) continue;
      info.outputs.push_back(g.values[v].name);
      info.output_shapes.push_back(shape_text(v));
    }
    if (!node.outputs.empty() && node.outputs[0] != kNoValue) info.precision = dtype_name(g.values[node.outputs[0]].type.dtype);
    info.implementation = impl_->kernels[n]->implementation();
    layers.push_back(std::move(info));
  }
  return layers;
}

std::unique_ptr<ExecutionContext> Engine::create_context() const {
  return std::unique_ptr<ExecutionContext>(new ExecutionContext(impl_));
}

ExecutionContext::ExecutionContext(std::shared_ptr<const EngineImpl> engine)
    : engine_(std::move(engine)), arena_(std::make_unique<ActivationArena>()) {
  inputs_.resize(engine_->inputs.size());
}

int64_t ExecutionContext::activation_bytes() const { return arena_->arena_bytes(); }
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

Status check_outputs(const Node& node, const RuntimeInferContext& ictx, const std::vector<Tensor>& values,
                     const std::vector<bool>& consumed) {
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    const int v = node.outputs[i];
    if (v == kNoValue || !consumed[v]) continue;
    if (!values[v].defined()) return internal_error(node.describe() + ": output " + std::to_string(i) + " was not produced");
    const InferredOutput& inf = ictx.inferred()[i];
    if (inf.set && inf.dtype != values[v].dtype()) {
      return internal_error(node.describe() + ": output " + std::to_string(i) + " has dtype " +
                            dtype_name(values[v].dtype()) + ", inferred " + dtype_name(inf.dtype));
    }
  }
  return Status::ok();
}

}  // namespace

Status ExecutionContext::run() {
  const EngineImpl& e = *engine_;
  KILN_RETURN_IF_ERROR(check_symbolic_dims(e.inputs, inputs_));
  values_.assign(e.graph.values.size(), Tensor());
  for (size_t v = 0; v < e.graph.values.size(); ++v) {
    if (e.graph.values[v].is_constant()) values_[v] = e.graph.values[v].constant;
  }
  for (size_t i = 0; i < e.graph.inputs.size(); ++i) values_[e.graph.inputs[i]] = inputs_[i];

  std::string signature;
  for (const Tensor& t : inputs_) signature += shape_to_string(t.shape()) + ";";
  arena_->begin_run(signature, e.graph.values.size());
  std::vector<Tensor> scratch;
  if (profiling_) layer_times_ms_.assign(e.schedule.size(), 0.0);
  try {
    for (size_t pos = 0; pos < e.schedule.size(); ++pos) {
      const int n = e.schedule[pos];
      const Node& node = e.graph.nodes[n];
      const OpKernel& kernel = *e.kernels[n];
      RuntimeInferContext ictx(node, e.graph.opset(node.domain), e.consumed, values_);
      Status s = kernel.infer(ictx);
      if (!s.is_ok()) return in_node(s, node);
      for (size_t i = 0; i < node.outputs.size(); ++i) {
        const int v = node.outputs[i];
        const InferredOutput& out = ictx.inferred()[i];
        if (v == kNoValue) continue;
        values_[v] = Tensor();
        if (out.set && out.shape && is_concrete(*out.shape) && is_supported_dtype(out.dtype)) {
          Result<Tensor> t = arena_->allocate(v, static_cast<int>(pos), out.dtype, to_concrete(*out.shape));
          if (!t.is_ok()) return t.status().with_context(node.describe() + " output " + std::to_string(i));
          values_[v] = std::move(t).value();
        }
      }
      SlotRunContext rctx(node, e.consumed, values_, scratch);
      const auto start = profiling_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
      s = kernel.run(rctx);
      if (profiling_) {
        layer_times_ms_[pos] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      }
      if (!s.is_ok()) return in_node(s, node);
      KILN_RETURN_IF_ERROR(check_outputs(node, ictx, values_, e.consumed));
      arena_->after_node(node, values_);
      for (int in : node.inputs) {
        if (in != kNoValue && e.last_use[in] == static_cast<int>(pos)) values_[in] = Tensor();
      }
    }
  } catch (const std::bad_alloc&) {
    return resource_exhausted("out of memory during inference");
  } catch (const std::exception& ex) {
    return internal_error(std::string("unexpected exception during inference: ") + ex.what());
  }
  outputs_.clear();
  for (int out : e.graph.outputs) outputs_.push_back(values_[out]);
  values_.clear();
  KILN_RETURN_IF_ERROR(arena_->end_run(e.last_use, e.options.workspace_limit_bytes));
  return Status::ok();
}

Result<Tensor> ExecutionContext::output(const std::string& name) const {
  for (size_t i = 0; i < engine_->outputs.size() && i < outputs_.size(); ++i) {
    if (engine_->outputs[i].name == name) return outputs_[i];
  }
  return not_found("no output named '" + name + "' (or run() has not succeeded yet)");
}

}  // namespace kiln
