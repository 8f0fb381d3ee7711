// kiln: the command-line runner, trtexec-compatible. Every failure ends as one "[E] ..."
// line and exit status 1 (2 for flag syntax errors); nothing escapes main as an exception.
#include <chrono>
#include <exception>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <new>
#include <sstream>
#include <string>

#include "benchmark.h"
#include "build_flags.h"
#include "input_plan.h"
#include "kiln/engine.h"
#include "layer_report.h"
#include "log.h"
#include "options.h"
#include "output_export.h"
#include "perf_report.h"
#include "profile_report.h"

namespace kiln::cli {
namespace {

void print_model(const Engine& engine) {
  log_verbose("Model has " + std::to_string(engine.num_nodes()) + " nodes");
  for (const TensorDesc& d : engine.inputs()) {
    log_verbose("Model input " + d.name + ": " + dtype_name(d.dtype) + " " + symbolic_shape(d));
  }
  for (const TensorDesc& d : engine.outputs()) {
    log_verbose("Model output " + d.name + ": " + dtype_name(d.dtype) + " " + symbolic_shape(d));
  }
}

std::string dims_text(const Shape& s) { return s.empty() ? "scalar" : shape_to_string(s); }

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

std::string ms_text(double ms) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(ms < 10 ? 3 : 1) << ms;
  return os.str();
}

std::string size_text(uintmax_t bytes) {
  std::ostringstream os;
  os << bytes << " bytes (" << std::fixed << std::setprecision(2) << static_cast<double>(bytes) / (1 << 20) << " MiB)";
  return os.str();
}

// The build phase (--onnx, optionally --saveEngine) or the runtime phase (--loadEngine).
Result<std::shared_ptr<Engine>> make_engine(const Options& options, const BuildOptions& build) {
  const auto start = std::chrono::steady_clock::now();
  if (!options.load_engine.empty()) {
    Result<std::shared_ptr<Engine>> loaded = Engine::from_plan_file(options.load_engine);
    if (!loaded.is_ok()) return loaded.status().with_context("cannot load engine '" + options.load_engine + "'");
    const double ms = ms_since(start);
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(options.load_engine, ec);
    log_info("Engine loaded in " + ms_text(ms) + " ms (" + options.load_engine + ", " +
             (ec ? std::string("size unknown") : size_text(size)) + ", " + std::to_string((*loaded)->num_nodes()) +
             " nodes)");
    return loaded;
  }
  Result<std::shared_ptr<Engine>> built = Engine::build_from_onnx(options.onnx, build);
  if (!built.is_ok()) {
    const bool shapes_profile = options.min_shapes.empty() && options.opt_shapes.empty() &&
                                options.max_shapes.empty() && !options.shapes.empty();
    const std::string from_flag = shapes_profile ? " (--shapes is the build's profile 0: min = opt = max)" : "";
    return built.status().with_context("cannot build model '" + options.onnx + "'" + from_flag);
  }
  const double ms = ms_since(start);
  log_info("Engine built from " + options.onnx + " (" + std::to_string((*built)->num_nodes()) + " nodes)");
  log_info("Engine built in " + ms_text(ms) + " ms");
  const std::vector<int64_t>& planned = (*built)->planned_activation_bytes();
  for (size_t p = 0; p < planned.size(); ++p) {
    if (planned[p] < 0) continue;
    const std::string which = planned.size() > 1 || !build.profiles.empty()
                                  ? "profile " + std::to_string(p) + " at its opt shapes"
                                  : "the input shapes";
    log_info("Activation memory planned for " + which + ": " + size_text(static_cast<uintmax_t>(planned[p])));
  }
  if (!options.save_engine.empty()) {
    const auto save_start = std::chrono::steady_clock::now();
    KILN_RETURN_IF_ERROR((*built)->save_plan(options.save_engine));
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(options.save_engine, ec);
    log_info("Engine saved to " + options.save_engine + " in " + ms_text(ms_since(save_start)) + " ms");
    log_info("Plan size: " + (ec ? std::string("unknown") : size_text(size)));
  }
  return built;
}

Status run(const Options& options) {
  KILN_RETURN_IF_ERROR(validate_options(options));
  KILN_ASSIGN_OR_RETURN(InputRequest request, parse_input_request(options));
  KILN_ASSIGN_OR_RETURN(BuildOptions build, parse_build_options(options));
  print_options(options, build);

  KILN_ASSIGN_OR_RETURN(std::shared_ptr<Engine> loaded, make_engine(options, build));
  const Engine& engine = *loaded;
  print_model(engine);
  if (options.dump_layer_info) print_layer_info(engine);
  if (!options.export_layer_info.empty()) {
    KILN_RETURN_IF_ERROR(export_layer_info(options.export_layer_info, engine));
    log_info("Wrote layer information to " + options.export_layer_info);
  }
  if (options.skip_inference) {
    log_info("Skipped inference (--skipInference)");
    return Status::ok();
  }

  // The profile comes from the flags or, for a loaded plan, from the plan.
  std::unique_ptr<ExecutionContext> context = engine.create_context();
  KILN_RETURN_IF_ERROR(context->set_optimization_profile(options.profile).with_context("--profile"));
  const std::vector<ShapeProfile>& profiles = engine.build_options().profiles;
  if (!profiles.empty() && request.shapes.empty()) {
    // trtexec runs at the opt shapes; inputs loaded from files keep their own.
    for (const auto& [name, shape] : profiles[options.profile].opt) {
      if (!request.files.count(name)) request.shapes[name] = shape;
    }
  }
  KILN_ASSIGN_OR_RETURN(std::vector<PreparedInput> inputs, prepare_inputs(engine.inputs(), request));
  for (const PreparedInput& in : inputs) {
    log_info("Created input binding for " + in.name + " with dimensions " + dims_text(in.tensor.shape()) + " (" +
             dtype_name(in.tensor.dtype()) + ", " + in.origin + ")");
    Status s = context->set_input(in.name, in.tensor);
    if (!s.is_ok()) return s.with_context("input '" + in.name + "'");
  }

  log_info("Starting inference");
  KILN_ASSIGN_OR_RETURN(BenchmarkResult result, run_benchmark(*context, options));

  std::vector<NamedTensor> outputs;
  for (size_t i = 0; i < context->outputs().size() && i < engine.outputs().size(); ++i) {
    const Tensor& t = context->outputs()[i];
    outputs.push_back({engine.outputs()[i].name, t});
    log_info("Created output binding for " + engine.outputs()[i].name + " with dimensions " +
             dims_text(t.shape()) + " (" + dtype_name(t.dtype()) + ")");
  }
  log_info("Activation memory: " + std::to_string(context->activation_bytes()) + " bytes");
  print_performance_summary(result);

  if (options.dump_profile || !options.export_profile.empty()) {
    const ProfileSummary profile = summarize_profile(engine.layer_info(), result);
    if (options.dump_profile) print_profile(profile);
    if (!options.export_profile.empty()) {
      KILN_RETURN_IF_ERROR(export_profile(options.export_profile, profile));
      log_info("Wrote profile to " + options.export_profile);
    }
  }
  if (!options.export_times.empty()) {
    KILN_RETURN_IF_ERROR(export_times(options.export_times, result));
    log_info("Wrote timing of " + std::to_string(result.latencies_ms.size()) + " runs to " + options.export_times);
  }

  if (!options.export_output.empty()) {
    KILN_RETURN_IF_ERROR(export_output_json(options.export_output, outputs));
    log_info("Wrote outputs to " + options.export_output);
  }
  if (!options.export_output_npy.empty()) {
    KILN_RETURN_IF_ERROR(export_output_npy(options.export_output_npy, outputs));
    log_info("Wrote outputs as .npy files to " + options.export_output_npy);
  }
  return Status::ok();
}

std::string command_line(int argc, char** argv) {
  std::string s = "kiln";
  for (int i = 1; i < argc; ++i) s += std::string(" ") + argv[i];
  return s;
}

}  // namespace
}  // namespace kiln::cli

int main(int argc, char** argv) {
  using namespace kiln::cli;
  // trtexec's first and last lines; scripts grep for "&&&& PASSED".
  const std::string banner = "kiln # " + command_line(argc, argv);
  try {
    Options options;
    if (std::optional<int> code = parse_options(argc, argv, options)) return *code;
    set_verbose(options.verbose);
    std::cout << "&&&& RUNNING " << banner << '\n';
    kiln::Status s = run(options);
    if (!s.is_ok()) {
      log_error(s.to_string());
      std::cout << "&&&& FAILED " << banner << std::endl;
      return 1;
    }
    std::cout << "&&&& PASSED " << banner << std::endl;
    return 0;
  } catch (const std::bad_alloc&) {
    log_error("out of memory");
  } catch (const std::exception& e) {
    log_error(std::string("unexpected error: ") + e.what());
  } catch (...) {
    log_error("unexpected error");
  }
  std::cout << "&&&& FAILED " << banner << std::endl;
  return 1;
}
