#include "kiln/engine.h"

#include <algorithm>
#include <cstring>

#include "onnx/model_importer.h"
#include "passes/pipeline.h"
#include "plan/plan_file.h"
#include "runtime/profile_validation.h"
#include "runtime/engine_impl.h"

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

namespace {

// Import, optimize for `options` and prepare kernels: the build phase before memory planning.
Result<std::unique_ptr<EngineImpl>> build_impl_from_file(const std::string& path, const BuildOptions& options) {
  KILN_ASSIGN_OR_RETURN(Graph graph, import_onnx_file(path));
  KILN_RETURN_IF_ERROR(validate_profiles(graph, options).with_context("model '" + path + "'"));
  KILN_RETURN_IF_ERROR(optimize_graph(graph, options).with_context("model '" + path + "'"));
  return build_engine(std::move(graph), cpu_backend(), options);
}

}  // namespace

// Memory is planned at the first run of each shape, as for dynamic shapes: no inference
// at load time.
Result<std::shared_ptr<Engine>> Engine::from_onnx_file(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<EngineImpl> impl, build_impl_from_file(path, BuildOptions{}));
  return std::shared_ptr<Engine>(new Engine(std::move(impl)));
}

Result<std::shared_ptr<Engine>> Engine::from_onnx_bytes(const std::string& bytes, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(Graph graph, import_onnx_bytes(bytes, "", name));
  KILN_RETURN_IF_ERROR(optimize_graph(graph, BuildOptions{}).with_context("model '" + name + "'"));
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<EngineImpl> impl, build_engine(std::move(graph), cpu_backend()));
  return std::shared_ptr<Engine>(new Engine(std::move(impl)));
}

Result<std::shared_ptr<Engine>> Engine::build_from_onnx(const std::string& path, const BuildOptions& options) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<EngineImpl> impl, build_impl_from_file(path, options));
  std::shared_ptr<Engine> engine(new Engine(std::move(impl)));
  KILN_RETURN_IF_ERROR(engine->plan_memory_at_build().with_context("model '" + path + "'"));
  return engine;
}

Result<std::shared_ptr<Engine>> Engine::from_plan_file(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(PlanContents plan, read_plan_file(path));
  // Layouts named by another library version may mean something else: those weights are
  // packed again from the plain ones instead.
  std::vector<std::vector<PackedWeight>> packed;
  if (plan.packed_weights.format == cpu_backend().packed_weights_format()) {
    packed = std::move(plan.packed_weights.per_node);
  }
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<EngineImpl> impl,
                        build_engine(std::move(plan.graph), cpu_backend(), plan.options, packed));
  return std::shared_ptr<Engine>(new Engine(std::move(impl)));
}

Status Engine::save_plan(const std::string& path) const {
  const Backend& backend = cpu_backend();
  PlanPackedWeights packed;
  packed.format = backend.packed_weights_format();
  for (const auto& kernel : impl_->kernels) packed.per_node.push_back(kernel->packed_weights());
  PlanWriteOptions write_options;
  if (packed.count() > 0) {
    for (const std::string& f : backend.packed_weights_cpu_features()) {
      std::vector<std::string>& features = write_options.cpu_features;
      if (std::find(features.begin(), features.end(), f) == features.end()) features.push_back(f);
    }
  }
  return write_plan_file(path, impl_->graph, impl_->options, write_options, packed);
}

PackedWeightStats Engine::packed_weight_stats() const {
  PackedWeightStats stats;
  for (const auto& kernel : impl_->kernels) {
    for (const PackedWeight& w : kernel->packed_weights()) {
      ++stats.count;
      stats.bytes += static_cast<int64_t>(w.data.nbytes());
      stats.from_plan += w.from_plan ? 1 : 0;
    }
  }
  return stats;
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

Result<int64_t> Engine::plan_activation_memory(const std::map<std::string, Shape>& shapes, int profile) const {
  std::unique_ptr<ExecutionContext> context = create_context();
  KILN_RETURN_IF_ERROR(context->set_optimization_profile(profile));
  for (const TensorDesc& d : inputs()) {
    auto given = shapes.find(d.name);
    Shape shape;
    if (given != shapes.end()) {
      shape = given->second;
    } else {
      for (int64_t dim : d.dims) {
        if (dim < 0) return invalid_argument("input '" + d.name + "' has dynamic shape " + d.shape_string() + ": give its shape");
        shape.push_back(dim);
      }
    }
    KILN_ASSIGN_OR_RETURN(Tensor zeros, Tensor::allocate(d.dtype, shape));
    std::memset(zeros.raw(), 0, zeros.nbytes());
    KILN_RETURN_IF_ERROR(context->set_input(d.name, zeros));
  }
  KILN_RETURN_IF_ERROR(context->run());
  return context->activation_bytes();
}

Status Engine::plan_memory_at_build() {
  const std::vector<ShapeProfile>& profiles = impl_->options.profiles;
  if (profiles.empty()) {
    planned_activation_bytes_.assign(1, -1);
    for (const TensorDesc& d : inputs()) {
      if (!d.has_shape) return Status::ok();
      for (int64_t dim : d.dims) {
        if (dim < 0) return Status::ok();  // dynamic: planned per shape at run time
      }
    }
  } else {
    planned_activation_bytes_.assign(profiles.size(), -1);
  }
  for (size_t p = 0; p < planned_activation_bytes_.size(); ++p) {
    const std::string where = profiles.empty() ? std::string("the input shapes") : "profile " + std::to_string(p);
    // A model that rejects all-zero inputs (a zero divisor in a shape computation) is left
    // to plan at run time; only a plan over the workspace limit fails the build.
    Result<int64_t> opt = plan_activation_memory(profiles.empty() ? std::map<std::string, Shape>{} : profiles[p].opt,
                                                 static_cast<int>(p));
    if (opt.is_ok()) planned_activation_bytes_[p] = *opt;
    if (!opt.is_ok() && opt.status().code() == StatusCode::kResourceExhausted) {
      return opt.status().with_context(where + (profiles.empty() ? "" : " (opt shapes)"));
    }
    if (profiles.empty() || impl_->options.workspace_limit_bytes <= 0) continue;
    Result<int64_t> max = plan_activation_memory(profiles[p].max, static_cast<int>(p));
    if (!max.is_ok() && max.status().code() == StatusCode::kResourceExhausted) {
      return max.status().with_context(where + " (max shapes)");
    }
  }
  return Status::ok();
}

}  // namespace kiln
