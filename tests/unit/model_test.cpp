// Model tests: every fixture under tests/models (PyTorch exports) run through kiln and
// compared with ONNX Runtime's outputs stored next to it. Each model is loaded once and
// all of its cases (different batch and sequence lengths) run on that one Engine, so the
// dynamic axes have to really be dynamic.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "io/npy.h"
#include "kiln/engine.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

const std::string& models_root() {
  static const std::string root = std::string(KILN_SOURCE_DIR) + "/tests/models";
  return root;
}

std::vector<std::string> discover_models() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(models_root(), ec)) {
    if (entry.is_directory() && fs::exists(entry.path() / "model.onnx")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> discover_cases(const std::string& model) {
  std::vector<std::string> cases;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(models_root()) / model, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind("case_", 0) == 0) cases.push_back(name);
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

std::string read_text(const fs::path& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The string value of a top-level "key": "value" in meta.json (no JSON library needed
// for one field); empty when absent or null.
std::string json_string_field(const std::string& json, const std::string& key) {
  size_t p = json.find("\"" + key + "\"");
  if (p == std::string::npos) return "";
  p = json.find(':', p);
  if (p == std::string::npos) return "";
  p = json.find_first_not_of(" \t\r\n", p + 1);
  if (p == std::string::npos || json[p] != '"') return "";
  const size_t end = json.find('"', p + 1);
  return end == std::string::npos ? "" : json.substr(p + 1, end - p - 1);
}

struct CaseData {
  std::string name;
  std::map<std::string, Tensor> inputs;
  std::map<std::string, Tensor> expected;  // output name -> ONNX Runtime's output
};

// Reads case_k/input_<name>.npy for each of the engine's inputs and every output_*.npy.
::testing::AssertionResult load_case(const Engine& engine, const std::string& model, const std::string& case_dir,
                                     CaseData& out) {
  const fs::path dir = fs::path(models_root()) / model / case_dir;
  out.name = model + "/" + case_dir;
  for (const TensorDesc& d : engine.inputs()) {
    Result<Tensor> t = read_npy((dir / ("input_" + d.name + ".npy")).string());
    if (!t.is_ok()) return ::testing::AssertionFailure() << out.name << ": " << t.status().to_string();
    out.inputs[d.name] = std::move(t).value();
  }
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind("output_", 0) != 0 || entry.path().extension() != ".npy") continue;
    const std::string name = file.substr(7, file.size() - 7 - 4);
    Result<Tensor> t = read_npy(entry.path().string());
    if (!t.is_ok()) return ::testing::AssertionFailure() << out.name << ": " << t.status().to_string();
    out.expected[name] = std::move(t).value();
  }
  if (out.expected.empty()) return ::testing::AssertionFailure() << out.name << ": no output_*.npy files";
  return ::testing::AssertionSuccess();
}

struct Comparison {
  double max_abs_diff = 0;
  double max_abs_expected = 0;
  int64_t rows = 0;            // argmax rows compared
  int64_t near_tie_rows = 0;   // rows whose reference top-2 gap is inside the tolerance
};

// max |actual - expected| <= 1e-4 * max(1, max |expected|); integer outputs exactly. With
// `classifier`, the argmax over the last axis must also agree row by row (except where the
// reference itself has its top two values closer than the tolerance, so either is right).
::testing::AssertionResult compare_output(const std::string& what, const Tensor& expected, const Tensor& actual,
                                          bool classifier, Comparison& cmp) {
  if (!actual.defined()) return ::testing::AssertionFailure() << what << ": output not produced";
  if (actual.dtype() != expected.dtype()) {
    return ::testing::AssertionFailure() << what << ": dtype " << dtype_name(actual.dtype()) << ", expected "
                                         << dtype_name(expected.dtype());
  }
  if (actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << what << ": shape " << shape_to_string(actual.shape())
                                         << ", expected " << shape_to_string(expected.shape());
  }
  const int64_t n = expected.numel();
  double max_expected = 0;
  for (int64_t i = 0; i < n; ++i) max_expected = std::max(max_expected, std::fabs(expected.get_as_double(i)));
  const bool exact = !is_float_dtype(expected.dtype());
  const double tol = exact ? 0.0 : 1e-4 * std::max(1.0, max_expected);
  double max_diff = 0;
  int64_t worst = -1;
  for (int64_t i = 0; i < n; ++i) {
    double diff = std::fabs(actual.get_as_double(i) - expected.get_as_double(i));
    if (std::isnan(diff)) diff = INFINITY;  // NaN in kiln's output is always a mismatch
    if (worst < 0 || diff > max_diff) {
      max_diff = diff;
      worst = i;
    }
  }
  cmp.max_abs_diff = std::max(cmp.max_abs_diff, max_diff);
  cmp.max_abs_expected = std::max(cmp.max_abs_expected, max_expected);
  if (!(max_diff <= tol)) {
    return ::testing::AssertionFailure() << what << ": max abs diff " << max_diff << " > tolerance " << tol
                                         << " at flat index " << worst << " (kiln " << actual.get_as_double(worst)
                                         << ", onnxruntime " << expected.get_as_double(worst) << ")";
  }
  if (classifier && n > 0 && expected.rank() >= 1) {
    const int64_t row_len = expected.shape().back();
    for (int64_t r = 0; row_len > 0 && r < n / row_len; ++r) {
      int64_t best_e = 0, best_a = 0;
      for (int64_t j = 1; j < row_len; ++j) {
        if (expected.get_as_double(r * row_len + j) > expected.get_as_double(r * row_len + best_e)) best_e = j;
        if (actual.get_as_double(r * row_len + j) > actual.get_as_double(r * row_len + best_a)) best_a = j;
      }
      ++cmp.rows;
      if (best_e == best_a) continue;
      const double gap = expected.get_as_double(r * row_len + best_e) - expected.get_as_double(r * row_len + best_a);
      if (gap <= tol) {
        ++cmp.near_tie_rows;
        continue;
      }
      return ::testing::AssertionFailure() << what << ": row " << r << " argmax is " << best_a
                                           << ", onnxruntime's is " << best_e << " (gap " << gap << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

// Sets the case's inputs on `ctx`, runs, and compares every output.
::testing::AssertionResult run_and_compare(const Engine& engine, ExecutionContext& ctx, const CaseData& c,
                                           const std::string& classifier, const std::string& label,
                                           Comparison& cmp) {
  for (const auto& [name, t] : c.inputs) {
    Status s = ctx.set_input(name, t);
    if (!s.is_ok()) return ::testing::AssertionFailure() << c.name << " (" << label << "): " << s.to_string();
  }
  Status s = ctx.run();
  if (!s.is_ok()) return ::testing::AssertionFailure() << c.name << " (" << label << "): run: " << s.to_string();
  if (ctx.outputs().size() != engine.outputs().size()) {
    return ::testing::AssertionFailure() << c.name << ": " << ctx.outputs().size() << " outputs, the engine declares "
                                         << engine.outputs().size();
  }
  for (const auto& [name, expected] : c.expected) {
    Result<Tensor> actual = ctx.output(name);
    if (!actual.is_ok()) return ::testing::AssertionFailure() << c.name << ": " << actual.status().to_string();
    ::testing::AssertionResult r = compare_output(c.name + " (" + label + ") output '" + name + "'", expected,
                                                  *actual, name == classifier, cmp);
    if (!r) return r;
  }
  return ::testing::AssertionSuccess();
}

// One Engine per model for the whole process, plus one context that every case of that
// model reuses in turn.
struct LoadedModel {
  std::shared_ptr<Engine> engine;
  Status status;
  std::string classifier;
  std::unique_ptr<ExecutionContext> shared_context;
};

LoadedModel& loaded_model(const std::string& model) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<LoadedModel>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[model];
  if (!slot) {
    slot = std::make_unique<LoadedModel>();
    const fs::path dir = fs::path(models_root()) / model;
    slot->classifier = json_string_field(read_text(dir / "meta.json"), "classifier_output");
    Result<std::shared_ptr<Engine>> e = Engine::from_onnx_file((dir / "model.onnx").string());
    if (e.is_ok()) {
      slot->engine = std::move(e).value();
      slot->shared_context = slot->engine->create_context();
    } else {
      slot->status = e.status();
    }
  }
  return *slot;
}

struct ModelCase {
  std::string model;
  std::string case_dir;
};

std::vector<ModelCase> all_model_cases() {
  std::vector<ModelCase> out;
  for (const std::string& m : discover_models()) {
    for (const std::string& c : discover_cases(m)) out.push_back({m, c});
  }
  return out;
}

TEST(ModelFixtures, AreDiscovered) {
  const std::vector<std::string> models = discover_models();
  ASSERT_GE(models.size(), 1u) << "no model folders with model.onnx under " << models_root();
  for (const std::string& m : models) {
    EXPECT_GE(discover_cases(m).size(), 2u) << m << ": fewer than two cases, dynamic shapes go untested";
    EXPECT_TRUE(fs::exists(fs::path(models_root()) / m / "meta.json")) << m << ": no meta.json";
  }
}

class ModelCaseTest : public ::testing::TestWithParam<ModelCase> {};

// The case on the model's shared context (which has already run the earlier cases, with
// other shapes) and on a fresh context.
TEST_P(ModelCaseTest, MatchesOnnxRuntime) {
  const ModelCase& p = GetParam();
  LoadedModel& m = loaded_model(p.model);
  ASSERT_TRUE(m.engine) << "loading " << p.model << ": " << m.status.to_string();
  CaseData c;
  ASSERT_TRUE(load_case(*m.engine, p.model, p.case_dir, c));
  Comparison cmp;
  EXPECT_TRUE(run_and_compare(*m.engine, *m.shared_context, c, m.classifier, "reused context", cmp));
  std::unique_ptr<ExecutionContext> fresh = m.engine->create_context();
  EXPECT_TRUE(run_and_compare(*m.engine, *fresh, c, m.classifier, "fresh context", cmp));
  std::cout << "[ model ] " << c.name << ": max abs diff vs onnxruntime " << cmp.max_abs_diff
            << " (max |expected| " << cmp.max_abs_expected << ")\n";
}

std::string model_case_name(const ::testing::TestParamInfo<ModelCase>& info) {
  return info.param.model + "_" + info.param.case_dir;
}

INSTANTIATE_TEST_SUITE_P(Models, ModelCaseTest, ::testing::ValuesIn(all_model_cases()), model_case_name);

class ModelTest : public ::testing::TestWithParam<std::string> {};

// All cases on one context, forward then backward, so every shape follows a different
// one; reports the model's max abs diff for the lead to quote.
TEST_P(ModelTest, AllCasesOnOneContext) {
  const std::string& model = GetParam();
  LoadedModel& m = loaded_model(model);
  ASSERT_TRUE(m.engine) << "loading " << model << ": " << m.status.to_string();
  std::vector<CaseData> cases;
  for (const std::string& c : discover_cases(model)) {
    cases.emplace_back();
    ASSERT_TRUE(load_case(*m.engine, model, c, cases.back()));
  }
  // Every axis whose length differs between cases must be declared dynamic.
  int dynamic_axes = 0;
  for (const TensorDesc& d : m.engine->inputs()) {
    ASSERT_TRUE(d.has_shape) << model << " input '" << d.name << "' has no declared shape";
    for (size_t k = 0; k < d.dims.size(); ++k) {
      bool varies = false;
      for (const CaseData& c : cases) {
        const Shape& s = c.inputs.at(d.name).shape();
        ASSERT_EQ(s.size(), d.dims.size()) << c.name << " input '" << d.name << "'";
        varies |= s[k] != cases[0].inputs.at(d.name).shape()[k];
      }
      if (!varies) continue;
      ++dynamic_axes;
      EXPECT_EQ(d.dims[k], -1) << model << " input '" << d.name << "' axis " << k
                               << " varies between cases but is declared " << d.shape_string();
    }
  }
  EXPECT_GE(dynamic_axes, 1) << model << ": the cases do not exercise any dynamic axis";
  std::vector<size_t> order;
  for (size_t i = 0; i < cases.size(); ++i) order.push_back(i);
  for (size_t i = cases.size(); i-- > 0;) order.push_back(i);
  std::unique_ptr<ExecutionContext> ctx = m.engine->create_context();
  Comparison cmp;
  for (size_t i : order) {
    EXPECT_TRUE(run_and_compare(*m.engine, *ctx, cases[i], m.classifier, "one context, all cases", cmp));
  }
  // The second pass over the cases replayed each shape's record (no shape inference):
  // every distinct input-shape signature was recorded once, none left to infer per run.
  std::set<std::vector<Shape>> signatures;
  for (const CaseData& c : cases) {
    std::vector<Shape> shapes;
    for (const TensorDesc& d : m.engine->inputs()) shapes.push_back(c.inputs.at(d.name).shape());
    signatures.insert(shapes);
  }
  EXPECT_EQ(ctx->recorded_shape_count(), signatures.size()) << model;
  std::cout << "[ model ] " << model << ": max abs diff vs onnxruntime over " << cases.size()
            << " cases = " << cmp.max_abs_diff << " (tolerance " << 1e-4 * std::max(1.0, cmp.max_abs_expected)
            << ", max |expected| " << cmp.max_abs_expected << "); argmax rows compared " << cmp.rows
            << ", near ties skipped " << cmp.near_tie_rows << "\n";
}

// One Engine, two threads, each with its own context, running the cases in different
// orders at the same time.
TEST_P(ModelTest, TwoThreadsShareOneEngine) {
  const std::string& model = GetParam();
  LoadedModel& m = loaded_model(model);
  ASSERT_TRUE(m.engine) << "loading " << model << ": " << m.status.to_string();
  std::vector<CaseData> cases;
  for (const std::string& c : discover_cases(model)) {
    cases.emplace_back();
    ASSERT_TRUE(load_case(*m.engine, model, c, cases.back()));
  }
  constexpr int kRounds = 3;
  std::string failures[2];
  auto worker = [&](int t) {
    std::unique_ptr<ExecutionContext> ctx = m.engine->create_context();
    Comparison cmp;
    for (int round = 0; round < kRounds; ++round) {
      for (size_t k = 0; k < cases.size(); ++k) {
        const size_t i = t == 0 ? k : cases.size() - 1 - k;
        ::testing::AssertionResult r =
            run_and_compare(*m.engine, *ctx, cases[i], m.classifier, "thread " + std::to_string(t), cmp);
        if (!r) failures[t] += std::string(r.message()) + "\n";
      }
    }
  };
  std::thread t0(worker, 0), t1(worker, 1);
  t0.join();
  t1.join();
  EXPECT_EQ(failures[0], "");
  EXPECT_EQ(failures[1], "");
}

INSTANTIATE_TEST_SUITE_P(Models, ModelTest, ::testing::ValuesIn(discover_models()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace kiln
