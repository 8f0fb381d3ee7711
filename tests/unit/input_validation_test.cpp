// Requests that do not fit the model are refused by ExecutionContext with messages naming
// the input, and a refused request leaves the context usable.
#include <gtest/gtest.h>

#include "kiln/engine.h"
#include "unit/model_builder.h"

namespace kiln {
namespace {

using test::error_mentions;

class InputValidation : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = test::load(test::add_model(), "add.onnx");
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    engine_ = std::move(r).value();
    ctx_ = engine_->create_context();
  }
  static Tensor filled(const Shape& shape, float start) {
    Result<Tensor> t = Tensor::allocate(DType::kFloat32, shape);
    for (int64_t i = 0; i < t->numel(); ++i) t->data<float>()[i] = start + static_cast<float>(i);
    return *t;
  }
  // Runs a [rows, 4] + [rows, 4] request and checks c = a + b.
  void expect_good_run(int64_t rows) {
    ASSERT_TRUE(ctx_->set_input("a", filled({rows, 4}, 1)).is_ok());
    ASSERT_TRUE(ctx_->set_input("b", filled({rows, 4}, 100)).is_ok());
    Status s = ctx_->run();
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    Result<Tensor> c = ctx_->output("c");
    ASSERT_TRUE(c.is_ok()) << c.status().to_string();
    ASSERT_EQ(c->shape(), (Shape{rows, 4}));
    for (int64_t i = 0; i < rows * 4; ++i) EXPECT_FLOAT_EQ(c->data<float>()[i], 101.0f + 2.0f * i) << i;
  }
  std::shared_ptr<Engine> engine_;
  std::unique_ptr<ExecutionContext> ctx_;
};

TEST_F(InputValidation, DescribesInputsAndOutputs) {
  ASSERT_EQ(engine_->inputs().size(), 2u);
  const TensorDesc& a = engine_->inputs()[0];
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.dtype, DType::kFloat32);
  EXPECT_EQ(a.dims, (std::vector<int64_t>{-1, 4}));
  EXPECT_EQ(a.dim_names.at(0), "batch_size");
  EXPECT_EQ(a.shape_string(), "batch_sizex4");
  ASSERT_EQ(engine_->outputs().size(), 1u);
  EXPECT_EQ(engine_->outputs()[0].name, "c");
}

TEST_F(InputValidation, GoodRequestsOfSeveralBatchSizes) {
  expect_good_run(2);
  expect_good_run(5);
  expect_good_run(1);
}

TEST_F(InputValidation, WrongName) {
  EXPECT_TRUE(error_mentions(ctx_->set_input("c", filled({2, 4}, 0)), {"no input named 'c'", "a, b"}));
  EXPECT_TRUE(error_mentions(ctx_->set_input("", filled({2, 4}, 0)), {"no input named ''"}));
  expect_good_run(2);
}

TEST_F(InputValidation, WrongRank) {
  Status s = ctx_->set_input("a", filled({8}, 0));
  EXPECT_TRUE(error_mentions(s, {"input 'a'", "expected rank 2", "rank 1"}));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(error_mentions(ctx_->set_input("a", filled({1, 2, 4}, 0)), {"input 'a'", "expected rank 2", "rank 3"}));
  EXPECT_TRUE(error_mentions(ctx_->set_input("a", Tensor::scalar(1.0f)), {"input 'a'", "rank 0"}));
  expect_good_run(3);
}

TEST_F(InputValidation, WrongFixedDim) {
  EXPECT_TRUE(error_mentions(ctx_->set_input("b", filled({2, 5}, 0)), {"input 'b'", "dim 1 must be 4", "2x5"}));
  EXPECT_TRUE(error_mentions(ctx_->set_input("b", filled({2, 0}, 0)), {"input 'b'", "dim 1 must be 4"}));
  expect_good_run(2);
}

TEST_F(InputValidation, WrongDtype) {
  Tensor ints = Tensor::from_vector<int64_t>({1, 4}, {1, 2, 3, 4});
  EXPECT_TRUE(error_mentions(ctx_->set_input("a", ints), {"input 'a'", "float32", "int64"}));
  Tensor doubles = Tensor::from_vector<double>({1, 4}, {1, 2, 3, 4});
  EXPECT_TRUE(error_mentions(ctx_->set_input("a", doubles), {"input 'a'", "float64"}));
  expect_good_run(1);
}

TEST_F(InputValidation, EmptyTensor) {
  EXPECT_TRUE(error_mentions(ctx_->set_input("a", Tensor()), {"input 'a'", "empty"}));
}

TEST_F(InputValidation, InputNotSet) {
  ASSERT_TRUE(ctx_->set_input("a", filled({2, 4}, 0)).is_ok());
  Status s = ctx_->run();
  EXPECT_TRUE(error_mentions(s, {"input 'b'", "not set"}));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(error_mentions(ctx_->output("c"), {"'c'"}));  // no successful run yet
  expect_good_run(2);
}

TEST_F(InputValidation, NothingSet) {
  EXPECT_TRUE(error_mentions(ctx_->run(), {"input 'a'", "not set"}));
}

// a and b share the symbolic dim batch_size, so 2 and 3 cannot both be right.
TEST_F(InputValidation, InconsistentSymbolicDims) {
  ASSERT_TRUE(ctx_->set_input("a", filled({2, 4}, 0)).is_ok());
  ASSERT_TRUE(ctx_->set_input("b", filled({3, 4}, 0)).is_ok());
  Status s = ctx_->run();
  EXPECT_TRUE(error_mentions(s, {"batch_size", "'a'", "'b'", "2", "3"}));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  expect_good_run(3);
}

// A failed run keeps the outputs of the last good one, and a later good run replaces them.
TEST_F(InputValidation, FailedRunKeepsContextUsable) {
  expect_good_run(2);
  ASSERT_TRUE(ctx_->set_input("a", filled({3, 4}, 0)).is_ok());
  EXPECT_FALSE(ctx_->run().is_ok());
  expect_good_run(4);
}

TEST_F(InputValidation, UnknownOutputName) {
  expect_good_run(1);
  EXPECT_TRUE(error_mentions(ctx_->output("nope"), {"'nope'"}));
}

// Contexts of one engine are independent.
TEST_F(InputValidation, ContextsAreIndependent) {
  std::unique_ptr<ExecutionContext> other = engine_->create_context();
  ASSERT_TRUE(other->set_input("a", filled({1, 4}, 0)).is_ok());
  expect_good_run(2);
  EXPECT_TRUE(error_mentions(other->run(), {"input 'b'", "not set"}));
}

}  // namespace
}  // namespace kiln
