// Helpers for tests that build small ONNX models in C++ (onnx::ModelProto) instead of
// checking in binary files, and for the temporary folders they are written to.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ir/graph.h"
#include "kiln/engine.h"
#include "onnx/onnx.pb.h"

namespace kiln::test {

// One dim of a declared input or output: a number, or a symbolic name ("batch").
struct DimSpec {
  DimSpec(int64_t v) : value(v) {}            // NOLINT: implicit by design
  DimSpec(int v) : value(v) {}                // NOLINT
  DimSpec(const char* s) : symbol(s) {}       // NOLINT
  int64_t value = -1;
  std::string symbol;
};

class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset = 17, int64_t ir_version = 8);

  ModelBuilder& input(const std::string& name, int32_t elem_type, const std::vector<DimSpec>& dims);
  ModelBuilder& output(const std::string& name, int32_t elem_type, const std::vector<DimSpec>& dims);
  // Returns the node so a test can add attributes or corrupt it.
  onnx::NodeProto* node(const std::string& op_type, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "",
                        const std::string& domain = "");
  // A float32 initializer stored as raw_data (or float_data when `typed` is set).
  onnx::TensorProto* initializer(const std::string& name, const std::vector<int64_t>& dims,
                                 const std::vector<float>& values, bool typed = false);
  ModelBuilder& opset_import(const std::string& domain, int64_t version);

  onnx::ModelProto& proto() { return model_; }
  onnx::GraphProto* graph() { return model_.mutable_graph(); }
  std::string bytes() const;

 private:
  onnx::ModelProto model_;
};

void add_int_attr(onnx::NodeProto* node, const std::string& name, int64_t value);
void add_ints_attr(onnx::NodeProto* node, const std::string& name, const std::vector<int64_t>& values);
// A Constant node `name` holding an int64 tensor of shape `dims`.
void int64_constant(ModelBuilder& b, const std::string& name, const std::vector<int64_t>& dims,
                    const std::vector<int64_t>& values);

// The fixture most tests share: t = Add(x, B); r = Relu(t); y = MatMul(r, W)
// with x float32 [batch, 3], B [3], W [3, 2]; values chosen so the result is easy to check.
ModelBuilder add_relu_matmul_model();
// Expected y for add_relu_matmul_model() given x (row-major [rows, 3]).
std::vector<float> add_relu_matmul_reference(const std::vector<float>& x);

// c = Add(a, b), a and b float32 [batch_size, 4].
ModelBuilder add_model();

// A fresh folder under the system temp dir, removed with its contents at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Success when `s` is an error whose message contains every one of `parts`; the failure
// message shows the whole status.
::testing::AssertionResult error_mentions(const Status& s, const std::vector<std::string>& parts);
template <typename T>
::testing::AssertionResult error_mentions(const Result<T>& r, const std::vector<std::string>& parts) {
  if (r.is_ok()) return ::testing::AssertionFailure() << "expected an error, got success";
  return error_mentions(r.status(), parts);
}

// The builder's model imported and run through the build passes, minus `disabled`
// (failing the test, and returning an empty graph, when either step fails).
Graph optimized_graph(const ModelBuilder& b, const std::vector<std::string>& disabled = {});

// Engine::build_from_onnx (the build passes, minus `disabled`) on the builder's model
// written to a file; null (and a test failure) when the build fails.
std::shared_ptr<Engine> build_engine(const ModelBuilder& b, const std::vector<std::string>& disabled = {});

// Engine::from_onnx_bytes on the builder's model, named `name` in messages.
Result<std::shared_ptr<Engine>> load(const ModelBuilder& b, const std::string& name = "test.onnx");

void write_file(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);

}  // namespace kiln::test
