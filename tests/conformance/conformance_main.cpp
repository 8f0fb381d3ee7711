// Runs ONNX's backend node test cases (model.onnx + test_data_set_N/{input,output}_K.pb)
// through kiln and compares outputs with the suite's expected values and tolerances.
// Prints per-op and total counts and ends with the line
//   conformance: N passed, M failed, K unsupported
// Failures not listed in the expected-failures file, and listed cases that now pass,
// make the exit status non-zero: the list may only shrink.
#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "kiln/engine.h"
#include "conformance/compare.h"
#include "onnx/tensor_proto.h"

namespace fs = std::filesystem;
using namespace kiln;

namespace {

struct Options {
  std::string data_dir;
  std::string filter = ".*";
  std::string expected_failures;
  bool verbose = false;
};

enum class Outcome { kPassed, kFailed, kUnsupported };

struct CaseResult {
  Outcome outcome;
  std::string reason;
  std::string op;
};

std::pair<double, double> read_tolerance(const fs::path& dir) {
  double rtol = 1e-3, atol = 1e-7;
  std::ifstream in(dir / "tolerance.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::smatch m;
  if (std::regex_search(text, m, std::regex("\"rtol\":\\s*([-0-9.eE+]+)"))) rtol = std::stod(m[1]);
  if (std::regex_search(text, m, std::regex("\"atol\":\\s*([-0-9.eE+]+)"))) atol = std::stod(m[1]);
  return {rtol, atol};
}

std::vector<fs::path> numbered_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int k = 0;; ++k) {
    fs::path p = dir / (prefix + std::to_string(k) + ".pb");
    if (!fs::exists(p)) break;
    files.push_back(p);
  }
  return files;
}

CaseResult run_case(const fs::path& dir) {
  const std::string model_path = (dir / "model.onnx").string();
  Result<std::shared_ptr<Engine>> engine = Engine::from_onnx_file(model_path);
  std::string op = op_label_of_model(model_path);
  if (!engine.is_ok()) {
    const bool unsupported = engine.status().code() == StatusCode::kUnsupported;
    return {unsupported ? Outcome::kUnsupported : Outcome::kFailed, engine.status().to_string(), op};
  }
  const auto [rtol, atol] = read_tolerance(dir);
  for (int set = 0;; ++set) {
    const fs::path set_dir = dir / ("test_data_set_" + std::to_string(set));
    if (!fs::exists(set_dir)) break;
    if (fs::exists(set_dir / "non_tensor_values")) {
      return {Outcome::kUnsupported, "non-tensor (sequence/optional) inputs or outputs", op};
    }
    auto ctx = (*engine)->create_context();
    const auto inputs = numbered_files(set_dir, "input_");
    const auto& descs = (*engine)->inputs();
    for (size_t i = 0; i < inputs.size(); ++i) {
      Result<Tensor> t = read_tensor_proto_file(inputs[i].string());
      if (!t.is_ok()) {
        const bool unsupported = t.status().code() == StatusCode::kUnsupported;
        return {unsupported ? Outcome::kUnsupported : Outcome::kFailed, t.status().to_string(), op};
      }
      if (i >= descs.size()) return {Outcome::kFailed, "more test inputs than model inputs", op};
      Status s = ctx->set_input(descs[i].name, *t);
      if (!s.is_ok()) return {Outcome::kFailed, s.to_string(), op};
    }
    Status s = ctx->run();
    if (!s.is_ok()) {
      return {s.code() == StatusCode::kUnsupported ? Outcome::kUnsupported : Outcome::kFailed, s.to_string(), op};
    }
    const auto expected_files = numbered_files(set_dir, "output_");
    if (expected_files.size() != ctx->outputs().size()) {
      return {Outcome::kFailed, "expected " + std::to_string(expected_files.size()) + " outputs, got " +
                                    std::to_string(ctx->outputs().size()), op};
    }
    for (size_t i = 0; i < expected_files.size(); ++i) {
      Result<Tensor> expected = read_tensor_proto_file(expected_files[i].string());
      if (!expected.is_ok()) {
        const bool unsupported = expected.status().code() == StatusCode::kUnsupported;
        return {unsupported ? Outcome::kUnsupported : Outcome::kFailed, expected.status().to_string(), op};
      }
      std::string why = compare_tensors(*expected, ctx->outputs()[i], rtol, atol);
      if (!why.empty()) {
        return {Outcome::kFailed, "data set " + std::to_string(set) + " output " + std::to_string(i) + ": " + why, op};
      }
    }
  }
  return {Outcome::kPassed, "", op};
}

std::set<std::string> read_list(const std::string& path) {
  std::set<std::string> names;
  if (path.empty()) return names;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    line.erase(std::remove_if(line.begin(), line.end(), ::isspace), line.end());
    if (!line.empty()) names.insert(line);
  }
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& flag) { return a.substr(flag.size()); };
    if (a.rfind("--data=", 0) == 0) opt.data_dir = value("--data=");
    else if (a.rfind("--filter=", 0) == 0) opt.filter = value("--filter=");
    else if (a.rfind("--expected-failures=", 0) == 0) opt.expected_failures = value("--expected-failures=");
    else if (a == "--verbose" || a == "-v") opt.verbose = true;
    else {
      std::cerr << "usage: kiln_conformance --data=DIR [--filter=REGEX] [--expected-failures=FILE] [--verbose]\n";
      return 2;
    }
  }
  if (opt.data_dir.empty() || !fs::is_directory(opt.data_dir)) {
    std::cerr << "kiln_conformance: --data must name the folder of node tests (scripts/gen_node_tests.py)\n";
    return 2;
  }
  const std::regex filter(opt.filter);
  const std::set<std::string> expected_failures = read_list(opt.expected_failures);
  std::vector<fs::path> cases;
  for (const auto& entry : fs::directory_iterator(opt.data_dir)) {
    if (entry.is_directory() && std::regex_search(entry.path().filename().string(), filter)) cases.push_back(entry.path());
  }
  std::sort(cases.begin(), cases.end());

  std::map<std::string, std::array<int, 3>> per_op;
  int passed = 0, failed = 0, unsupported_count = 0;
  std::vector<std::string> new_failures, fixed;
  for (const fs::path& dir : cases) {
    const std::string name = dir.filename().string();
    CaseResult r = run_case(dir);
    auto& counts = per_op[r.op];
    const bool listed = expected_failures.count(name) > 0;
    switch (r.outcome) {
      case Outcome::kPassed:
        ++passed, ++counts[0];
        if (listed) fixed.push_back(name);
        if (opt.verbose) std::cout << "PASS " << name << "\n";
        break;
      case Outcome::kFailed:
        ++failed, ++counts[1];
        if (!listed) new_failures.push_back(name);
        std::cout << (listed ? "XFAIL " : "FAIL ") << name << ": " << r.reason << "\n";
        break;
      case Outcome::kUnsupported:
        ++unsupported_count, ++counts[2];
        if (opt.verbose) std::cout << "UNSUPPORTED " << name << ": " << r.reason << "\n";
        break;
    }
  }
  std::cout << "\nper op (passed / failed / unsupported):\n";
  for (const auto& [op, c] : per_op) {
    if (c[0] + c[1] == 0 && !opt.verbose) continue;  // ops kiln does not claim
    std::cout << "  " << op << ": " << c[0] << " / " << c[1] << " / " << c[2] << "\n";
  }
  for (const std::string& n : fixed) std::cout << "NOW PASSING (remove from the expected failures): " << n << "\n";
  for (const std::string& n : new_failures) std::cout << "UNEXPECTED FAILURE: " << n << "\n";
  std::cout << "conformance: " << passed << " passed, " << failed << " failed, " << unsupported_count
            << " unsupported\n";
  return (new_failures.empty() && fixed.empty()) ? 0 : 1;
}
