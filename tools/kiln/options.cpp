#include "options.h"

#include <CLI/CLI.hpp>

#include <sstream>

#include "log.h"

namespace kiln::cli {
namespace {

constexpr const char* kModel = "Model Options";
constexpr const char* kBuild = "Build Options";
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
  app.add_option("--onnx", o.onnx, "ONNX model file (required unless --loadEngine)")
      ->type_name("<file>")->group(kModel);

  // One value per occurrence, all occurrences kept: `--shapes=a:1 --shapes=b:2` works as
  // `--shapes=a:1,b:2`, and a stray word after the flag is an error, not a second value.
  auto list_in = [&](const char* group, const char* name, std::vector<std::string>& dest, const char* help) {
    app.add_option(name, dest, help)
        ->type_name("spec")->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->group(group);
  };
  auto list = [&](const char* name, std::vector<std::string>& dest, const char* help) {
    list_in(kInference, name, dest, help);
  };

  // The build phase, trtexec's "=== Build Options ===".
  app.add_option("--saveEngine", o.save_engine,
                 "Build from --onnx, then save the engine as a plan file\n(written atomically)")
      ->type_name("<file>")->group(kBuild);
  app.add_option("--loadEngine", o.load_engine, "Run a plan file written by --saveEngine (no --onnx)")
      ->type_name("<file>")->group(kBuild);
  app.add_flag("--skipInference", o.skip_inference,
               "Exit after the engine has been built (and saved) or loaded;\nskip the inference timing")
      ->group(kBuild);
  list_in(kBuild, "--minShapes", o.min_shapes,
          "Build with an optimization profile of these min shapes\n"
          "(syntax as --shapes). The i-th --minShapes, --optShapes and\n"
          "--maxShapes form profile i; repeat the three for more profiles.\n"
          "Only --optShapes: min = max = opt. No --optShapes: opt = max.\n"
          "Runs without --shapes use the opt shapes of --profile.");
  list_in(kBuild, "--optShapes", o.opt_shapes, "Build with a profile of these opt shapes (kernels tuned for them)");
  list_in(kBuild, "--maxShapes", o.max_shapes, "Build with a profile of these max shapes");
  list_in(kBuild, "--disablePasses", o.disable_passes,
          "Turn off graph optimization passes by name: a,b (kiln extension;\n"
          "to find a wrong rewrite by bisection)");
  list_in(kBuild, "--memPoolSize", o.mem_pool_size,
          "Memory pool limits: poolspec ::= pool\":\"size[\",\"poolspec];\n"
          "pool ::= \"workspace\" (activation memory); size in MiB, or with a\n"
          "suffix K, M or G (e.g. workspace:1024M, workspace:2G)");
  app.add_option("--workspace", o.workspace, "Workspace size in MiB (deprecated: --memPoolSize=workspace:N)")
      ->type_name("N")->group(kBuild);
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
  app.add_option("--profile", o.profile,
                 "Profile whose opt shapes a run without --shapes uses\n(default = 0)")
      ->type_name("N")->group(kInference);
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
  app.add_option("--exportTimes", o.export_times,
                 "Write the timing of every timed run to a JSON file:\n"
                 "[{\"startHostMs\", \"endHostMs\", \"latencyMs\"}] (ms from the first run)")
      ->type_name("<file>")->group(kReporting);
  app.add_flag("--dumpProfile", o.dump_profile,
               "Time every layer during the timed runs (not the warm-up)\nand print the per-layer profile")
      ->group(kReporting);
  app.add_option("--exportProfile", o.export_profile,
                 "Write the per-layer profile to a JSON file: [{\"count\"},\n"
                 "{\"name\", \"timeMs\", \"averageMs\", \"medianMs\", \"percentage\"}]")
      ->type_name("<file>")->group(kReporting);
  app.add_flag("--dumpLayerInfo", o.dump_layer_info,
               "Print the engine's layers after the build: types, shapes,\nprecision and kernels")
      ->group(kReporting);
  app.add_option("--exportLayerInfo", o.export_layer_info, "Write the engine's layers to a JSON file")
      ->type_name("<file>")->group(kReporting);
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
      "Examples:\n"
      "  kiln --onnx=bert.onnx --shapes=input_ids:1x128,attention_mask:1x128 --iterations=100\n"
      "  kiln --onnx=bert.onnx --minShapes=input_ids:1x8 --optShapes=input_ids:1x128\n"
      "       --maxShapes=input_ids:1x512 --saveEngine=bert.plan --skipInference\n"
      "  kiln --loadEngine=bert.plan --shapes=input_ids:1x128\n"
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
  if (!o.load_engine.empty()) {
    if (!o.onnx.empty()) {
      return invalid_argument("--onnx and --loadEngine both given: a run uses either an ONNX model or a plan");
    }
    if (!o.save_engine.empty()) {
      return invalid_argument("--saveEngine needs --onnx: a loaded plan is saved already");
    }
  } else if (o.onnx.empty()) {
    return invalid_argument("no model given: use --onnx=<file> (or --loadEngine=<plan>)");
  }
  if (o.profile < 0) return invalid_argument("--profile must be >= 0, got " + std::to_string(o.profile));
  if (o.iterations < 1) {
    return invalid_argument("--iterations must be at least 1, got " + std::to_string(o.iterations));
  }
  // `!(x >= 0)` also rejects NaN, which CLI11 parses from "nan".
  if (!(o.warmup_ms >= 0)) return invalid_argument("--warmUp must be >= 0 ms, got " + number(o.warmup_ms));
  if (!(o.duration_s >= 0)) return invalid_argument("--duration must be >= 0 s, got " + number(o.duration_s));
  return Status::ok();
}

std::string profile_text(const ShapeProfile& p) {
  std::string s;
  for (const auto& [name, opt] : p.opt) {
    auto min = p.min.find(name);
    auto max = p.max.find(name);
    s += (s.empty() ? "" : ", ") + name + "=" + (min != p.min.end() ? shape_to_string(min->second) : "?") + "+" +
         shape_to_string(opt) + "+" + (max != p.max.end() ? shape_to_string(max->second) : "?");
  }
  return s;
}

std::string mib_text(int64_t bytes) { return number(static_cast<double>(bytes) / (1 << 20)) + " MiB"; }

void print_options(const Options& o, const BuildOptions& build) {
  log_info("=== Model Options ===");
  log_info(o.load_engine.empty() ? "Format: ONNX" : "Format: kiln plan");
  log_info("Model: " + (o.load_engine.empty() ? o.onnx : o.load_engine));
  log_info("=== Build Options ===");
  if (o.load_engine.empty()) {
    log_info("Workspace: " + (build.workspace_limit_bytes ? mib_text(build.workspace_limit_bytes)
                                                          : std::string("unlimited")));
    for (size_t i = 0; i < build.profiles.size(); ++i) {
      // trtexec's min+opt+max notation.
      log_info("Input build shapes (profile " + std::to_string(i) + "): " + profile_text(build.profiles[i]));
    }
    if (build.profiles.empty()) log_info("Input build shapes: model");
    log_info("Disabled passes: " + (build.disabled_passes.empty() ? std::string("none") : joined(build.disabled_passes)));
  }
  log_info("Save engine: " + o.save_engine);
  log_info("Load engine: " + o.load_engine);
  log_info("=== Inference Options ===");
  std::string shapes = joined(o.shapes);
  if (shapes.empty()) {
    shapes = build.profiles.empty() ? "(model defaults)" : "(opt shapes of profile " + std::to_string(o.profile) + ")";
  }
  log_info("Shapes: " + shapes);
  log_info("Inputs: " + (o.load_inputs.empty() ? std::string("(generated)") : joined(o.load_inputs)));
  if (!o.input_ranges.empty()) log_info("Input ranges: " + joined(o.input_ranges));
  if (!o.load_engine.empty() || !build.profiles.empty()) log_info("Profile: " + std::to_string(o.profile));
  log_info("Iterations: " + std::to_string(o.iterations));
  log_info("Duration: " + number(o.duration_s) + "s (+ " + number(o.warmup_ms) + "ms warm up)");
  log_info("=== Reporting Options ===");
  log_info(std::string("Verbose: ") + (o.verbose ? "Enabled" : "Disabled"));
  log_info("Percentiles: 90,95,99");
  log_info("Export output to JSON file: " + o.export_output);
  if (!o.export_output_npy.empty()) log_info("Export output to npy folder: " + o.export_output_npy);
  log_info("Export timing to JSON file: " + o.export_times);
  log_info(std::string("Dump profile: ") + (o.dump_profile ? "Enabled" : "Disabled"));
  log_info("Export profile to JSON file: " + o.export_profile);
  log_info(std::string("Dump layer info: ") + (o.dump_layer_info ? "Enabled" : "Disabled"));
  log_info("Export layer info to JSON file: " + o.export_layer_info);
}

}  // namespace kiln::cli
