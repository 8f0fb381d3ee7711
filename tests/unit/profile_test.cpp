// Optimization profiles: validated when the engine is built, enforced when an input is
// set (naming the input, dim and range), selectable per execution context.
#include <gtest/gtest.h>

#include "kiln/engine.h"
#include "unit/model_builder.h"

namespace kiln {
namespace {

using test::error_mentions;

ShapeProfile profile(int64_t lo, int64_t opt, int64_t hi) {
  ShapeProfile p;
  for (const char* name : {"a", "b"}) {
    p.min[name] = {lo, 4};
    p.opt[name] = {opt, 4};
    p.max[name] = {hi, 4};
  }
  return p;
}

Result<std::shared_ptr<Engine>> build(const BuildOptions& options, test::TempDir& dir) {
  const std::string path = dir.file("add.onnx");
  test::write_file(path, test::add_model().bytes());
  return Engine::build_from_onnx(path, options);
}

Tensor ones(int64_t rows) { return Tensor::from_vector<float>({rows, 4}, std::vector<float>(rows * 4, 1.0f)); }

TEST(ProfileTest, ShapesOutsideTheProfileFailWhenSet) {
  test::TempDir dir;
  BuildOptions options;
  options.profiles = {profile(1, 2, 4)};
  auto engine = build(options, dir);
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  auto ctx = (*engine)->create_context();
  EXPECT_TRUE(ctx->set_input("a", ones(4)).is_ok());
  EXPECT_TRUE(error_mentions(ctx->set_input("b", ones(5)), {"'b'", "dim 0", "5", "[1, 4]"}));
  EXPECT_TRUE(ctx->set_input("b", ones(4)).is_ok());
  ASSERT_TRUE(ctx->run().is_ok());
  EXPECT_EQ(ctx->outputs()[0].data<float>()[15], 2.0f);
}

TEST(ProfileTest, ContextsChooseAmongSeveralProfiles) {
  test::TempDir dir;
  BuildOptions options;
  options.profiles = {profile(1, 1, 2), profile(8, 16, 32)};
  auto engine = build(options, dir);
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  auto ctx = (*engine)->create_context();
  EXPECT_FALSE(ctx->set_input("a", ones(16)).is_ok());
  ASSERT_TRUE(ctx->set_optimization_profile(1).is_ok());
  EXPECT_TRUE(ctx->set_input("a", ones(16)).is_ok());
  EXPECT_TRUE(error_mentions(ctx->set_optimization_profile(2), {"profile 2", "has 2"}));
}

TEST(ProfileTest, BadProfilesFailTheBuild) {
  test::TempDir dir;
  BuildOptions inverted;
  inverted.profiles = {profile(4, 2, 1)};
  EXPECT_TRUE(error_mentions(build(inverted, dir), {"input 'a'", "dim 0", "min 4", "max 1"}));

  BuildOptions unknown;
  unknown.profiles = {profile(1, 2, 4)};
  unknown.profiles[0].min["nope"] = {1};
  EXPECT_TRUE(error_mentions(build(unknown, dir), {"'nope'", "its inputs: a, b"}));

  BuildOptions fixed_dim;
  fixed_dim.profiles = {profile(1, 2, 4)};
  fixed_dim.profiles[0].max["a"] = {4, 5};
  EXPECT_TRUE(error_mentions(build(fixed_dim, dir), {"input 'a'", "dim 1"}));

  BuildOptions rank;
  rank.profiles = {profile(1, 2, 4)};
  rank.profiles[0].min["b"] = rank.profiles[0].opt["b"] = rank.profiles[0].max["b"] = {2};
  EXPECT_TRUE(error_mentions(build(rank, dir), {"input 'b'", "rank"}));
}

}  // namespace
}  // namespace kiln
