// MeanVarianceNormalization: y = (x - mean) / (sqrt(var) + 1e-9) with the statistics
// taken over `axes` (default [0, 2, 3]), as the op's ONNX function body defines. The
// reductions reuse the Reduce* loops; the variance is two-pass for accuracy.
#include <cmath>

#include "ops/nn/nn_common.h"
#include "ops/nn/nn_ops.h"
#include "ops/op_util.h"
#include "ops/reduce/reduce_common.h"
#include "ops/reduce/reduce_loops.h"

namespace kiln {
namespace {

template <typename T>
void mvn_typed(const Tensor& xt, Tensor& yt, const std::vector<int64_t>& axes) {
  using C = CalcType<T>;
  const Shape red = reduced_shape(xt.shape(), axes, true);
  int64_t n_out = 1;
  for (int64_t d : red) n_out *= d;
  const int64_t count = n_out == 0 ? 0 : xt.numel() / n_out;
  const CollapsedDims c = collapse_for_reduce(xt.shape(), axes);
  const T* x = xt.data<T>();
  std::vector<C> mean(static_cast<size_t>(n_out), C(0)), dev(static_cast<size_t>(n_out), C(0));
  auto plus = [](C a, C b) { return a + b; };
  reduce_accumulate<T, C>(x, mean.data(), c, C(0), [](C v, int64_t) { return v; }, plus);
  for (C& m : mean) m /= static_cast<C>(count);
  const C* mp = mean.data();
  reduce_accumulate<T, C>(x, dev.data(), c, C(0), [mp](C v, int64_t o) { return (v - mp[o]) * (v - mp[o]); }, plus);
  for (C& d : dev) d = C(1) / (std::sqrt(d / static_cast<C>(count)) + static_cast<C>(1e-9));
  T* y = yt.data<T>();
  const int64_t len = c.dims.back();
  const bool inner_reduced = c.reduced.back();
  visit_reduce_rows(c, [&](int64_t r, int64_t o) {
    for (int64_t j = 0; j < len; ++j) {
      const int64_t oi = inner_reduced ? o : o + j;
      y[r * len + j] = store_as<T>((load_as<C>(x[r * len + j]) - mean[oi]) * dev[oi]);
    }
  });
}

class MvnKernel final : public OpKernel {
 public:
  explicit MvnKernel(std::vector<int64_t> axes) : axes_(std::move(axes)) {}

  Status infer(InferContext& ctx) const override {
    const DType dt = ctx.input_dtype(0);
    KILN_RETURN_IF_ERROR(expect_float_dtype("X", dt));
    if (const SymShape* s = ctx.input_shape(0)) {
      Result<std::vector<int64_t>> axes = normalize_axis_list(axes_, static_cast<int64_t>(s->size()), "attribute 'axes'");
      if (!axes.is_ok()) return axes.status();
    }
    return infer_same_as_input(ctx);
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes,
                          normalize_axis_list(axes_, static_cast<int64_t>(x.rank()), "attribute 'axes'"));
    if (x.numel() == 0) return Status::ok();
    return dispatch_float(x.dtype(), [&](auto tag) -> Status {
      mvn_typed<typename decltype(tag)::type>(x, ctx.output(0), axes);
      return Status::ok();
    });
  }

 private:
  std::vector<int64_t> axes_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_mean_variance_normalization(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, attr_ints(init.node, "axes", {0, 2, 3}));
  return std::unique_ptr<OpKernel>(std::make_unique<MvnKernel>(std::move(axes)));
}

}  // namespace kiln
