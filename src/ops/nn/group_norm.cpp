// InstanceNormalization and GroupNormalization: X is [N, C, spatial...]; statistics are
// taken per (n, group of C/G channels), a contiguous block, then every channel gets
// y = x * a[c] + b[c] with a = inv_std * scale[c], b = bias[c] - mean * a.
// InstanceNormalization is the case G = C. GroupNormalization-18 gives scale and bias
// per group, GroupNormalization-21 per channel.
#include <cmath>

#include "math/vector_math.h"
#include "ops/nn/nn_common.h"
#include "ops/nn/nn_ops.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

template <typename T>
void group_norm_typed(const Tensor& xt, Tensor& yt, int64_t groups, const std::vector<double>& scale,
                      const std::vector<double>& bias, bool per_group_params, float epsilon) {
  using C = CalcType<T>;
  const int64_t n_batch = xt.dim(0);
  const int64_t channels = xt.dim(1);
  const int64_t spatial = channels == 0 ? 0 : xt.numel() / (n_batch * channels);
  const int64_t cpg = channels / groups;
  const int64_t block = cpg * spatial;
  const T* x = xt.data<T>();
  T* y = yt.data<T>();
  constexpr bool kDirect = std::is_same_v<T, C>;
  std::vector<C> buf(kDirect ? 0 : static_cast<size_t>(block));
  for (int64_t nb = 0; nb < n_batch; ++nb) {
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t base = (nb * groups + g) * block;
      const C* row;
      if constexpr (kDirect) {
        row = x + base;
      } else {
        for (int64_t i = 0; i < block; ++i) buf[i] = load_as<C>(x[base + i]);
        row = buf.data();
      }
      const C mean = block > 0 ? math::row_sum(row, block) / static_cast<C>(block) : C(0);
      const C var = block > 0 ? math::row_sum_sq_dev(row, block, mean) / static_cast<C>(block) : C(0);
      const C inv = C(1) / std::sqrt(var + static_cast<C>(epsilon));
      for (int64_t k = 0; k < cpg; ++k) {
        const int64_t c = g * cpg + k;
        const size_t pi = static_cast<size_t>(per_group_params ? g : c);
        const C a = inv * static_cast<C>(scale[pi]);
        const C b = static_cast<C>(bias[pi]) - mean * a;
        const C* src = row + k * spatial;
        T* dst = y + base + k * spatial;
        for (int64_t i = 0; i < spatial; ++i) dst[i] = store_as<T>(src[i] * a + b);
      }
    }
  }
}

class GroupNormKernel final : public OpKernel {
 public:
  // num_groups < 0: one group per channel (InstanceNormalization).
  GroupNormKernel(int64_t num_groups, bool per_group_params, float epsilon)
      : num_groups_(num_groups), per_group_params_(per_group_params), epsilon_(epsilon) {}

  Status infer(InferContext& ctx) const override { return infer_nc_float(ctx); }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    KILN_RETURN_IF_ERROR(expect_nc_rank(x.shape()));
    const int64_t channels = x.dim(1);
    const int64_t groups = num_groups_ < 0 ? channels : num_groups_;
    if (groups <= 0 ? channels != 0 : channels % groups != 0) {
      return invalid_argument("input 'X' has " + std::to_string(channels) + " channels, not divisible into " +
                              std::to_string(groups) + " groups");
    }
    const int64_t param_len = per_group_params_ ? groups : channels;
    const Tensor& scale = ctx.input(1);
    const Tensor& bias = ctx.input(2);
    for (const auto& [t, name] : {std::pair<const Tensor*, const char*>{&scale, "scale"}, {&bias, "bias"}}) {
      if (!is_float_dtype(t->dtype()) || t->numel() != param_len || t->rank() != 1) {
        return invalid_argument(std::string("input '") + name + "' has shape " + shape_to_string(t->shape()) +
                                " and dtype " + dtype_name(t->dtype()) + " (expected a float tensor of shape " +
                                std::to_string(param_len) + ")");
      }
    }
    if (x.numel() == 0) return Status::ok();
    const std::vector<double> s = tensor_to_doubles(scale);
    const std::vector<double> b = tensor_to_doubles(bias);
    return dispatch_float(x.dtype(), [&](auto tag) -> Status {
      group_norm_typed<typename decltype(tag)::type>(x, ctx.output(0), groups, s, b, per_group_params_, epsilon_);
      return Status::ok();
    });
  }

 private:
  int64_t num_groups_;
  bool per_group_params_;
  float epsilon_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_instance_normalization(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(float epsilon, attr_float(init.node, "epsilon", 1e-5f));
  return std::unique_ptr<OpKernel>(std::make_unique<GroupNormKernel>(-1, false, epsilon));
}

Result<std::unique_ptr<OpKernel>> make_group_normalization(const KernelInit& init) {
  const Node& node = init.node;
  KILN_ASSIGN_OR_RETURN(float epsilon, attr_float(node, "epsilon", 1e-5f));
  KILN_ASSIGN_OR_RETURN(int64_t groups, required_attr_int(node, "num_groups"));
  if (groups <= 0) {
    return invalid_model(node.describe() + ": attribute 'num_groups' is " + std::to_string(groups) +
                         " (expected > 0)");
  }
  return std::unique_ptr<OpKernel>(std::make_unique<GroupNormKernel>(groups, init.opset < 21, epsilon));
}

}  // namespace kiln
