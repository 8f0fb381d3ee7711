#include "unit/model_builder.h"

#include "onnx/model_importer.h"
#include "passes/pipeline.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace kiln::test {
namespace {

void set_type(onnx::ValueInfoProto* vi, int32_t elem_type, const std::vector<DimSpec>& dims) {
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (const DimSpec& d : dims) {
    auto* dim = shape->add_dim();
    if (d.symbol.empty()) dim->set_dim_value(d.value);
    else dim->set_dim_param(d.symbol);
  }
}

// The fixture's constants: B = [0.5, -1, 2], W = [[1, 2], [3, 4], [5, 6]].
const std::vector<float> kB = {0.5f, -1.0f, 2.0f};
const std::vector<float> kW = {1, 2, 3, 4, 5, 6};

}  // namespace

ModelBuilder::ModelBuilder(int64_t opset, int64_t ir_version) {
  model_.set_ir_version(ir_version);
  model_.set_producer_name("kiln-unit-tests");
  opset_import("", opset);
  model_.mutable_graph()->set_name("test_graph");
}

ModelBuilder& ModelBuilder::input(const std::string& name, int32_t elem_type, const std::vector<DimSpec>& dims) {
  auto* vi = graph()->add_input();
  vi->set_name(name);
  set_type(vi, elem_type, dims);
  return *this;
}

ModelBuilder& ModelBuilder::output(const std::string& name, int32_t elem_type, const std::vector<DimSpec>& dims) {
  auto* vi = graph()->add_output();
  vi->set_name(name);
  set_type(vi, elem_type, dims);
  return *this;
}

onnx::NodeProto* ModelBuilder::node(const std::string& op_type, const std::vector<std::string>& inputs,
                                    const std::vector<std::string>& outputs, const std::string& name,
                                    const std::string& domain) {
  auto* n = graph()->add_node();
  n->set_op_type(op_type);
  if (!name.empty()) n->set_name(name);
  if (!domain.empty()) n->set_domain(domain);
  for (const auto& i : inputs) n->add_input(i);
  for (const auto& o : outputs) n->add_output(o);
  return n;
}

onnx::TensorProto* ModelBuilder::initializer(const std::string& name, const std::vector<int64_t>& dims,
                                             const std::vector<float>& values, bool typed) {
  auto* t = graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  if (typed) {
    for (float v : values) t->add_float_data(v);
  } else {
    std::string raw(values.size() * sizeof(float), '\0');
    if (!values.empty()) std::memcpy(raw.data(), values.data(), raw.size());
    t->set_raw_data(raw);
  }
  return t;
}

ModelBuilder& ModelBuilder::opset_import(const std::string& domain, int64_t version) {
  auto* op = model_.add_opset_import();
  op->set_domain(domain);
  op->set_version(version);
  return *this;
}

std::string ModelBuilder::bytes() const {
  std::string out;
  if (!model_.SerializeToString(&out)) throw std::runtime_error("ModelProto serialization failed");
  return out;
}

void add_int_attr(onnx::NodeProto* node, const std::string& name, int64_t value) {
  auto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

void add_ints_attr(onnx::NodeProto* node, const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

void int64_constant(ModelBuilder& b, const std::string& name, const std::vector<int64_t>& dims,
                    const std::vector<int64_t>& values) {
  onnx::NodeProto* n = b.node("Constant", {}, {name});
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  onnx::TensorProto* t = a->mutable_t();
  t->set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) t->add_dims(d);
  for (int64_t v : values) t->add_int64_data(v);
}

ModelBuilder add_relu_matmul_model() {
  ModelBuilder b(17);
  b.input("x", onnx::TensorProto::FLOAT, {"batch", 3});
  b.initializer("B", {3}, kB);
  b.initializer("W", {3, 2}, kW);
  b.node("Add", {"x", "B"}, {"t"}, "add");
  b.node("Relu", {"t"}, {"r"}, "relu");
  b.node("MatMul", {"r", "W"}, {"y"}, "matmul");
  b.output("y", onnx::TensorProto::FLOAT, {"batch", 2});
  return b;
}

std::vector<float> add_relu_matmul_reference(const std::vector<float>& x) {
  const size_t rows = x.size() / 3;
  std::vector<float> y(rows * 2, 0.0f);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t k = 0; k < 3; ++k) {
      const float v = std::max(0.0f, x[r * 3 + k] + kB[k]);
      for (size_t j = 0; j < 2; ++j) y[r * 2 + j] += v * kW[k * 2 + j];
    }
  }
  return y;
}

ModelBuilder add_model() {
  ModelBuilder b(17);
  b.input("a", onnx::TensorProto::FLOAT, {"batch_size", 4});
  b.input("b", onnx::TensorProto::FLOAT, {"batch_size", 4});
  b.node("Add", {"a", "b"}, {"c"}, "add");
  b.output("c", onnx::TensorProto::FLOAT, {"batch_size", 4});
  return b;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kiln_test_XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

::testing::AssertionResult error_mentions(const Status& s, const std::vector<std::string>& parts) {
  if (s.is_ok()) return ::testing::AssertionFailure() << "expected an error, got ok";
  for (const std::string& p : parts) {
    if (s.message().find(p) == std::string::npos) {
      return ::testing::AssertionFailure() << "error message lacks \"" << p << "\": " << s.to_string();
    }
  }
  return ::testing::AssertionSuccess() << s.to_string();
}

Graph optimized_graph(const ModelBuilder& b, const std::vector<std::string>& disabled) {
  Result<Graph> g = import_onnx_bytes(b.bytes(), "", "test.onnx");
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  if (!g.is_ok()) return Graph();
  BuildOptions options;
  options.disabled_passes = disabled;
  Status s = optimize_graph(*g, options);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return std::move(g).value();
}

std::shared_ptr<Engine> build_engine(const ModelBuilder& b, const std::vector<std::string>& disabled) {
  TempDir dir;
  write_file(dir.file("m.onnx"), b.bytes());
  BuildOptions options;
  options.disabled_passes = disabled;
  auto engine = Engine::build_from_onnx(dir.file("m.onnx"), options);
  EXPECT_TRUE(engine.is_ok()) << engine.status().to_string();
  return engine.is_ok() ? *engine : nullptr;
}

Result<std::shared_ptr<Engine>> load(const ModelBuilder& b, const std::string& name) {
  return Engine::from_onnx_bytes(b.bytes(), name);
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace kiln::test
