// LRN, local response normalization across channels, on [N, C, ...]:
// y = x / (bias + alpha / size * sum of x^2 over channels
//          [c - floor((size-1)/2), c + ceil((size-1)/2)])^beta.
#include <cmath>

#include "ops/nn/nn_common.h"
#include "ops/nn/nn_ops.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

template <typename T>
void lrn_typed(const T* x, T* y, int64_t n_batch, int64_t channels, int64_t spatial, int64_t size, float alpha,
               float beta, float bias) {
  using C = CalcType<T>;
  const int64_t lo = (size - 1) / 2;
  const int64_t hi = size - 1 - lo;
  const C scale = static_cast<C>(alpha) / static_cast<C>(size);
  std::vector<C> sq(static_cast<size_t>(channels * spatial));
  std::vector<C> sum(static_cast<size_t>(spatial));
  for (int64_t nb = 0; nb < n_batch; ++nb) {
    const T* xb = x + nb * channels * spatial;
    T* yb = y + nb * channels * spatial;
    for (int64_t i = 0; i < channels * spatial; ++i) {
      const C v = load_as<C>(xb[i]);
      sq[i] = v * v;
    }
    for (int64_t c = 0; c < channels; ++c) {
      std::fill(sum.begin(), sum.end(), C(0));
      for (int64_t k = std::max<int64_t>(0, c - lo); k <= std::min(channels - 1, c + hi); ++k) {
        const C* s = sq.data() + k * spatial;
        for (int64_t i = 0; i < spatial; ++i) sum[i] += s[i];
      }
      for (int64_t i = 0; i < spatial; ++i) {
        const C v = load_as<C>(xb[c * spatial + i]);
        yb[c * spatial + i] = store_as<T>(v / std::pow(static_cast<C>(bias) + scale * sum[i], static_cast<C>(beta)));
      }
    }
  }
}

class LrnKernel final : public OpKernel {
 public:
  LrnKernel(int64_t size, float alpha, float beta, float bias) : size_(size), alpha_(alpha), beta_(beta), bias_(bias) {}

  Status infer(InferContext& ctx) const override {
    const DType dt = ctx.input_dtype(0);
    KILN_RETURN_IF_ERROR(expect_float_dtype("X", dt));
    return infer_same_as_input(ctx);
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    KILN_RETURN_IF_ERROR(expect_nc_rank(x.shape()));
    int64_t spatial = 1;
    for (size_t i = 2; i < x.rank(); ++i) spatial *= x.dim(i);
    if (x.numel() == 0) return Status::ok();
    return dispatch_float(x.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      lrn_typed<T>(x.data<T>(), ctx.output(0).data<T>(), x.dim(0), x.dim(1), spatial, size_, alpha_, beta_, bias_);
      return Status::ok();
    });
  }

 private:
  int64_t size_;
  float alpha_, beta_, bias_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_lrn(const KernelInit& init) {
  const Node& node = init.node;
  KILN_ASSIGN_OR_RETURN(int64_t size, required_attr_int(node, "size"));
  if (size < 1) return invalid_model(node.describe() + ": attribute 'size' is " + std::to_string(size) + " (expected >= 1)");
  KILN_ASSIGN_OR_RETURN(float alpha, attr_float(node, "alpha", 1e-4f));
  KILN_ASSIGN_OR_RETURN(float beta, attr_float(node, "beta", 0.75f));
  KILN_ASSIGN_OR_RETURN(float bias, attr_float(node, "bias", 1.0f));
  return std::unique_ptr<OpKernel>(std::make_unique<LrnKernel>(size, alpha, beta, bias));
}

}  // namespace kiln
