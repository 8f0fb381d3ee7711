// Bad model files never crash kiln: each gets a non-ok Status whose message names the
// place (file, tensor, node, value). Run-time request errors are in input_validation_test,
// external data in external_data_test.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "kiln/engine.h"
#include "unit/model_builder.h"

namespace kiln {
namespace {

using test::add_relu_matmul_model;
using test::error_mentions;
using test::load;
using test::ModelBuilder;
using test::TempDir;
using test::write_file;

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;

// For an engine built from damaged bytes: bind small zero inputs (dynamic dims = 1) and
// run. Any Status is fine, as long as errors say something and a success has all outputs.
void exercise(const Engine& engine, const std::string& label) {
  std::unique_ptr<ExecutionContext> ctx = engine.create_context();
  for (const TensorDesc& d : engine.inputs()) {
    if (!d.has_shape || !is_supported_dtype(d.dtype)) return;
    Shape shape;
    int64_t numel = 1;
    for (int64_t v : d.dims) {
      shape.push_back(v < 0 ? 1 : v);
      numel *= std::max<int64_t>(shape.back(), 1);
      if (numel > (int64_t{1} << 20)) return;  // a damaged dim; not worth gigabytes here
    }
    Result<Tensor> t = Tensor::zeros(d.dtype, shape);
    if (!t.is_ok()) return;
    Status s = ctx->set_input(d.name, *t);
    EXPECT_TRUE(s.is_ok() || !s.message().empty()) << label;
  }
  Status s = ctx->run();
  if (s.is_ok()) {
    EXPECT_EQ(ctx->outputs().size(), engine.outputs().size()) << label;
  } else {
    EXPECT_FALSE(s.message().empty()) << label;
  }
}

// ---- the file itself ----

TEST(ModelFile, NonexistentPath) {
  TempDir dir;
  const std::string path = dir.file("no_such_model.onnx");
  auto r = Engine::from_onnx_file(path);
  EXPECT_TRUE(error_mentions(r, {path, "does not exist"}));
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST(ModelFile, Directory) {
  TempDir dir;
  auto r = Engine::from_onnx_file(dir.path());
  EXPECT_TRUE(error_mentions(r, {dir.path(), "directory"}));
}

TEST(ModelFile, EmptyFile) {
  TempDir dir;
  write_file(dir.file("empty.onnx"), "");
  EXPECT_TRUE(error_mentions(Engine::from_onnx_file(dir.file("empty.onnx")), {"empty.onnx", "empty", "0 bytes"}));
  EXPECT_TRUE(error_mentions(Engine::from_onnx_bytes("", "mem.onnx"), {"mem.onnx", "empty"}));
}

TEST(ModelFile, TextFile) {
  TempDir dir;
  const std::vector<std::string> texts = {
      "hello, this is not a model\n",
      "ir_version: 8\ngraph { node { op_type: \"Relu\" } }\n",  // ONNX text format, not binary
      "{\"not\": \"onnx\"}", std::string(1000, 'x'), "\n"};
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string path = dir.file("text" + std::to_string(i) + ".onnx");
    write_file(path, texts[i]);
    auto r = Engine::from_onnx_file(path);
    ASSERT_FALSE(r.is_ok()) << "text " << i << " loaded";
    EXPECT_TRUE(error_mentions(r, {path})) << "text " << i;
    const std::string& m = r.status().message();
    EXPECT_TRUE(m.find("not a valid ONNX model") != std::string::npos || m.find("IR version") != std::string::npos ||
                m.find("no graph") != std::string::npos)
        << r.status().to_string();
  }
}

TEST(ModelFile, ValidSmallModelLoadsAndRuns) {
  auto r = load(add_relu_matmul_model());
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  std::unique_ptr<ExecutionContext> ctx = (*r)->create_context();
  const std::vector<float> x = {1, -2, 3, -4, 0.5f, -0.25f};
  ASSERT_TRUE(ctx->set_input("x", Tensor::from_vector<float>({2, 3}, x)).is_ok());
  ASSERT_TRUE(ctx->run().is_ok());
  const std::vector<float> want = test::add_relu_matmul_reference(x);
  const Tensor& y = ctx->outputs().at(0);
  ASSERT_EQ(y.shape(), (Shape{2, 2}));
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(y.data<float>()[i], want[i]) << i;
}

// ---- truncated and corrupted bytes ----

// Every prefix of a small model: an error naming the model, or (where protobuf accepts the
// prefix) an engine that behaves.
TEST(ModelFile, TruncatedAtEveryByte) {
  const std::string bytes = add_relu_matmul_model().bytes();
  ASSERT_GT(bytes.size(), 100u);
  int loaded = 0;
  for (size_t n = 0; n < bytes.size(); ++n) {
    const std::string label = "prefix of " + std::to_string(n) + " bytes";
    auto r = Engine::from_onnx_bytes(bytes.substr(0, n), "truncated.onnx");
    if (r.is_ok()) {
      ++loaded;
      exercise(**r, label);
    } else {
      EXPECT_TRUE(error_mentions(r, {"truncated.onnx"})) << label;
    }
  }
  // The whole model must load; only the fields after the graph can be cut off cleanly.
  EXPECT_TRUE(Engine::from_onnx_bytes(bytes, "whole.onnx").is_ok());
  EXPECT_LT(loaded, 10);
}

TEST(ModelFile, TruncatedFilesOnDisk) {
  TempDir dir;
  const std::string bytes = add_relu_matmul_model().bytes();
  for (size_t n : {size_t{1}, size_t{2}, size_t{7}, bytes.size() / 2, bytes.size() - 1}) {
    const std::string path = dir.file("cut" + std::to_string(n) + ".onnx");
    write_file(path, bytes.substr(0, n));
    auto r = Engine::from_onnx_file(path);
    if (r.is_ok()) exercise(**r, path);
    else EXPECT_TRUE(error_mentions(r, {path})) << n;
  }
}

// A real model cut at a strided sample of positions, including each of its last bytes.
TEST(ModelFile, TruncatedRealModel) {
  const std::string path = std::string(KILN_SOURCE_DIR) + "/tests/models/resnet50/model.onnx";
  const std::string bytes = test::read_file(path);
  ASSERT_GT(bytes.size(), 1000u);
  std::vector<size_t> cuts;
  for (size_t n = 0; n < 64; ++n) cuts.push_back(n);
  for (size_t n = 64; n < bytes.size(); n += bytes.size() / 256 + 7) cuts.push_back(n);
  for (size_t k = 1; k <= 96; ++k) cuts.push_back(bytes.size() - k);
  for (size_t n : cuts) {
    auto r = Engine::from_onnx_bytes(bytes.substr(0, n), "resnet_cut.onnx");
    if (r.is_ok()) exercise(**r, "resnet50 cut at " + std::to_string(n));
    else EXPECT_TRUE(error_mentions(r, {"resnet_cut.onnx"})) << "cut at " << n;
  }
}

// Every byte of a small model overwritten with a few values: never a crash.
TEST(ModelFile, CorruptedBytesNeverCrash) {
  const std::string bytes = add_relu_matmul_model().bytes();
  int errors = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int v : {0x00, 0xff, 0x80, 0x7f, static_cast<unsigned char>(bytes[i]) ^ 0x01}) {
      std::string damaged = bytes;
      damaged[i] = static_cast<char>(v);
      auto r = Engine::from_onnx_bytes(damaged, "damaged.onnx");
      if (r.is_ok()) {
        exercise(**r, "byte " + std::to_string(i) + " = " + std::to_string(v));
      } else {
        ++errors;
        EXPECT_TRUE(error_mentions(r, {"damaged.onnx"})) << "byte " << i << " = " << v;
      }
    }
  }
  EXPECT_GT(errors, 0);
}

// ---- tensor data ----

TEST(TensorData, RawDataSizeDisagreesWithDims) {
  ModelBuilder b = add_relu_matmul_model();
  b.graph()->mutable_initializer(1)->set_raw_data(std::string(20, '\0'));  // W is 3x2 float: 24 bytes
  EXPECT_TRUE(error_mentions(load(b), {"test.onnx", "'W'", "3x2", "24 bytes", "raw_data holds 20"}));
}

TEST(TensorData, FloatDataCountMismatch) {
  ModelBuilder b = add_relu_matmul_model();
  b.graph()->clear_initializer();
  b.initializer("B", {3}, {1, 2, 3}, /*typed=*/true);
  b.initializer("W", {3, 2}, {1, 2, 3, 4, 5}, /*typed=*/true);
  EXPECT_TRUE(error_mentions(load(b), {"'W'", "6 elements", "float_data holds 5"}));
}

TEST(TensorData, NoData) {
  ModelBuilder b = add_relu_matmul_model();
  b.graph()->mutable_initializer(0)->clear_raw_data();
  EXPECT_TRUE(error_mentions(load(b), {"'B'", "no data"}));
}

TEST(TensorData, NegativeDims) {
  ModelBuilder b = add_relu_matmul_model();
  b.graph()->mutable_initializer(1)->set_dims(0, -3);
  EXPECT_TRUE(error_mentions(load(b), {"'W'", "negative dim"}));

  ModelBuilder c = add_relu_matmul_model();
  c.graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(1)->set_dim_value(-3);
  EXPECT_TRUE(error_mentions(load(c), {"graph input 'x'", "negative dim -3"}));
}

TEST(TensorData, UnknownDataType) {
  ModelBuilder b = add_relu_matmul_model();
  b.graph()->mutable_initializer(0)->set_data_type(99);
  EXPECT_TRUE(error_mentions(load(b), {"'B'", "data type 99"}));

  ModelBuilder c = add_relu_matmul_model();
  c.graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(99);
  EXPECT_TRUE(error_mentions(load(c), {"graph input 'x'", "type 99"}));
}

TEST(TensorData, UnsupportedDataType) {
  ModelBuilder b = add_relu_matmul_model();
  b.graph()->mutable_initializer(0)->set_data_type(onnx::TensorProto::STRING);
  EXPECT_TRUE(error_mentions(load(b), {"'B'", "string"}));
}

// The element count of a shape must not overflow, and a shape beyond the tensor size limit
// is refused before anything is allocated.
TEST(TensorData, HugeShapes) {
  ModelBuilder b = add_relu_matmul_model();
  auto* w = b.graph()->mutable_initializer(1);
  w->clear_dims();
  for (int i = 0; i < 4; ++i) w->add_dims(int64_t{1} << 20);  // 2^80 elements
  EXPECT_TRUE(error_mentions(load(b), {"'W'"}));

  ModelBuilder c = add_relu_matmul_model();
  auto* w2 = c.graph()->mutable_initializer(1);
  w2->clear_dims();
  w2->add_dims(int64_t{1} << 30);
  w2->add_dims(int64_t{1} << 10);  // 4 TiB of float32
  EXPECT_TRUE(error_mentions(load(c), {"'W'"}));
}

#if !defined(__SANITIZE_ADDRESS__)
[[noreturn]] void load_oversized_initializer_and_exit() {
  rlimit limit{};
  limit.rlim_cur = limit.rlim_max = rlim_t{4} << 30;
  setrlimit(RLIMIT_AS, &limit);
  ModelBuilder b = add_relu_matmul_model();
  auto* w = b.graph()->mutable_initializer(1);
  w->clear_dims();
  w->add_dims(int64_t{1} << 32);  // 16 GiB of float32
  w->set_raw_data(std::string(4, '\0'));
  auto r = load(b);
  const bool good = !r.is_ok() && r.status().message().find("raw_data holds 4") != std::string::npos;
  if (!good) fprintf(stderr, "got: %s\n", r.status().to_string().c_str());
  std::exit(good ? 0 : 1);
}

// An initializer that claims 16 GiB but holds 4 bytes must be refused by comparing sizes,
// not by first trying to allocate 16 GiB: run under a 4 GiB address-space limit.
TEST(TensorData, OversizedShapeIsRejectedBeforeAllocating) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(load_oversized_initializer_and_exit(), ::testing::ExitedWithCode(0), "");
}
#endif

// ---- versions ----

TEST(ModelVersion, IrVersionFarInTheFuture) {
  ModelBuilder b = add_relu_matmul_model();
  b.proto().set_ir_version(1000);
  auto r = load(b);
  EXPECT_TRUE(error_mentions(r, {"test.onnx", "IR version 1000"}));
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
}

TEST(ModelVersion, MissingIrVersion) {
  ModelBuilder b = add_relu_matmul_model();
  b.proto().clear_ir_version();
  EXPECT_TRUE(error_mentions(load(b), {"test.onnx", "IR version"}));
}

TEST(ModelVersion, OpsetFarInTheFuture) {
  ModelBuilder b = add_relu_matmul_model();
  b.proto().mutable_opset_import(0)->set_version(1000);
  auto r = load(b);
  EXPECT_TRUE(error_mentions(r, {"test.onnx", "opset 1000"}));
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
}

TEST(ModelVersion, NoGraph) {
  ModelBuilder b = add_relu_matmul_model();
  b.proto().clear_graph();
  EXPECT_TRUE(error_mentions(load(b), {"test.onnx", "no graph"}));
}

// ---- graph structure ----

TEST(GraphStructure, NodeInputUndefined) {
  ModelBuilder b = add_relu_matmul_model();
  b.graph()->mutable_node(2)->set_input(1, "ghost");
  EXPECT_TRUE(error_mentions(load(b), {"test.onnx", "node 'matmul' (MatMul)", "'ghost'"}));
}

TEST(GraphStructure, Cycle) {
  ModelBuilder b(17);
  b.input("x", kFloat, {2});
  b.node("Add", {"x", "q"}, {"p"}, "add_p");
  b.node("Relu", {"p"}, {"q"}, "relu_q");
  b.node("Relu", {"p"}, {"y"}, "relu_y");
  b.output("y", kFloat, {2});
  auto r = load(b);
  EXPECT_TRUE(error_mentions(r, {"test.onnx", "cycle"}));
  const std::string& m = r.status().message();
  EXPECT_TRUE(m.find("add_p") != std::string::npos || m.find("relu_q") != std::string::npos) << m;
}

TEST(GraphStructure, SelfLoop) {
  ModelBuilder b(17);
  b.input("x", kFloat, {2});
  b.node("Add", {"x", "p"}, {"p"}, "self");
  b.output("p", kFloat, {2});
  EXPECT_TRUE(error_mentions(load(b), {"node 'self'", "cycle"}));
}

TEST(GraphStructure, GraphOutputNeverProduced) {
  ModelBuilder b = add_relu_matmul_model();
  b.output("z", kFloat, {"batch", 2});
  EXPECT_TRUE(error_mentions(load(b), {"test.onnx", "graph output 'z'"}));
}

TEST(GraphStructure, NoOutputs) {
  ModelBuilder b = add_relu_matmul_model();
  b.graph()->clear_output();
  EXPECT_TRUE(error_mentions(load(b), {"test.onnx", "no outputs"}));
}

TEST(GraphStructure, DuplicateNodeOutput) {
  ModelBuilder b = add_relu_matmul_model();
  b.graph()->mutable_node(1)->set_output(0, "t");  // relu writes 't', which add already does
  EXPECT_TRUE(error_mentions(load(b), {"node 'relu' (Relu)", "'t'", "already defined"}));
}

TEST(GraphStructure, NodeOutputShadowsGraphInput) {
  ModelBuilder b = add_relu_matmul_model();
  b.graph()->mutable_node(0)->set_output(0, "x");
  EXPECT_TRUE(error_mentions(load(b), {"node 'add' (Add)", "'x'", "already defined"}));
}

TEST(GraphStructure, NodeOutputShadowsInitializer) {
  ModelBuilder b = add_relu_matmul_model();
  b.graph()->mutable_node(0)->set_output(0, "W");
  EXPECT_TRUE(error_mentions(load(b), {"node 'add' (Add)", "'W'", "already defined"}));
}

TEST(GraphStructure, DuplicateInitializer) {
  ModelBuilder b = add_relu_matmul_model();
  b.initializer("B", {3}, {1, 2, 3});
  EXPECT_TRUE(error_mentions(load(b), {"initializer 'B'", "twice"}));
}

TEST(GraphStructure, DuplicateGraphInput) {
  ModelBuilder b = add_relu_matmul_model();
  b.input("x", onnx::TensorProto::INT64, {7});
  EXPECT_TRUE(error_mentions(load(b), {"graph input 'x'", "twice"}));
}

TEST(GraphStructure, NonTensorInput) {
  ModelBuilder b = add_relu_matmul_model();
  auto* seq = b.graph()->mutable_input(0)->mutable_type()->mutable_sequence_type();
  seq->mutable_elem_type()->mutable_tensor_type()->set_elem_type(kFloat);
  EXPECT_TRUE(error_mentions(load(b), {"graph input 'x'", "tensor types"}));
}

// ---- operators ----

// All unknown nodes are listed in one error, each with its name, op type, domain and opset.
TEST(Operators, UnknownOpsListedTogether) {
  ModelBuilder b(17);
  b.opset_import("com.example", 3);
  b.input("x", kFloat, {2});
  b.node("Foo", {"x"}, {"a"}, "foo_node", "com.example");
  b.node("Relu", {"a"}, {"r"}, "relu");
  b.node("NotARealOp", {"r"}, {"y"}, "bad_node");
  b.output("y", kFloat, {2});
  auto r = load(b);
  EXPECT_TRUE(error_mentions(r, {"test.onnx", "2 node(s)", "foo_node", "Foo", "com.example", "opset 3", "bad_node",
                                 "NotARealOp", "ai.onnx", "opset 17"}));
  EXPECT_EQ(r.status().message().find("relu"), std::string::npos) << "Relu is supported: " << r.status().to_string();
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
}

TEST(Operators, DomainWithoutOpsetImport) {
  ModelBuilder b(17);
  b.input("x", kFloat, {2});
  b.node("Foo", {"x"}, {"y"}, "foo_node", "com.nowhere");
  b.output("y", kFloat, {2});
  EXPECT_TRUE(error_mentions(load(b), {"foo_node", "Foo", "com.nowhere"}));
}

}  // namespace
}  // namespace kiln
