#include "options.h"

#include <CLI/CLI.hpp>

#include <sstream>

#include "log.h"

namespace kiln::cli {
namespace {

constexpr const char* kModel = "Model Options";
constexpr const char* kInference = "Inference Options";
constexpr const char* kReporting = "Reporting Options";

// Help laid out like trtexec's: "=== Model Options ===" headers and "--onnx=<file>".
class TrtexecFormatter : public CLI::Formatter {
 public:
  std::string make_group(std::string group, bool is_positional,
                         std::vector<const CLI::Option*> opts) const override {
    std::string out = "=== " + group + " ===\n";
    for (const CLI::Option* opt : opts) out += make_option(opt, is_positional);
    return out;
  }
  std::string make_usage(const CLI::App* app, std::string name) const override {
    return CLI::Formatter::make_usage(app, std::move(name)) + "\n";
  }
  std::string make_option_opts(const CLI::Option* opt) const override {
    return opt->get_type_name().empty() ? "" : "=" + opt->get_type_name();
  }
};

void add_flags(CLI::App& app, Options& o) {
  // A repeated scalar flag takes its last value, so a wrapper script can append overrides.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--onnx", o.onnx, "ONNX model file (required)")
      ->type_name("<file>")->group(kModel);

  // One value per occurrence, all occurrences kept: `--shapes=a:1 --shapes=b:2` works as
  // `--shapes=a:1,b:2`, and a stray word after the flag is an error, not a second value.
  auto list = [&](const char* name, std::vector<std::string>& dest, const char* help) {
    app.add_option(name, dest, help)
        ->type_name("spec")->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->group(kInference);
  };
  list("--shapes", o.shapes,
       "Run shapes of dynamic inputs. spec ::= name\":\"dims[\",\"spec],\n"
       "dims ::= D[\"x\"D]...  e.g. input_ids:1x128,attention_mask:1x128\n"
       "Names may be wrapped in single quotes: 'input:0':1x3.\n"
       "A dynamic dim not given takes the size its symbolic name (\"batch\")\n"
       "has in another given input, else 1 (with a warning).\n"
       "The model's fixed dims cannot be changed.");
  list("--loadInputs", o.load_inputs,
       "Load inputs from .npy files (default = generate inputs).\n"
       "spec ::= name\":\"file.npy[\",\"spec]  e.g. input_ids:ids.npy,mask:m.npy\n"
       "dtype and shape must match the model and --shapes.");
  list("--inputRange", o.input_ranges,
       "Value range of generated inputs (fixed seed).\n"
       "spec ::= [name\":\"]LO\":\"HI[\",\"spec]  e.g. 0:1000 or input_ids:0:30522\n"
       "Without a name: every generated numeric input. Integers are\n"
       "uniform in [LO, HI) (LO, HI integers), floats uniform in [LO, HI).\n"
       "Default: floats uniform in [-1, 1]; integers in [0, 2), i.e. 0 or 1\n"
       "(safe for token ids, attention masks, token type ids); bool 0 or 1.");
  app.add_option("--iterations", o.iterations,
                 "Run at least N inference iterations (default = 10)")
      ->type_name("N")->group(kInference);
  app.add_option("--warmUp", o.warmup_ms,
                 "Run for N ms to warm up before measuring performance\n(default = 200)")
      ->type_name("N")->group(kInference);
  app.add_option("--duration", o.duration_s,
                 "Run performance measurements for at least N seconds wallclock\n"
                 "time (default = 3). Measuring stops when both --iterations and\n"
                 "--duration are satisfied.")
      ->type_name("N")->group(kInference);

  app.add_flag("--verbose", o.verbose,
               "Print the model's inputs and outputs (dtypes, symbolic shapes)\n"
               "and the time of every iteration")
      ->group(kReporting);
  app.add_option("--exportOutput", o.export_output,
                 "Write the outputs of the last run to a JSON file in trtexec's\nformat: "
                 "[{\"name\": \"logits\", \"dimensions\": \"1x2\", \"values\": [...]}]")
      ->type_name("<file>")->group(kReporting);
  app.add_option("--exportOutputNpy", o.export_output_npy,
                 "Write each output of the last run to <dir>/<output name>.npy\n(kiln extension)")
      ->type_name("<dir>")->group(kReporting);
}

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (const std::string& p : parts) s += (s.empty() ? "" : ",") + p;
  return s;
}

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

}  // namespace

std::optional<int> parse_options(int argc, char** argv, Options& options) {
  CLI::App app("kiln: runs and times an ONNX model on the CPU. Flags follow TensorRT's trtexec.", "kiln");
  auto formatter = std::make_shared<TrtexecFormatter>();
  formatter->column_width(26);
  app.formatter(formatter);
  app.footer(
      "Example:\n"
      "  kiln --onnx=bert.onnx --shapes=input_ids:1x128,attention_mask:1x128 --iterations=100\n"
      "Exit status: 0 on success, 1 when the model, an input or a run fails,\n"
      "2 on a flag syntax error.");
  add_flags(app, options);
  // Set after the other flags so the Help group comes last, as in trtexec.
  app.set_help_flag("-h,--help", "Print this message and exit")->group("Help");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help
    log_error(std::string(e.what()) + " (run 'kiln --help' for the flags)");
    return 2;  // the usual exit status of a command-line usage error
  }
  return std::nullopt;
}

Status validate_options(const Options& o) {
  if (o.onnx.empty()) return invalid_argument("no model given: use --onnx=<file>");
  if (o.iterations < 1) {
    return invalid_argument("--iterations must be at least 1, got " + std::to_string(o.iterations));
  }
  // `!(x >= 0)` also rejects NaN, which CLI11 parses from "nan".
  if (!(o.warmup_ms >= 0)) return invalid_argument("--warmUp must be >= 0 ms, got " + number(o.warmup_ms));
  if (!(o.duration_s >= 0)) return invalid_argument("--duration must be >= 0 s, got " + number(o.duration_s));
  return Status::ok();
}

void print_options(const Options& o) {
  log_info("=== Model Options ===");
  log_info("Format: ONNX");
  log_info("Model: " + o.onnx);
  log_info("=== Inference Options ===");
  log_info("Shapes: " + (o.shapes.empty() ? std::string("(model defaults)") : joined(o.shapes)));
  log_info("Inputs: " + (o.load_inputs.empty() ? std::string("(generated)") : joined(o.load_inputs)));
  if (!o.input_ranges.empty()) log_info("Input ranges: " + joined(o.input_ranges));
  log_info("Iterations: " + std::to_string(o.iterations));
  log_info("Duration: " + number(o.duration_s) + "s (+ " + number(o.warmup_ms) + "ms warm up)");
  log_info("=== Reporting Options ===");
  log_info(std::string("Verbose: ") + (o.verbose ? "Enabled" : "Disabled"));
  log_info("Percentiles: 90,95,99");
  log_info("Export output to JSON file: " + o.export_output);
  if (!o.export_output_npy.empty()) log_info("Export output to npy folder: " + o.export_output_npy);
}

}  // namespace kiln::cli
