// The command line, trtexec's flag names and syntax (--onnx=, --shapes=, --iterations=, ...),
// so scripts written for trtexec run kiln by changing the binary name.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kiln/build_options.h"
#include "kiln/status.h"

namespace kiln::cli {

struct Options {
  // Model options
  std::string onnx;
  // Build options (build_flags.h turns them into a kiln::BuildOptions). The shape flags
  // keep one entry per occurrence: the i-th --minShapes, --optShapes and --maxShapes
  // form profile i.
  std::string save_engine;
  std::string load_engine;
  bool skip_inference = false;
  std::vector<std::string> min_shapes;
  std::vector<std::string> opt_shapes;
  std::vector<std::string> max_shapes;
  std::vector<std::string> disable_passes;
  std::vector<std::string> mem_pool_size;
  std::string workspace;  // MiB, trtexec's older flag; kept as text for exact messages
  int profile = 0;        // the profile whose shapes a run without --shapes uses
  // Inference options. The list flags keep each occurrence's raw text; tensor_spec.h
  // splits them, since names may be quoted and hold ':' or ','.
  std::vector<std::string> shapes;
  std::vector<std::string> load_inputs;
  std::vector<std::string> input_ranges;
  int iterations = 10;
  double warmup_ms = 200;   // trtexec's default
  double duration_s = 3;    // trtexec's default
  // Reporting options
  bool verbose = false;
  std::string export_output;
  std::string export_output_npy;
  bool dump_layer_info = false;
  std::string export_layer_info;
  bool dump_profile = false;      // profiling costs nothing unless this or export_profile is set
  std::string export_profile;
  std::string export_times;
};

// Parses argv. Returns an exit code when kiln must stop here: 0 after --help, 2 on a flag
// syntax error (unknown flag, a number that is not one), with the message already printed.
std::optional<int> parse_options(int argc, char** argv, Options& options);

// Range checks on values CLI11 accepted (--iterations=0): exit 1 like other bad requests.
Status validate_options(const Options& options);

// trtexec's "=== Model Options ===" block: the settings this run uses. `build` is what
// the build flags parsed into.
void print_options(const Options& options, const BuildOptions& build);

}  // namespace kiln::cli
