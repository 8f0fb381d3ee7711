// The command line, trtexec's flag names and syntax (--onnx=, --shapes=, --iterations=, ...),
// so scripts written for trtexec run kiln by changing the binary name.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln::cli {

struct Options {
  // Model options
  std::string onnx;
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
};

// Parses argv. Returns an exit code when kiln must stop here: 0 after --help, 2 on a flag
// syntax error (unknown flag, a number that is not one), with the message already printed.
std::optional<int> parse_options(int argc, char** argv, Options& options);

// Range checks on values CLI11 accepted (--iterations=0): exit 1 like other bad requests.
Status validate_options(const Options& options);

// trtexec's "=== Model Options ===" block: the settings this run uses.
void print_options(const Options& options);

}  // namespace kiln::cli
