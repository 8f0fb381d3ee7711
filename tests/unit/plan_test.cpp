// Plan files: the graph, weights and build options survive a round trip bit for bit;
// engines loaded from plans compute what the engines that wrote them compute; and every
// damaged, foreign, future or unrunnable file is refused with a message, never a crash.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

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

// --- helpers ---

::testing::AssertionResult same_tensor(const Tensor& a, const Tensor& b) {
  if (a.defined() != b.defined()) return ::testing::AssertionFailure() << "one tensor is undefined";
  if (!a.defined()) return ::testing::AssertionSuccess();
  if (a.dtype() != b.dtype()) {
    return ::testing::AssertionFailure() << dtype_name(a.dtype()) << " vs " << dtype_name(b.dtype());
  }
  if (a.shape() != b.shape()) {
    return ::testing::AssertionFailure() << shape_to_string(a.shape()) << " vs " << shape_to_string(b.shape());
  }
  if (a.nbytes() && std::memcmp(a.raw(), b.raw(), a.nbytes()) != 0) {
    return ::testing::AssertionFailure() << "the bytes differ";
  }
  return ::testing::AssertionSuccess();
}

bool same_dims(const std::optional<SymShape>& a, const std::optional<SymShape>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  if (a->size() != b->size()) return false;
  for (size_t i = 0; i < a->size(); ++i) {
    if ((*a)[i].value != (*b)[i].value || (*a)[i].symbol != (*b)[i].symbol) return false;
  }
  return true;
}

void expect_same_graph(const Graph& a, const Graph& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.ir_version, b.ir_version);
  EXPECT_EQ(a.opsets, b.opsets);
  EXPECT_EQ(a.inputs, b.inputs);
  EXPECT_EQ(a.outputs, b.outputs);
  ASSERT_EQ(a.values.size(), b.values.size());
  for (size_t v = 0; v < a.values.size(); ++v) {
    SCOPED_TRACE("value " + a.values[v].name);
    EXPECT_EQ(a.values[v].name, b.values[v].name);
    EXPECT_EQ(a.values[v].producer, b.values[v].producer);
    EXPECT_EQ(a.values[v].type.dtype, b.values[v].type.dtype);
    EXPECT_TRUE(same_dims(a.values[v].type.shape, b.values[v].type.shape));
    EXPECT_TRUE(same_tensor(a.values[v].constant, b.values[v].constant));
    EXPECT_EQ(b.find_value(a.values[v].name), static_cast<int>(v));
  }
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t n = 0; n < a.nodes.size(); ++n) {
    const Node& x = a.nodes[n];
    const Node& y = b.nodes[n];
    SCOPED_TRACE(x.describe());
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.op_type, y.op_type);
    EXPECT_EQ(x.domain, y.domain);
    EXPECT_EQ(x.inputs, y.inputs);
    EXPECT_EQ(x.outputs, y.outputs);
    ASSERT_EQ(x.attributes.size(), y.attributes.size());
    for (const auto& [name, ax] : x.attributes) {
      SCOPED_TRACE("attribute " + name);
      const Attribute* ay = y.find_attribute(name);
      ASSERT_NE(ay, nullptr);
      EXPECT_EQ(ax.kind, ay->kind);
      EXPECT_EQ(ax.f, ay->f);
      EXPECT_EQ(ax.i, ay->i);
      EXPECT_EQ(ax.s, ay->s);
      EXPECT_TRUE(same_tensor(ax.t, ay->t));
      EXPECT_EQ(ax.floats, ay->floats);
      EXPECT_EQ(ax.ints, ay->ints);
      EXPECT_EQ(ax.strings, ay->strings);
      ASSERT_EQ(ax.tensors.size(), ay->tensors.size());
      for (size_t i = 0; i < ax.tensors.size(); ++i) EXPECT_TRUE(same_tensor(ax.tensors[i], ay->tensors[i]));
      ASSERT_EQ(ax.g != nullptr, ay->g != nullptr);
      if (ax.g) expect_same_graph(*ax.g, *ay->g);
    }
  }
}

Tensor f16_tensor() {
  Tensor t = Tensor::allocate(DType::kFloat16, {5}).value();
  uint16_t* d = t.data<uint16_t>();
  for (int i = 0; i < 5; ++i) d[i] = static_cast<uint16_t>(0x3c00 + i);
  return t;
}

// An IR graph with every kind of attribute, value type and constant the plan must hold.
Graph make_ir_graph() {
  Graph sub;
  sub.name = "body";
  const int s_in = sub.add_value("s_in");
  sub.values[s_in].type = {DType::kFloat32, SymShape{Dim(2)}};
  const int s_c = sub.add_value("s_c");
  sub.values[s_c].constant = Tensor::from_vector<float>({2}, {7, 8});
  sub.values[s_c].type = {DType::kFloat32, SymShape{Dim(2)}};
  const int s_out = sub.add_value("s_out");
  sub.values[s_out].producer = 0;
  sub.nodes.push_back(Node{"s_add", "Add", "", {s_in, s_c}, {s_out}, {}});
  sub.inputs = {s_in};
  sub.outputs = {s_out};

  Graph g;
  g.name = "every_kind";
  g.ir_version = 9;
  g.opsets[""] = 17;
  g.opsets["com.microsoft"] = 1;
  g.source_path = "every_kind.onnx";
  const int x = g.add_value("x");
  g.values[x].type = {DType::kFloat32, SymShape{Dim::symbolic("batch"), Dim(3), Dim::unknown()}};
  const int w = g.add_value("w");
  g.values[w].constant = Tensor::from_vector<float>({3, 2}, {1.5f, -2, 3, -0.0f, 5e-39f, 6});
  g.values[w].type = {DType::kFloat32, SymShape{Dim(3), Dim(2)}};
  const int idx = g.add_value("idx");
  g.values[idx].constant = Tensor::from_vector<int64_t>({4}, {0, -1, INT64_MAX, INT64_MIN});
  g.values[idx].type = {DType::kInt64, SymShape{Dim(4)}};
  const int half = g.add_value("half");
  g.values[half].constant = f16_tensor();
  const int flags = g.add_value("flags");
  g.values[flags].constant = Tensor::from_vector<bool>({2}, {true, false});
  const int empty = g.add_value("empty");
  g.values[empty].constant = Tensor::allocate(DType::kFloat32, {0, 4}).value();
  const int scalar = g.add_value("scalar");
  g.values[scalar].constant = Tensor::scalar<double>(0.25);
  const int shared = g.add_value("shared_with_w");  // the same buffer as w: stored once
  g.values[shared].constant = g.values[w].constant;
  const int y = g.add_value("y");
  g.values[y].type = {DType::kFloat32, SymShape{Dim::symbolic("batch"), Dim::unknown()}};
  g.values[y].producer = 0;
  const int untyped = g.add_value("untyped");
  g.values[untyped].producer = 0;
  g.inputs = {x};
  g.outputs = {y};

  Node n{"n0", "Everything", "com.microsoft", {x, w, kNoValue, idx, half, flags, empty, scalar, shared},
         {y, kNoValue, untyped}, {}};
  Attribute a;
  a.kind = Attribute::Kind::kFloat;
  a.f = -3.25f;
  n.attributes["f"] = a;
  a = Attribute();
  a.kind = Attribute::Kind::kInt;
  a.i = -(int64_t{1} << 40);
  n.attributes["i"] = a;
  a = Attribute();
  a.kind = Attribute::Kind::kString;
  a.s = std::string("bytes\0with zero", 15);
  n.attributes["s"] = a;
  a = Attribute();
  a.kind = Attribute::Kind::kTensor;
  a.t = Tensor::from_vector<int32_t>({2, 2}, {1, 2, 3, 4});
  n.attributes["t"] = a;
  a = Attribute();
  a.kind = Attribute::Kind::kGraph;
  a.g = std::make_shared<Graph>(sub);
  n.attributes["g"] = a;
  a = Attribute();
  a.kind = Attribute::Kind::kFloats;
  a.floats = {1, -2.5f, 1e30f};
  n.attributes["floats"] = a;
  a = Attribute();
  a.kind = Attribute::Kind::kInts;
  a.ints = {3, -4, INT64_MAX};
  n.attributes["ints"] = a;
  a = Attribute();
  a.kind = Attribute::Kind::kStrings;
  a.strings = {"a", "", "c"};
  n.attributes["strings"] = a;
  a = Attribute();
  a.kind = Attribute::Kind::kTensors;
  a.tensors = {Tensor::from_vector<uint8_t>({3}, {1, 2, 3}), f16_tensor()};
  n.attributes["tensors"] = a;
  a = Attribute();
  a.kind = Attribute::Kind::kOther;
  n.attributes["other"] = a;
  a = Attribute();
  a.kind = Attribute::Kind::kGraph;  // a subgraph attribute the importer left empty
  n.attributes["empty_graph"] = a;
  g.nodes.push_back(std::move(n));
  return g;
}

BuildOptions make_options() {
  BuildOptions o;
  ShapeProfile p0;
  p0.min = {{"x", {1, 3, 1}}, {"z", {}}};
  p0.opt = {{"x", {4, 3, 8}}, {"z", {}}};
  p0.max = {{"x", {16, 3, 64}}, {"z", {}}};
  ShapeProfile p1;
  p1.min = p1.opt = p1.max = {{"x", {2, 3, 5}}};
  o.profiles = {p0, p1};
  o.disabled_passes = {"constant_folding", "fuse_matmul_add"};
  o.workspace_limit_bytes = int64_t{3} << 30;
  return o;
}

void expect_same_options(const BuildOptions& a, const BuildOptions& b) {
  ASSERT_EQ(a.profiles.size(), b.profiles.size());
  for (size_t i = 0; i < a.profiles.size(); ++i) {
    EXPECT_EQ(a.profiles[i].min, b.profiles[i].min);
    EXPECT_EQ(a.profiles[i].opt, b.profiles[i].opt);
    EXPECT_EQ(a.profiles[i].max, b.profiles[i].max);
  }
  EXPECT_EQ(a.disabled_passes, b.disabled_passes);
  EXPECT_EQ(a.workspace_limit_bytes, b.workspace_limit_bytes);
}

// The /proc/self/maps line of the mapping that holds `address`, or "".
std::string mapping_of(const void* address) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const auto a = reinterpret_cast<uintptr_t>(address);
  while (std::getline(maps, line)) {
    uintptr_t lo = 0, hi = 0;
    if (sscanf(line.c_str(), "%lx-%lx", &lo, &hi) == 2 && lo <= a && a < hi) return line;
  }
  return "";
}

bool file_is_mapped(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find(path) != std::string::npos) return true;
  }
  return false;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Rejected with a message that names the file and says what is wrong with it.
::testing::AssertionResult rejected_clearly(const std::string& path) {
  Result<PlanContents> r = read_plan_file(path);
  if (r.is_ok()) return ::testing::AssertionFailure() << "the damaged plan was accepted";
  const std::string& m = r.status().message();
  if (m.find(path) == std::string::npos) return ::testing::AssertionFailure() << "no file name in: " << m;
  for (const char* why : {"checksum", "magic", "size", "format version", "truncated", "empty", "header"}) {
    if (m.find(why) != std::string::npos) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "unclear message: " << m;
}


std::shared_ptr<Engine> tiny_engine() {
  auto e = test::load(test::add_relu_matmul_model(), "tiny.onnx");
  EXPECT_TRUE(e.is_ok()) << e.status().to_string();
  return e.is_ok() ? *e : nullptr;
}

// Runs `engine` on the .npy inputs of tests/models/<model>/case_0.
std::vector<Tensor> run_case(const Engine& engine, const std::string& model) {
  std::unique_ptr<ExecutionContext> ctx = engine.create_context();
  for (const TensorDesc& d : engine.inputs()) {
    Result<Tensor> t = read_npy(kModels + "/" + model + "/case_0/input_" + d.name + ".npy");
    EXPECT_TRUE(t.is_ok()) << t.status().to_string();
    if (!t.is_ok()) return {};
    Status s = ctx->set_input(d.name, *t);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
  }
  Status s = ctx->run();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return ctx->outputs();
}

// --- the format ---

TEST(PlanFile, RoundTripsEveryKindOfGraphContent) {
  TempDir dir;
  const Graph g = make_ir_graph();
  const BuildOptions o = make_options();
  const std::string path = dir.file("every.plan");
  ASSERT_TRUE(write_plan_file(path, g, o).is_ok());
  Result<PlanContents> plan = read_plan_file(path);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  expect_same_graph(g, plan->graph);
  expect_same_options(o, plan->options);
  EXPECT_EQ(plan->graph.source_path, path);  // messages about the loaded graph name the plan
  EXPECT_EQ(plan->source_model, "every_kind.onnx");
  EXPECT_FALSE(plan->kiln_version.empty());
  EXPECT_NE(plan->kiln_version, "unknown");
  // The shared buffer was written once: both values point at the same mapped bytes.
  EXPECT_EQ(plan->graph.values[g.find_value("w")].constant.raw(),
            plan->graph.values[g.find_value("shared_with_w")].constant.raw());
}

TEST(PlanFile, LayoutHasHeaderSectionsAndAlignedWeights) {
  TempDir dir;
  const std::string path = dir.file("layout.plan");
  ASSERT_TRUE(write_plan_file(path, make_ir_graph(), make_options()).is_ok());
  const std::string bytes = test::read_file(path);
  ASSERT_GE(bytes.size(), kPlanHeaderSize);
  EXPECT_EQ(bytes.substr(0, 8), "KILNPLAN");
  Result<PlanHeader> h = decode_plan_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
  ASSERT_TRUE(h.is_ok()) << h.status().to_string();
  EXPECT_EQ(h->format_version, kPlanFormatVersion);
  EXPECT_EQ(h->file_size, bytes.size());
  EXPECT_EQ(h->metadata_offset, kPlanHeaderSize);
  EXPECT_EQ(h->weights_offset % 64, 0u);
  EXPECT_EQ(h->payload_crc32, plan_crc32(bytes.data() + kPlanHeaderSize, bytes.size() - kPlanHeaderSize));
  planpb::PlanMetadata meta;
  ASSERT_TRUE(meta.ParseFromArray(bytes.data() + h->metadata_offset, static_cast<int>(h->metadata_size)));
  int refs = 0;
  for (const planpb::Value& v : meta.graph().values()) {
    if (!v.has_constant()) continue;
    ++refs;
    EXPECT_EQ(v.constant().offset() % 64, 0u) << v.name();
    EXPECT_LE(v.constant().offset() + v.constant().size(), h->weights_size) << v.name();
  }
  EXPECT_EQ(refs, 7);
  // kiln is compiled for x86-64-v3 (or natively, which on a machine that runs it has these).
  const std::vector<std::string> features(meta.required_cpu_features().begin(), meta.required_cpu_features().end());
  for (const char* f : {"avx2", "fma", "f16c", "bmi2"}) {
    EXPECT_NE(std::find(features.begin(), features.end(), f), features.end()) << f;
  }
}

TEST(PlanFile, ConstantsPointIntoTheMappingUntilTheLastIsGone) {
  TempDir dir;
  const std::string path = dir.file("mapped.plan");
  ASSERT_TRUE(write_plan_file(path, make_ir_graph(), {}).is_ok());
  Tensor kept;
  {
    Result<PlanContents> plan = read_plan_file(path);
    ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
    for (const Value& v : plan->graph.values) {
      if (!v.is_constant() || v.constant.nbytes() == 0) continue;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(v.constant.raw()) % 64, 0u) << v.name;
      // No copy: the bytes are the file's, mapped.
      EXPECT_NE(mapping_of(v.constant.raw()).find("mapped.plan"), std::string::npos) << v.name;
    }
    kept = plan->graph.values[plan->graph.find_value("w")].constant;
  }
  EXPECT_TRUE(file_is_mapped(path));
  EXPECT_EQ(kept.data<float>()[0], 1.5f);
  kept = Tensor();
  EXPECT_FALSE(file_is_mapped(path));
}

// Saving a loaded engine over its own plan reads the weights from the mapping of the very
// file being replaced: the rename leaves that mapping (the old inode) intact.
TEST(PlanFile, ResavingALoadedPlanOverItselfWorks) {
  TempDir dir;
  const std::string path = dir.file("self.plan");
  const Graph g = make_ir_graph();
  ASSERT_TRUE(write_plan_file(path, g, make_options()).is_ok());
  const std::string before = test::read_file(path);
  Result<PlanContents> first = read_plan_file(path);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  first->graph.source_path = g.source_path;
  ASSERT_TRUE(write_plan_file(path, first->graph, first->options).is_ok());
  EXPECT_EQ(test::read_file(path), before);
  expect_same_graph(g, first->graph);  // still readable through the old mapping
  Result<PlanContents> second = read_plan_file(path);
  ASSERT_TRUE(second.is_ok()) << second.status().to_string();
  expect_same_graph(g, second->graph);
}

TEST(PlanFile, SameGraphGivesTheSameBytes) {
  TempDir dir;
  ASSERT_TRUE(write_plan_file(dir.file("a.plan"), make_ir_graph(), make_options()).is_ok());
  ASSERT_TRUE(write_plan_file(dir.file("b.plan"), make_ir_graph(), make_options()).is_ok());
  EXPECT_EQ(test::read_file(dir.file("a.plan")), test::read_file(dir.file("b.plan")));
}

// --- damaged and foreign files ---

TEST(PlanFile, EveryFlippedByteOfASmallPlanIsRejected) {
  TempDir dir;
  std::shared_ptr<Engine> engine = tiny_engine();
  ASSERT_TRUE(engine);
  const std::string good_path = dir.file("tiny.plan");
  ASSERT_TRUE(engine->save_plan(good_path).is_ok());
  const std::string good = test::read_file(good_path);
  ASSERT_GT(good.size(), kPlanHeaderSize + 64);
  const std::string path = dir.file("flipped.plan");
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0xff}}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      test::write_file(path, bad);
      ASSERT_TRUE(rejected_clearly(path)) << "byte " << i << " ^ " << int{mask};
    }
  }
  test::write_file(path, good);
  EXPECT_TRUE(read_plan_file(path).is_ok());
}

TEST(PlanFile, FlippedBytesOfABertPlanAreRejected) {
  TempDir dir;
  auto engine = Engine::build_from_onnx(kModels + "/bert/model.onnx", {});
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  const std::string good_path = dir.file("bert.plan");
  ASSERT_TRUE((*engine)->save_plan(good_path).is_ok());
  const std::string good = test::read_file(good_path);
  std::vector<size_t> positions;
  for (size_t i = 0; i < kPlanHeaderSize; ++i) positions.push_back(i);
  for (size_t i = kPlanHeaderSize; i < good.size(); i += 4093) positions.push_back(i);
  positions.push_back(good.size() - 1);
  const std::string path = dir.file("flipped.plan");
  for (size_t i : positions) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    test::write_file(path, bad);
    ASSERT_TRUE(rejected_clearly(path)) << "byte " << i;
  }
}

TEST(PlanFile, TruncatedPlansAreRejected) {
  TempDir dir;
  std::shared_ptr<Engine> engine = tiny_engine();
  ASSERT_TRUE(engine);
  ASSERT_TRUE(engine->save_plan(dir.file("tiny.plan")).is_ok());
  const std::string good = test::read_file(dir.file("tiny.plan"));
  const std::string path = dir.file("short.plan");
  for (size_t n = 0; n < good.size(); ++n) {
    test::write_file(path, good.substr(0, n));
    ASSERT_TRUE(rejected_clearly(path)) << n << " bytes";
  }
  test::write_file(path, good + "x");  // appended to
  EXPECT_TRUE(test::error_mentions(read_plan_file(path), {path, "size mismatch", "extra bytes"}));
  test::write_file(path, good.substr(0, good.size() - 1));
  EXPECT_TRUE(test::error_mentions(read_plan_file(path), {path, "size mismatch", "truncated"}));
}

TEST(PlanFile, ForeignFilesAreRejected) {
  TempDir dir;
  const std::string onnx = kModels + "/bert/model.onnx";
  EXPECT_TRUE(test::error_mentions(read_plan_file(onnx), {onnx, "not a kiln plan", "magic"}));
  const std::string text = kModels + "/README.md";
  EXPECT_TRUE(test::error_mentions(read_plan_file(text), {text, "not a kiln plan"}));
  test::write_file(dir.file("empty.plan"), "");
  EXPECT_TRUE(test::error_mentions(read_plan_file(dir.file("empty.plan")), {"empty.plan", "empty"}));
  test::write_file(dir.file("short.plan"), "KILN");
  EXPECT_TRUE(test::error_mentions(read_plan_file(dir.file("short.plan")), {"short.plan", "truncated"}));
  EXPECT_TRUE(test::error_mentions(read_plan_file(dir.path()), {dir.path(), "directory"}));
  Result<PlanContents> missing = read_plan_file(dir.file("nope.plan"));
  EXPECT_TRUE(test::error_mentions(missing, {"nope.plan", "does not exist"}));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(PlanFile, AnotherFormatVersionIsRefusedNamingBoth) {
  TempDir dir;
  PlanWriteOptions future;
  future.format_version = kPlanFormatVersion + 1;
  const std::string path = dir.file("future.plan");
  ASSERT_TRUE(write_plan_file(path, make_ir_graph(), {}, future).is_ok());
  Result<PlanContents> r = read_plan_file(path);
  EXPECT_TRUE(test::error_mentions(r, {path, "format version " + std::to_string(kPlanFormatVersion + 1),
                                       "reads format version " + std::to_string(kPlanFormatVersion)}));
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
}

TEST(PlanFile, APlanNeedingAMissingCpuFeatureIsRefused) {
  TempDir dir;
  PlanWriteOptions w;
  w.cpu_features.push_back("avx512_fake");
  const std::string path = dir.file("fake_cpu.plan");
  ASSERT_TRUE(write_plan_file(path, make_ir_graph(), {}, w).is_ok());
  Result<PlanContents> r = read_plan_file(path);
  EXPECT_TRUE(test::error_mentions(r, {path, "CPU feature 'avx512_fake'"}));
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_FALSE(cpu_has_feature("avx512_fake"));
  EXPECT_TRUE(cpu_has_feature("avx2"));  // kiln's baseline: the tests could not run otherwise
}

TEST(PlanFile, InconsistentMetadataUnderValidChecksumsIsRejected) {
  TempDir dir;
  const std::string path = dir.file("every.plan");
  ASSERT_TRUE(write_plan_file(path, make_ir_graph(), make_options()).is_ok());
  const std::string good = test::read_file(path);
  struct Case {
    const char* what;
    void (*edit)(planpb::PlanMetadata&);
    const char* expect;
  };
  const Case cases[] = {
      {"node input out of range", [](planpb::PlanMetadata& m) { m.mutable_graph()->mutable_nodes(0)->set_inputs(0, 999); },
       "refers to value 999"},
      {"graph output out of range", [](planpb::PlanMetadata& m) { m.mutable_graph()->set_outputs(0, -1); },
       "graph output refers to value -1"},
      {"tensor beyond the weights",
       [](planpb::PlanMetadata& m) { m.mutable_graph()->mutable_values(1)->mutable_constant()->set_offset(1 << 20); },
       "64-byte-aligned range"},
      {"unaligned tensor",
       [](planpb::PlanMetadata& m) { m.mutable_graph()->mutable_values(1)->mutable_constant()->set_offset(4); },
       "64-byte-aligned range"},
      {"size does not match the shape",
       [](planpb::PlanMetadata& m) { m.mutable_graph()->mutable_values(1)->mutable_constant()->set_size(8); },
       "recorded as 8 bytes"},
      {"huge shape",
       [](planpb::PlanMetadata& m) {
         m.mutable_graph()->mutable_values(1)->mutable_constant()->set_dims(0, INT64_MAX);
       },
       "value 1"},
      {"string tensor",
       [](planpb::PlanMetadata& m) { m.mutable_graph()->mutable_values(1)->mutable_constant()->set_dtype(8); },
       "cannot be held in a plan"},
      {"duplicate value name",
       [](planpb::PlanMetadata& m) { m.mutable_graph()->mutable_values(1)->set_name("x"); }, "used twice"},
      {"unknown producer", [](planpb::PlanMetadata& m) { m.mutable_graph()->mutable_values(0)->set_producer(5); },
       "producer node 5"},
      {"unknown attribute kind",
       [](planpb::PlanMetadata& m) {
         m.mutable_graph()->mutable_nodes(0)->mutable_attributes(0)->set_kind(static_cast<planpb::Attribute::Kind>(77));
       },
       "unknown attribute kind 77"},
      {"negative workspace",
       [](planpb::PlanMetadata& m) { m.mutable_build_options()->set_workspace_limit_bytes(-5); }, "negative workspace"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    test::write_file(path, with_metadata(good, c.edit));
    EXPECT_TRUE(test::error_mentions(read_plan_file(path), {path, c.expect}));
  }
  test::write_file(path, with_metadata(good, [](planpb::PlanMetadata&) {}));
  EXPECT_TRUE(read_plan_file(path).is_ok());  // the rewriting itself keeps a plan valid
}

// --- atomic writes ---

TEST(PlanFile, WritesLeaveNoTemporaryFiles) {
  TempDir dir;
  ASSERT_TRUE(write_plan_file(dir.file("a.plan"), make_ir_graph(), {}).is_ok());
  ASSERT_TRUE(write_plan_file(dir.file("a.plan"), make_ir_graph(), make_options()).is_ok());  // replaces
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"a.plan"});
  Result<PlanContents> r = read_plan_file(dir.file("a.plan"));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->options.profiles.size(), 2u);
}

TEST(PlanFile, WritingIntoAMissingDirectoryFailsCleanly) {
  TempDir dir;
  const std::string path = dir.file("no_such_dir/model.plan");
  Status s = write_plan_file(path, make_ir_graph(), {});
  EXPECT_TRUE(test::error_mentions(s, {path, "No such file or directory"}));
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_TRUE(files_in(dir.path()).empty());
}

TEST(PlanFile, AFailedRenameRemovesTheTemporaryFile) {
  TempDir dir;
  const std::string path = dir.file("target.plan");
  fs::create_directory(path);  // rename() cannot replace a non-empty directory
  test::write_file(path + "/keep", "x");
  Status s = write_plan_file(path, make_ir_graph(), {});
  EXPECT_TRUE(test::error_mentions(s, {path, "rename"}));
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"target.plan"});
  EXPECT_EQ(test::read_file(path + "/keep"), "x");
}

TEST(PlanFile, AWriteFailingHalfwayLeavesTheOldPlanUntouched) {
  TempDir dir;
  const std::string path = dir.file("model.plan");
  ASSERT_TRUE(write_plan_file(path, make_ir_graph(), {}).is_ok());
  const std::string before = test::read_file(path);
  auto engine = Engine::build_from_onnx(kModels + "/resnet50/model.onnx", {});
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();

  // A file size limit makes write() fail partway (EFBIG), like a full disk would.
  rlimit old_limit{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit small = old_limit;
  small.rlim_cur = 64 * 1024;
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  Status s = (*engine)->save_plan(path);
  setrlimit(RLIMIT_FSIZE, &old_limit);
  signal(SIGXFSZ, old_handler);

  EXPECT_TRUE(test::error_mentions(s, {path, "cannot write"}));
  EXPECT_EQ(test::read_file(path), before);
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"model.plan"});
}

// --- engines from plans ---

class PlanEngine : public ::testing::TestWithParam<const char*> {};

TEST_P(PlanEngine, LoadedEngineGivesBitIdenticalOutputs) {
  const std::string model = GetParam();
  TempDir dir;
  BuildOptions options;
  if (model == "bert") {
    ShapeProfile p;
    for (const char* in : {"input_ids", "attention_mask", "token_type_ids"}) {
      p.min[in] = {1, 1};
      p.opt[in] = {1, 7};
      p.max[in] = {4, 64};
    }
    options.profiles = {p};
  }
  options.workspace_limit_bytes = int64_t{1} << 30;
  auto built = Engine::build_from_onnx(kModels + "/" + model + "/model.onnx", options);
  ASSERT_TRUE(built.is_ok()) << built.status().to_string();
  const std::string path = dir.file(model + ".plan");
  ASSERT_TRUE((*built)->save_plan(path).is_ok());
  auto loaded = Engine::from_plan_file(path);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();

  EXPECT_EQ((*loaded)->num_nodes(), (*built)->num_nodes());
  ASSERT_EQ((*loaded)->inputs().size(), (*built)->inputs().size());
  for (size_t i = 0; i < (*built)->inputs().size(); ++i) {
    EXPECT_EQ((*loaded)->inputs()[i].name, (*built)->inputs()[i].name);
    EXPECT_EQ((*loaded)->inputs()[i].shape_string(), (*built)->inputs()[i].shape_string());
  }
  const std::vector<Tensor> expected = run_case(**built, model);
  const std::vector<Tensor> actual = run_case(**loaded, model);
  ASSERT_EQ(expected.size(), actual.size());
  ASSERT_FALSE(expected.empty());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_TRUE(same_tensor(expected[i], actual[i])) << "output " << i;

  // The plan holds the build options it was built with.
  Result<PlanContents> plan = read_plan_file(path);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  expect_same_options(options, plan->options);
  EXPECT_EQ(plan->source_model, kModels + "/" + model + "/model.onnx");
}

INSTANTIATE_TEST_SUITE_P(PlanModels, PlanEngine, ::testing::Values("bert", "resnet50"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

TEST(PlanEngineErrors, FromPlanFileNamesTheFile) {
  TempDir dir;
  const std::string path = dir.file("bad.plan");
  test::write_file(path, "this is not a plan");
  auto r = Engine::from_plan_file(path);
  EXPECT_TRUE(test::error_mentions(r, {path, "not a kiln plan"}));
}

}  // namespace
}  // namespace kiln
