// Weights stored beside the model (TensorProto external data). The location comes from an
// untrusted file: it must stay inside the model's folder, and offset/length must fit the
// file and the tensor's shape.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>

#include "kiln/engine.h"
#include "unit/model_builder.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using test::error_mentions;
using test::write_file;

const std::vector<float> kW = {1, 2, 3, 4, 5, 6};  // add_relu_matmul_model()'s W, 24 bytes
constexpr int64_t kPrefix = 16;                    // junk before W in the weights file

std::string w_bytes() {
  std::string s(kW.size() * sizeof(float), '\0');
  std::memcpy(s.data(), kW.data(), s.size());
  return s;
}

// <tmp>/model/ holds model.onnx and weights.bin (16 junk bytes, then W); <tmp>/ also holds
// outside.bin, a file the model must not be able to reach.
class ExternalData : public ::testing::Test {
 protected:
  void SetUp() override {
    model_dir_ = tmp_.file("model");
    fs::create_directory(model_dir_);
    write_file(model_dir_ + "/weights.bin", std::string(kPrefix, '\x7f') + w_bytes());
    write_file(tmp_.file("outside.bin"), std::string(kPrefix, '\x7f') + w_bytes());
  }

  // Writes model.onnx with W external: key/value pairs as given (empty value: key left out).
  std::string write_model(const std::map<std::string, std::string>& kv) {
    test::ModelBuilder b = test::add_relu_matmul_model();
    onnx::TensorProto* w = b.graph()->mutable_initializer(1);
    EXPECT_EQ(w->name(), "W");
    w->clear_raw_data();
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    for (const auto& [key, value] : kv) {
      auto* e = w->add_external_data();
      e->set_key(key);
      e->set_value(value);
    }
    const std::string path = model_dir_ + "/model.onnx";
    write_file(path, b.bytes());
    return path;
  }

  Result<std::shared_ptr<Engine>> load(const std::string& location, const std::string& offset = "16",
                                       const std::string& length = "24") {
    std::map<std::string, std::string> kv = {{"location", location}};
    if (!offset.empty()) kv["offset"] = offset;
    if (!length.empty()) kv["length"] = length;
    return Engine::from_onnx_file(write_model(kv));
  }

  static void expect_runs_correctly(const Engine& engine) {
    std::unique_ptr<ExecutionContext> ctx = engine.create_context();
    const std::vector<float> x = {1, 2, 3, -1, -2, -3};
    ASSERT_TRUE(ctx->set_input("x", Tensor::from_vector<float>({2, 3}, x)).is_ok());
    Status s = ctx->run();
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    const std::vector<float> want = test::add_relu_matmul_reference(x);
    const Tensor& y = ctx->outputs().at(0);
    ASSERT_EQ(y.shape(), (Shape{2, 2}));
    for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(y.data<float>()[i], want[i]) << i;
  }

  test::TempDir tmp_;
  std::string model_dir_;
};

TEST_F(ExternalData, ValidModelLoadsAndRuns) {
  auto r = load("weights.bin");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_runs_correctly(**r);
}

TEST_F(ExternalData, LengthOmittedReadsToEndOfFile) {
  auto r = load("weights.bin", "16", "");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_runs_correctly(**r);
}

TEST_F(ExternalData, SubfolderAndSymlinkInsideAreAllowed) {
  fs::create_directory(model_dir_ + "/data");
  write_file(model_dir_ + "/data/w.bin", w_bytes());
  auto r = load("data/w.bin", "", "");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_runs_correctly(**r);

  fs::create_symlink("weights.bin", model_dir_ + "/alias.bin");
  auto s = load("alias.bin");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  expect_runs_correctly(**s);
}

TEST_F(ExternalData, DotDotRejected) {
  EXPECT_TRUE(error_mentions(load("../outside.bin"), {"'W'", "../outside.bin", ".."}));
  fs::create_directory(model_dir_ + "/sub");
  EXPECT_TRUE(error_mentions(load("sub/../../outside.bin"), {"'W'", ".."}));
  EXPECT_TRUE(error_mentions(load("sub/../weights.bin"), {"'W'", ".."}));
}

TEST_F(ExternalData, AbsoluteLocationRejected) {
  const std::string abs = fs::absolute(model_dir_ + "/weights.bin").string();
  EXPECT_TRUE(error_mentions(load(abs), {"'W'", abs, "relative"}));
  EXPECT_TRUE(error_mentions(load("/etc/passwd", "0", ""), {"'W'", "/etc/passwd", "relative"}));
}

TEST_F(ExternalData, SymlinkOutsideRejected) {
  fs::create_symlink("../outside.bin", model_dir_ + "/link.bin");
  EXPECT_TRUE(error_mentions(load("link.bin"), {"'W'", "link.bin", "outside the model's folder"}));
  // A linked folder that leads out of the model's folder.
  fs::create_directory(tmp_.file("elsewhere"));
  write_file(tmp_.file("elsewhere/w.bin"), std::string(kPrefix, '\0') + w_bytes());
  fs::create_directory_symlink("../elsewhere", model_dir_ + "/linkdir");
  EXPECT_TRUE(error_mentions(load("linkdir/w.bin"), {"'W'", "outside the model's folder"}));
}

TEST_F(ExternalData, MissingFile) {
  EXPECT_TRUE(error_mentions(load("nope.bin"), {"'W'", "nope.bin", "not found"}));
  EXPECT_TRUE(error_mentions(load(""), {"'W'"}));
}

TEST_F(ExternalData, LocationIsAFolder) {
  fs::create_directory(model_dir_ + "/folder");
  EXPECT_TRUE(error_mentions(load("folder", "0", ""), {"'W'", "folder", "not a regular file"}));
  EXPECT_TRUE(error_mentions(load(".", "0", ""), {"'W'"}));
}

TEST_F(ExternalData, OffsetPlusLengthBeyondFile) {
  // The file holds 40 bytes.
  EXPECT_TRUE(error_mentions(load("weights.bin", "20", "24"), {"'W'", "exceeds the file size 40"}));
  EXPECT_TRUE(error_mentions(load("weights.bin", "41", ""), {"'W'", "exceeds the file size 40"}));
  EXPECT_TRUE(error_mentions(load("weights.bin", "40", "24"), {"'W'", "exceeds"}));
}

// offset + length computed naively would wrap around and look small.
TEST_F(ExternalData, HugeOffsetsDoNotOverflow) {
  EXPECT_TRUE(error_mentions(load("weights.bin", "9223372036854775807", "24"), {"'W'", "exceeds"}));
  EXPECT_TRUE(error_mentions(load("weights.bin", "16", "9223372036854775807"), {"'W'", "exceeds"}));
  EXPECT_TRUE(
      error_mentions(load("weights.bin", "9223372036854775000", "9223372036854775000"), {"'W'", "exceeds"}));
  EXPECT_TRUE(error_mentions(load("weights.bin", "99999999999999999999", "24"), {"'W'", "offset", "number"}));
  EXPECT_TRUE(error_mentions(load("weights.bin", "-8", "24"), {"'W'", "negative offset"}));
}

TEST_F(ExternalData, MalformedNumbers) {
  EXPECT_TRUE(error_mentions(load("weights.bin", "abc", "24"), {"'W'", "offset", "'abc'"}));
  EXPECT_TRUE(error_mentions(load("weights.bin", "16", "24 bytes"), {"'W'", "length", "'24 bytes'"}));
  EXPECT_TRUE(error_mentions(load("weights.bin", "0x10", "24"), {"'W'", "offset", "'0x10'"}));
}

TEST_F(ExternalData, LengthDisagreesWithShape) {
  EXPECT_TRUE(error_mentions(load("weights.bin", "16", "20"), {"'W'", "20 bytes", "needs 24"}));
  EXPECT_TRUE(error_mentions(load("weights.bin", "0", ""), {"'W'", "40 bytes", "needs 24"}));
  EXPECT_TRUE(error_mentions(load("weights.bin", "16", "0"), {"'W'", "0 bytes", "needs 24"}));
}

// A model read from memory has no folder, so external data cannot be resolved.
TEST_F(ExternalData, NotAllowedFromBytes) {
  const std::string bytes = test::read_file(write_model({{"location", "weights.bin"}, {"offset", "16"}}));
  EXPECT_TRUE(error_mentions(Engine::from_onnx_bytes(bytes, "mem.onnx"), {"mem.onnx", "'W'", "not allowed"}));
}

}  // namespace
}  // namespace kiln
