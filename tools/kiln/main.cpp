// kiln: the command-line runner, trtexec-compatible. Every failure ends as one "[E] ..."
// line and exit status 1 (2 for flag syntax errors); nothing escapes main as an exception.
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "benchmark.h"
#include "input_plan.h"
#include "kiln/engine.h"
#include "log.h"
#include "options.h"
#include "output_export.h"
#include "perf_report.h"

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

Status run(const Options& options) {
  KILN_RETURN_IF_ERROR(validate_options(options));
  KILN_ASSIGN_OR_RETURN(InputRequest request, parse_input_request(options));
  print_options(options);

  Result<std::shared_ptr<Engine>> loaded = Engine::from_onnx_file(options.onnx);
  if (!loaded.is_ok()) return loaded.status().with_context("cannot load model '" + options.onnx + "'");
  const Engine& engine = **loaded;
  log_info("Engine built from " + options.onnx + " (" + std::to_string(engine.num_nodes()) + " nodes)");
  print_model(engine);

  KILN_ASSIGN_OR_RETURN(std::vector<PreparedInput> inputs, prepare_inputs(engine.inputs(), request));
  std::unique_ptr<ExecutionContext> context = engine.create_context();
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
  print_performance_summary(result);

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
