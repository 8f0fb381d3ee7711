// Per-shape records: a run with input shapes seen before replays what the first run
// inferred, unless some output shape depends on input data; then every run infers. The
// expected values are worked out by hand from ONNX's NonZero and Reshape semantics.
#include <gtest/gtest.h>

#include "kiln/engine.h"
#include "unit/model_builder.h"

namespace kiln {
namespace {

using test::ModelBuilder;

std::shared_ptr<Engine> build(const ModelBuilder& b) {
  auto engine = Engine::from_onnx_bytes(b.bytes(), "shape_record_test.onnx");
  EXPECT_TRUE(engine.is_ok()) << engine.status().to_string();
  return engine.is_ok() ? *engine : nullptr;
}

std::vector<int64_t> run_int64(ExecutionContext& ctx, const std::vector<float>& x) {
  EXPECT_TRUE(ctx.set_input("x", Tensor::from_vector<float>({static_cast<int64_t>(x.size())}, x)).is_ok());
  Status s = ctx.run();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  if (!s.is_ok()) return {};
  const Tensor& y = ctx.outputs()[0];
  return std::vector<int64_t>(y.data<int64_t>(), y.data<int64_t>() + y.numel());
}

// NonZero's output length depends on the data: two runs with one input shape but other
// values must both be right, so nothing may be replayed for that shape.
TEST(ShapeRecord, DataDependentShapesAreInferredEveryRun) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {4}).output("y", onnx::TensorProto::INT64, {1, "n"});
  b.node("NonZero", {"x"}, {"y"});
  std::shared_ptr<Engine> engine = build(b);
  ASSERT_TRUE(engine);
  auto ctx = engine->create_context();
  EXPECT_EQ(run_int64(*ctx, {0, 1, 0, 2}), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(run_int64(*ctx, {1, 1, 1, 0}), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(run_int64(*ctx, {0, 0, 0, 5}), (std::vector<int64_t>{3}));
  EXPECT_EQ(ctx->recorded_shape_count(), 0u);
}

// A Reshape to a shape computed from Shape(x) depends on the input shape only: recorded
// once per shape and replayed, and the replayed runs still compute the right values.
TEST(ShapeRecord, ShapeComputationsAreRecordedOncePerShape) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {"n"}).output("y", onnx::TensorProto::FLOAT, {"n", 1});
  b.initializer("one", {1}, {1.0f});
  b.node("Shape", {"x"}, {"s"});
  test::int64_constant(b, "tail", {1}, {1});
  onnx::NodeProto* cat = b.node("Concat", {"s", "tail"}, {"shape"});
  test::add_int_attr(cat, "axis", 0);
  b.node("Add", {"x", "one"}, {"x1"});
  b.node("Reshape", {"x1", "shape"}, {"y"});
  std::shared_ptr<Engine> engine = build(b);
  ASSERT_TRUE(engine);
  auto ctx = engine->create_context();
  auto run = [&](const std::vector<float>& x) {
    EXPECT_TRUE(ctx->set_input("x", Tensor::from_vector<float>({static_cast<int64_t>(x.size())}, x)).is_ok());
    Status s = ctx->run();
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    const Tensor& y = ctx->outputs()[0];
    EXPECT_EQ(y.shape(), (Shape{static_cast<int64_t>(x.size()), 1}));
    return std::vector<float>(y.data<float>(), y.data<float>() + y.numel());
  };
  EXPECT_EQ(run({1, 2, 3}), (std::vector<float>{2, 3, 4}));
  EXPECT_EQ(run({5, 6}), (std::vector<float>{6, 7}));
  EXPECT_EQ(run({-1, 0, 1}), (std::vector<float>{0, 1, 2}));  // replayed
  EXPECT_EQ(run({7, 8}), (std::vector<float>{8, 9}));        // replayed
  EXPECT_EQ(ctx->recorded_shape_count(), 2u);
}

}  // namespace
}  // namespace kiln
