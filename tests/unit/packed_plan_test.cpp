// Plans with prepacked weights: a build packs the conv and matmul weights for each
// profile's opt shapes into oneDNN's blocked layouts, the plan carries those bytes, and an
// engine loaded from it uses them in place instead of packing again. Outputs stay bit for
// bit those of the engine that wrote the plan (and within tolerance of ONNX Runtime's);
// a plan whose layout keys are damaged or from another library falls back to packing;
// one whose packed weights point at nothing is refused.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "backend/backend.h"
#include "backend/cpu/conv_primitive.h"
#include "backend/cpu/weight_packs.h"
#include "io/npy.h"
#include "kiln/engine.h"
#include "plan/plan.pb.h"
#include "plan/plan_file.h"
#include "plan/plan_format.h"
#include "unit/model_builder.h"
#include "unit/plan_edit.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::with_metadata;

const std::string kModels = std::string(KILN_SOURCE_DIR) + "/tests/models";

// A profile around case_0's shapes, so the build packs for the shapes the tests run.
BuildOptions options_for(const std::string& model) {
  BuildOptions options;
  ShapeProfile p;
  if (model == "bert") {
    for (const char* in : {"input_ids", "attention_mask", "token_type_ids"}) {
      p.min[in] = {1, 1};
      p.opt[in] = {1, 7};
      p.max[in] = {4, 64};
    }
  } else {
    p.min["input"] = {1, 3, 64, 64};
    p.opt["input"] = {1, 3, 64, 64};
    p.max["input"] = {4, 3, 64, 64};
  }
  options.profiles = {p};
  return options;
}

struct Case {
  std::map<std::string, Tensor> inputs;
  std::map<std::string, Tensor> expected;  // ONNX Runtime's outputs
};

Case read_case(const std::string& model, const std::string& dir_name) {
  Case c;
  const fs::path dir = fs::path(kModels) / model / dir_name;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    Result<Tensor> t = read_npy(entry.path().string());
    EXPECT_TRUE(t.is_ok()) << t.status().to_string();
    if (!t.is_ok()) continue;
    const std::string stem = file.substr(0, file.size() - 4);
    if (stem.rfind("input_", 0) == 0) c.inputs[stem.substr(6)] = *t;
    if (stem.rfind("output_", 0) == 0) c.expected[stem.substr(7)] = *t;
  }
  return c;
}

std::map<std::string, Tensor> run(const Engine& engine, const Case& c) {
  std::unique_ptr<ExecutionContext> ctx = engine.create_context();
  for (const auto& [name, t] : c.inputs) {
    Status s = ctx->set_input(name, t);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
  }
  Status s = ctx->run();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  std::map<std::string, Tensor> out;
  if (!s.is_ok()) return out;
  for (const auto& [name, _] : c.expected) out[name] = ctx->output(name).value();
  return out;
}

::testing::AssertionResult bit_identical(const std::map<std::string, Tensor>& a,
                                         const std::map<std::string, Tensor>& b) {
  if (a.size() != b.size() || a.empty()) return ::testing::AssertionFailure() << "output counts differ or are 0";
  for (const auto& [name, t] : a) {
    const Tensor& u = b.at(name);
    if (t.shape() != u.shape() || t.nbytes() != u.nbytes() || std::memcmp(t.raw(), u.raw(), t.nbytes()) != 0) {
      return ::testing::AssertionFailure() << "output '" << name << "' differs";
    }
  }
  return ::testing::AssertionSuccess();
}

// As model_test: max |kiln - onnxruntime| <= 1e-4 * max(1, max |onnxruntime|).
::testing::AssertionResult matches_onnxruntime(const std::map<std::string, Tensor>& actual, const Case& c) {
  for (const auto& [name, expected] : c.expected) {
    auto it = actual.find(name);
    if (it == actual.end()) return ::testing::AssertionFailure() << "no output '" << name << "'";
    const Tensor& a = it->second;
    if (a.shape() != expected.shape()) return ::testing::AssertionFailure() << "output '" << name << "' shape";
    double max_expected = 0, max_diff = 0;
    for (int64_t i = 0; i < expected.numel(); ++i) {
      max_expected = std::max(max_expected, std::fabs(expected.get_as_double(i)));
      const double d = std::fabs(a.get_as_double(i) - expected.get_as_double(i));
      max_diff = std::max(max_diff, std::isnan(d) ? INFINITY : d);
    }
    if (!(max_diff <= 1e-4 * std::max(1.0, max_expected))) {
      return ::testing::AssertionFailure() << "output '" << name << "': max abs diff " << max_diff;
    }
  }
  return ::testing::AssertionSuccess();
}


planpb::PlanMetadata metadata_of(const std::string& plan) {
  PlanHeader h = decode_plan_header(reinterpret_cast<const uint8_t*>(plan.data()), plan.size(), "plan").value();
  planpb::PlanMetadata meta;
  EXPECT_TRUE(meta.ParseFromArray(plan.data() + h.metadata_offset, static_cast<int>(h.metadata_size)));
  return meta;
}

// One build and one plan per model for the whole suite: building is the slow part.
struct BuiltModel {
  std::shared_ptr<Engine> engine;
  PackedWeightStats after_build;
  std::string plan_path;
  std::string plan_bytes;
};

TempDir& plan_dir() {
  static TempDir dir;
  return dir;
}

const BuiltModel& built(const std::string& model) {
  static std::map<std::string, BuiltModel> models;
  auto it = models.find(model);
  if (it != models.end()) return it->second;
  BuiltModel& m = models[model];
  auto engine = Engine::build_from_onnx(kModels + "/" + model + "/model.onnx", options_for(model));
  EXPECT_TRUE(engine.is_ok()) << engine.status().to_string();
  if (!engine.is_ok()) return m;
  m.engine = *engine;
  m.after_build = m.engine->packed_weight_stats();
  m.plan_path = plan_dir().file(model + ".plan");
  Status s = m.engine->save_plan(m.plan_path);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  m.plan_bytes = test::read_file(m.plan_path);
  return m;
}

class PackedPlan : public ::testing::TestWithParam<const char*> {};

TEST_P(PackedPlan, TheBuildPacksAndThePlanCarriesThePackedWeights) {
  const BuiltModel& m = built(GetParam());
  ASSERT_TRUE(m.engine);
  // The build ran the opt shapes, so every constant conv/matmul weight is packed.
  EXPECT_GT(m.after_build.count, 0);
  EXPECT_EQ(m.after_build.from_plan, 0);
  Result<PlanContents> plan = read_plan_file(m.plan_path);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  EXPECT_EQ(static_cast<int64_t>(plan->packed_weights.count()), m.after_build.count);
  EXPECT_EQ(static_cast<int64_t>(plan->packed_weights.bytes()), m.after_build.bytes);
  EXPECT_EQ(plan->packed_weights.format, cpu_backend().packed_weights_format());
  EXPECT_NE(plan->packed_weights.format.find("oneDNN"), std::string::npos);
  for (const auto& node : plan->packed_weights.per_node) {
    for (const PackedWeight& w : node) {
      // Aligned in the read-only mapping: the kernels use these bytes where they lie.
      EXPECT_EQ(reinterpret_cast<uintptr_t>(w.data.raw()) % 64, 0u);
      EXPECT_TRUE(w.from_plan);
      EXPECT_FALSE(w.layout.empty());
    }
  }
  // The plain weights are still there, so the plan is bigger than the weights alone.
  EXPECT_GT(plan->file_size, plan->packed_weights.bytes());
}

TEST_P(PackedPlan, ThePlanRequiresTheCpuFeaturesItsLayoutsWereChosenFor) {
  const BuiltModel& m = built(GetParam());
  ASSERT_TRUE(m.engine);
  const planpb::PlanMetadata meta = metadata_of(m.plan_bytes);
  const std::vector<std::string> required(meta.required_cpu_features().begin(), meta.required_cpu_features().end());
  const std::vector<std::string> isa = cpu_backend().packed_weights_cpu_features();
  EXPECT_FALSE(isa.empty());  // oneDNN runs at least AVX2 here (kiln's baseline)
  for (const std::string& f : isa) {
    EXPECT_NE(std::find(required.begin(), required.end(), f), required.end()) << f;
    EXPECT_TRUE(cpu_has_feature(f)) << f;
  }
  for (const std::string& f : compiled_cpu_features()) {
    EXPECT_NE(std::find(required.begin(), required.end(), f), required.end()) << f;
  }
  // Each feature once.
  std::vector<std::string> sorted = required;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());
}

TEST_P(PackedPlan, TheLoadedEngineUsesThePackedWeightsAndComputesTheSame) {
  const std::string model = GetParam();
  const BuiltModel& m = built(model);
  ASSERT_TRUE(m.engine);
  auto loaded = Engine::from_plan_file(m.plan_path);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  PackedWeightStats before = (*loaded)->packed_weight_stats();
  EXPECT_EQ(before.count, m.after_build.count);
  EXPECT_EQ(before.from_plan, before.count);

  const Case c = read_case(model, "case_0");  // the opt shapes
  const auto expected = run(*m.engine, c);
  const auto actual = run(**loaded, c);
  EXPECT_TRUE(bit_identical(expected, actual));
  EXPECT_TRUE(matches_onnxruntime(actual, c));
  // The first run packed nothing: every packed weight is the plan's.
  const PackedWeightStats after = (*loaded)->packed_weight_stats();
  EXPECT_EQ(after.count, before.count);
  EXPECT_EQ(after.from_plan, after.count);

  // Other shapes: where oneDNN picks another layout the kernels pack it from the plain
  // weights, and the results still match ONNX Runtime.
  for (const char* other : {"case_1", "case_2"}) {
    SCOPED_TRACE(other);
    const Case oc = read_case(model, other);
    const auto out = run(**loaded, oc);
    EXPECT_TRUE(matches_onnxruntime(out, oc));
    EXPECT_TRUE(bit_identical(run(*m.engine, oc), out));
  }
}

TEST_P(PackedPlan, ALoadedEngineSavesThePackedWeightsAgain) {
  const BuiltModel& m = built(GetParam());
  ASSERT_TRUE(m.engine);
  auto loaded = Engine::from_plan_file(m.plan_path);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  // Nothing has run: the plan's packed weights are unused, and kept all the same.
  TempDir dir;
  ASSERT_TRUE((*loaded)->save_plan(dir.file("again.plan")).is_ok());
  Result<PlanContents> first = read_plan_file(m.plan_path);
  Result<PlanContents> again = read_plan_file(dir.file("again.plan"));
  ASSERT_TRUE(first.is_ok() && again.is_ok());
  ASSERT_EQ(first->packed_weights.per_node.size(), again->packed_weights.per_node.size());
  for (size_t n = 0; n < first->packed_weights.per_node.size(); ++n) {
    const auto& a = first->packed_weights.per_node[n];
    const auto& b = again->packed_weights.per_node[n];
    ASSERT_EQ(a.size(), b.size()) << "node " << n;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].input, b[i].input);
      EXPECT_EQ(a[i].layout, b[i].layout);
      ASSERT_EQ(a[i].data.nbytes(), b[i].data.nbytes());
      EXPECT_EQ(std::memcmp(a[i].data.raw(), b[i].data.raw(), a[i].data.nbytes()), 0);
    }
  }
  // The same model built again gives the same file, packed bytes included (the suite's
  // engine has run other shapes since, which may have packed more layouts).
  const std::string model = GetParam();
  auto rebuilt = Engine::build_from_onnx(kModels + "/" + model + "/model.onnx", options_for(model));
  ASSERT_TRUE(rebuilt.is_ok()) << rebuilt.status().to_string();
  ASSERT_TRUE((*rebuilt)->save_plan(m.plan_path + ".rebuilt").is_ok());
  EXPECT_TRUE(test::read_file(m.plan_path + ".rebuilt") == m.plan_bytes) << "the plans differ";
}

INSTANTIATE_TEST_SUITE_P(PackedPlanModels, PackedPlan, ::testing::Values("bert", "resnet50"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

// --- the packs of one kernel ---

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::memory::desc tagged(const dnnl::memory::dims& dims, tag t) { return dnnl::memory::desc(dims, dt::f32, t); }

TEST(PackedPlanLayoutKey, EqualLayoutsGiveEqualKeysAndOthersDiffer) {
  const dnnl::memory::dims dims = {32, 16, 3, 3};
  const std::string blocked = cpu::layout_key(tagged(dims, tag::OIhw16i16o));
  EXPECT_FALSE(blocked.empty());
  EXPECT_EQ(blocked, cpu::layout_key(tagged(dims, tag::OIhw16i16o)));
  EXPECT_NE(blocked, cpu::layout_key(tagged(dims, tag::OIhw8i8o)));
  EXPECT_NE(blocked, cpu::layout_key(tagged(dims, tag::oihw)));
  EXPECT_NE(blocked, cpu::layout_key(tagged({32, 16, 3, 5}, tag::OIhw16i16o)));
  // oneDNN ignores the stride of a dim of size 1, and so does the key.
  const dnnl::memory::desc a({1, 8}, dt::f32, dnnl::memory::dims{8, 1});
  const dnnl::memory::desc b({1, 8}, dt::f32, dnnl::memory::dims{99, 1});
  ASSERT_TRUE(a == b);
  EXPECT_EQ(cpu::layout_key(a), cpu::layout_key(b));
  // Winograd's transformed weights (an opaque oneDNN format) have keys of their own.
  if (cpu::winograd_convolutions_available()) {
    auto wino = [](int64_t channels) {
      const dnnl::memory::desc any({1, channels, 28, 28}, dt::f32, tag::any);
      const dnnl::memory::desc weights({channels, channels, 3, 3}, dt::f32, tag::any);
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_winograd,
                                        any, weights, any, {1, 1}, {1, 1}, {1, 1});
      return dnnl::convolution_forward::primitive_desc(d, cpu::onednn_engine()).weights_desc();
    };
    const std::string w64 = cpu::layout_key(wino(64));
    EXPECT_FALSE(w64.empty());
    EXPECT_EQ(w64, cpu::layout_key(wino(64)));
    EXPECT_NE(w64, cpu::layout_key(wino(128)));
    EXPECT_NE(w64, blocked);
  }
  // Other element types and the empty descriptor have no key: they are never stored.
  EXPECT_EQ(cpu::layout_key(dnnl::memory::desc(dims, dt::s8, tag::oihw)), "");
  EXPECT_EQ(cpu::layout_key(dnnl::memory::desc()), "");
}

// W [32, 16, 3, 3] with W[o][i][h][w] = o * 1000 + i * 10 + h * 3 + w (exact in float).
Tensor numbered_weights() {
  std::vector<float> v;
  for (int o = 0; o < 32; ++o)
    for (int i = 0; i < 16; ++i)
      for (int h = 0; h < 3; ++h)
        for (int w = 0; w < 3; ++w) v.push_back(static_cast<float>(o * 1000 + i * 10 + h * 3 + w));
  return Tensor::from_vector<float>({32, 16, 3, 3}, v);
}

TEST(PackedPlanWeightPacks, PacksOncePerLayoutAndUsesAPlansBytesInPlace) {
  const Tensor w = numbered_weights();
  const dnnl::memory::desc plain = cpu::plain_desc(w.shape(), dt::f32);
  const dnnl::memory::desc blocked = tagged({32, 16, 3, 3}, tag::OIhw16i16o);
  std::vector<PackedWeight> packed;
  {
    cpu::WeightPacks packs(w, 1, {});
    const cpu::PackWeights pack = packs.packer(plain);
    ASSERT_TRUE(pack);
    dnnl::memory m = pack(blocked);
    EXPECT_EQ(pack(blocked).get_data_handle(), m.get_data_handle());  // packed once
    // The plain layout is the constant itself: nothing packed, nothing to store.
    EXPECT_EQ(pack(plain).get_data_handle(), w.raw());
    packed = packs.packed();
  }
  ASSERT_EQ(packed.size(), 1u);
  EXPECT_EQ(packed[0].input, 1u);
  EXPECT_FALSE(packed[0].from_plan);
  EXPECT_EQ(packed[0].layout, cpu::layout_key(blocked));
  // OIhw16i16o by hand: 16x16 blocks of (i, o), o fastest, blocks ordered O, I, h, w.
  ASSERT_EQ(packed[0].data.nbytes(), size_t{32 * 16 * 9 * 4});
  const float* p = static_cast<const float*>(packed[0].data.raw());
  for (int o = 0; o < 32; ++o)
    for (int i = 0; i < 16; ++i)
      for (int h = 0; h < 3; ++h)
        for (int x = 0; x < 3; ++x) {
          const size_t at = ((static_cast<size_t>(o / 16) * 1 + i / 16) * 9 + h * 3 + x) * 256 + (i % 16) * 16 + o % 16;
          ASSERT_EQ(p[at], static_cast<float>(o * 1000 + i * 10 + h * 3 + x)) << o << " " << i << " " << h << " " << x;
        }

  // A kernel seeded with those bytes (as a plan's mapping would hold them) uses them where
  // they lie; a copy of the wrong size is passed over and the weights packed again.
  Tensor stored = Tensor::allocate(DType::kUInt8, {static_cast<int64_t>(packed[0].data.nbytes())}).value();
  std::memcpy(stored.raw(), packed[0].data.raw(), stored.nbytes());
  PackedWeight from_plan{1, packed[0].layout, stored, true};
  PackedWeight short_copy{
      1, packed[0].layout, Tensor::wrap(DType::kUInt8, {static_cast<int64_t>(stored.nbytes() - 64)}, stored.raw()),
      true};
  PackedWeight other_input{2, packed[0].layout, stored, true};
  {
    cpu::WeightPacks packs(w, 1, {from_plan, other_input});
    EXPECT_EQ(packs.packed().size(), 1u);  // the entry for input 2 is not this kernel's
    EXPECT_EQ(packs.packer(plain)(blocked).get_data_handle(), stored.raw());
    const std::vector<PackedWeight> after = packs.packed();
    ASSERT_EQ(after.size(), 1u);
    EXPECT_TRUE(after[0].from_plan);
  }
  {
    cpu::WeightPacks packs(w, 1, {short_copy});
    dnnl::memory m = packs.packer(plain)(blocked);
    EXPECT_NE(m.get_data_handle(), stored.raw());
    EXPECT_EQ(std::memcmp(m.get_data_handle(), packed[0].data.raw(), packed[0].data.nbytes()), 0);
  }
  // Weights that are not constant have no packer.
  cpu::WeightPacks none(Tensor(), 1, {from_plan});
  EXPECT_FALSE(none.packer(plain));
  EXPECT_TRUE(none.packed().empty());
}

// --- damaged, foreign and old plans (on resnet50: convolutions) ---

// Loads `bytes` as a plan and runs case_0; the outputs must be the build engine's.
void expect_loads_and_falls_back(const std::string& bytes, int64_t expect_from_plan_after_run) {
  const BuiltModel& m = built("resnet50");
  TempDir dir;
  const std::string path = dir.file("edited.plan");
  test::write_file(path, bytes);
  auto loaded = Engine::from_plan_file(path);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  const Case c = read_case("resnet50", "case_0");
  EXPECT_TRUE(bit_identical(run(*m.engine, c), run(**loaded, c)));
  const PackedWeightStats after = (*loaded)->packed_weight_stats();
  EXPECT_EQ(after.from_plan, expect_from_plan_after_run);
  // What the plan could not supply was packed here, as a build would.
  EXPECT_EQ(after.count - after.from_plan, m.after_build.count);
}

TEST(PackedPlanDamage, ADamagedLayoutKeyOnlyMissesAndTheWeightsArePackedAgain) {
  const BuiltModel& m = built("resnet50");
  ASSERT_TRUE(m.engine);
  const std::string edited = with_metadata(m.plan_bytes, [](planpb::PlanMetadata& meta) {
    for (planpb::PackedWeight& w : *meta.mutable_packed_weights()) {
      std::string layout = w.layout();
      layout[layout.size() / 2] ^= 0x5a;
      w.set_layout(layout);
    }
  });
  // The unusable copies stay listed (from the plan, unused) beside the new packs.
  expect_loads_and_falls_back(edited, m.after_build.count);
}

TEST(PackedPlanDamage, TruncatedOrGarbageLayoutKeysAreHarmless) {
  const BuiltModel& m = built("resnet50");
  ASSERT_TRUE(m.engine);
  const std::string edited = with_metadata(m.plan_bytes, [](planpb::PlanMetadata& meta) {
    int i = 0;
    for (planpb::PackedWeight& w : *meta.mutable_packed_weights()) {
      if (i++ % 2) w.set_layout(w.layout().substr(0, 5));
      else w.set_layout(std::string(4096, '\xff'));
    }
  });
  expect_loads_and_falls_back(edited, m.after_build.count);
}

TEST(PackedPlanDamage, PackedBytesOfTheWrongSizeAreNotUsed) {
  const BuiltModel& m = built("resnet50");
  ASSERT_TRUE(m.engine);
  // Each blob claims 64 bytes fewer than its layout needs: using it would read past it.
  const std::string edited = with_metadata(m.plan_bytes, [](planpb::PlanMetadata& meta) {
    for (planpb::PackedWeight& w : *meta.mutable_packed_weights()) {
      const uint64_t size = w.data().size() - 64;
      w.mutable_data()->set_size(size);
      w.mutable_data()->set_dims(0, static_cast<int64_t>(size));
    }
  });
  expect_loads_and_falls_back(edited, m.after_build.count);
}

TEST(PackedPlanDamage, AnotherLibraryVersionsLayoutsAreIgnored) {
  const BuiltModel& m = built("resnet50");
  ASSERT_TRUE(m.engine);
  const std::string edited = with_metadata(m.plan_bytes, [](planpb::PlanMetadata& meta) {
    meta.set_packed_weights_format("oneDNN 9.9.9 (x), layout key v1");
  });
  expect_loads_and_falls_back(edited, 0);
}

TEST(PackedPlanDamage, APlanWithoutPackedWeightsLoadsAndPacksAtItsFirstRun) {
  // As plans written before packed weights existed (same format version: older readers
  // skip the new fields, newer ones find none).
  const BuiltModel& m = built("resnet50");
  ASSERT_TRUE(m.engine);
  const std::string edited = with_metadata(m.plan_bytes, [](planpb::PlanMetadata& meta) {
    meta.clear_packed_weights();
    meta.clear_packed_weights_format();
  });
  expect_loads_and_falls_back(edited, 0);
}

TEST(PackedPlanDamage, PackedWeightsThatPointAtNothingAreRejected) {
  const BuiltModel& m = built("resnet50");
  ASSERT_TRUE(m.engine);
  TempDir dir;
  const std::string path = dir.file("bad.plan");
  struct Edit {
    const char* what;
    void (*edit)(planpb::PackedWeight&);
    const char* expect;
  };
  const Edit edits[] = {
      {"node out of range", [](planpb::PackedWeight& w) { w.set_node(1 << 20); }, "does not exist"},
      {"negative node", [](planpb::PackedWeight& w) { w.set_node(-1); }, "does not exist"},
      {"input that is not a constant", [](planpb::PackedWeight& w) { w.set_input(0); }, "no constant input 0"},
      {"input out of range", [](planpb::PackedWeight& w) { w.set_input(9); }, "no constant input 9"},
      {"no layout", [](planpb::PackedWeight& w) { w.clear_layout(); }, "no layout"},
      {"bytes beyond the weights section",
       [](planpb::PackedWeight& w) { w.mutable_data()->set_offset(uint64_t{1} << 40); }, "64-byte-aligned range"},
      {"unaligned bytes", [](planpb::PackedWeight& w) { w.mutable_data()->set_offset(w.data().offset() + 4); },
       "64-byte-aligned range"},
      {"not bytes", [](planpb::PackedWeight& w) {
         w.mutable_data()->set_dtype(static_cast<int32_t>(DType::kFloat32));
         w.mutable_data()->set_dims(0, w.data().dims(0) / 4);
       },
       "expected uint8"},
  };
  for (const Edit& e : edits) {
    SCOPED_TRACE(e.what);
    test::write_file(path, with_metadata(m.plan_bytes, [&](planpb::PlanMetadata& meta) {
                       e.edit(*meta.mutable_packed_weights(0));
                     }));
    EXPECT_TRUE(test::error_mentions(Engine::from_plan_file(path), {path, "packed weight 0", e.expect}));
  }
}

TEST(PackedPlanDamage, APlanNeedingACpuFeatureThisMachineLacksIsRefused) {
  // As an AVX-512 plan on an AVX2 machine: the check names the feature and the way out.
  const BuiltModel& m = built("resnet50");
  ASSERT_TRUE(m.engine);
  TempDir dir;
  const std::string path = dir.file("other_cpu.plan");
  test::write_file(path, with_metadata(m.plan_bytes, [](planpb::PlanMetadata& meta) {
                     meta.add_required_cpu_features("avx512_fake");
                   }));
  auto r = Engine::from_plan_file(path);
  EXPECT_TRUE(test::error_mentions(r, {path, "CPU feature 'avx512_fake'", "rebuild it"}));
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
}

TEST(PackedPlanDamage, ACorruptedPackedBlobFailsTheChecksum) {
  const BuiltModel& m = built("resnet50");
  ASSERT_TRUE(m.engine);
  const planpb::PlanMetadata meta = metadata_of(m.plan_bytes);
  ASSERT_GT(meta.packed_weights_size(), 0);
  PlanHeader h = decode_plan_header(reinterpret_cast<const uint8_t*>(m.plan_bytes.data()), m.plan_bytes.size(),
                                    "plan").value();
  std::string bytes = m.plan_bytes;
  bytes[h.weights_offset + meta.packed_weights(0).data().offset() + 7] ^= 1;
  TempDir dir;
  const std::string path = dir.file("flipped.plan");
  test::write_file(path, bytes);
  EXPECT_TRUE(test::error_mentions(Engine::from_plan_file(path), {path, "checksum mismatch"}));
}

}  // namespace
}  // namespace kiln
