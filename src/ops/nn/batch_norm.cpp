// BatchNormalization, inference mode: y = x * a[c] + b[c] with
// a = scale / sqrt(var + epsilon) and b = bias - mean * a. When the four parameters are
// initializers (the usual export), a and b are computed once at build time.
//
// Training mode (training_mode=1 from opset 14, or the running-statistics outputs of
// older opsets being consumed) is reported as unsupported. Opsets before 9 may set
// spatial=0: the parameters are then per element of [C, D1, ...], which is the same
// computation with the spatial dims folded into the channel dim.
#include <cmath>
#include <optional>

#include "ops/nn/nn_common.h"
#include "ops/nn/nn_ops.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

struct Affine {
  std::vector<double> a, b;
};

const char* const kParamNames[4] = {"scale", "B", "input_mean", "input_var"};

Result<Affine> fold_params(const Tensor* const p[4], int64_t channels, float epsilon) {
  for (int i = 0; i < 4; ++i) {
    if (!is_float_dtype(p[i]->dtype()) || p[i]->numel() != channels) {
      return invalid_argument(std::string("input '") + kParamNames[i] + "' has shape " +
                              shape_to_string(p[i]->shape()) + " and dtype " + dtype_name(p[i]->dtype()) +
                              " (expected a float tensor of " + std::to_string(channels) + " elements)");
    }
  }
  const std::vector<double> scale = tensor_to_doubles(*p[0]), bias = tensor_to_doubles(*p[1]);
  const std::vector<double> mean = tensor_to_doubles(*p[2]), var = tensor_to_doubles(*p[3]);
  Affine f;
  f.a.resize(static_cast<size_t>(channels));
  f.b.resize(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    f.a[c] = scale[c] / std::sqrt(var[c] + static_cast<double>(epsilon));
    f.b[c] = bias[c] - mean[c] * f.a[c];
  }
  return f;
}

template <typename T>
void apply_affine(const T* x, T* y, int64_t n_batch, int64_t channels, int64_t spatial, const Affine& f) {
  using C = CalcType<T>;
  for (int64_t nb = 0; nb < n_batch; ++nb) {
    for (int64_t c = 0; c < channels; ++c) {
      const C a = static_cast<C>(f.a[c]);
      const C b = static_cast<C>(f.b[c]);
      const int64_t off = (nb * channels + c) * spatial;
      for (int64_t i = 0; i < spatial; ++i) y[off + i] = store_as<T>(load_as<C>(x[off + i]) * a + b);
    }
  }
}

class BatchNormKernel final : public OpKernel {
 public:
  BatchNormKernel(float epsilon, bool spatial, std::optional<Affine> folded)
      : epsilon_(epsilon), spatial_(spatial), folded_(std::move(folded)) {}

  Status infer(InferContext& ctx) const override {
    for (size_t i = 1; i < ctx.num_outputs(); ++i) {
      if (ctx.has_output(i)) {
        return unsupported("BatchNormalization output " + std::to_string(i) +
                           " (running or saved statistics) exists only in training mode, which kiln does not run");
      }
    }
    return infer_nc_float(ctx);
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    KILN_RETURN_IF_ERROR(expect_nc_rank(x.shape()));
    const int64_t n_batch = x.dim(0);
    int64_t channels = x.dim(1);
    int64_t spatial = 1;
    for (size_t i = 2; i < x.rank(); ++i) spatial *= x.dim(i);
    if (!spatial_) {
      channels *= spatial;
      spatial = 1;
    }
    const Affine* f = folded_ ? &*folded_ : nullptr;
    Affine local;
    if (f && static_cast<int64_t>(f->a.size()) != channels) {
      return invalid_argument("input 'X' has shape " + shape_to_string(x.shape()) + " but the parameters have " +
                              std::to_string(f->a.size()) + " channels");
    }
    if (!f) {
      const Tensor* p[4] = {&ctx.input(1), &ctx.input(2), &ctx.input(3), &ctx.input(4)};
      KILN_ASSIGN_OR_RETURN(local, fold_params(p, channels, epsilon_));
      f = &local;
    }
    if (x.numel() == 0) return Status::ok();
    return dispatch_float(x.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      apply_affine<T>(x.data<T>(), ctx.output(0).data<T>(), n_batch, channels, spatial, *f);
      return Status::ok();
    });
  }

 private:
  float epsilon_;
  bool spatial_;
  std::optional<Affine> folded_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_batch_normalization(const KernelInit& init) {
  const Node& node = init.node;
  KILN_ASSIGN_OR_RETURN(float epsilon, attr_float(node, "epsilon", 1e-5f));
  int64_t spatial = 1;
  if (init.opset < 9) {
    KILN_ASSIGN_OR_RETURN(spatial, attr_int(node, "spatial", 1));
  }
  if (init.opset >= 14) {
    KILN_ASSIGN_OR_RETURN(int64_t training, attr_int(node, "training_mode", 0));
    if (training != 0) {
      return unsupported(node.describe() + ": attribute 'training_mode' is " + std::to_string(training) +
                         "; kiln runs BatchNormalization in inference mode only (expected 0)");
    }
  }
  if (node.inputs.size() != 5) {
    return invalid_model(node.describe() + ": expected 5 inputs (X, scale, B, input_mean, input_var), got " +
                         std::to_string(node.inputs.size()));
  }
  std::optional<Affine> folded;
  const Tensor* p[4] = {init.constant_input(1), init.constant_input(2), init.constant_input(3), init.constant_input(4)};
  if (p[0] && p[1] && p[2] && p[3]) {
    KILN_ASSIGN_OR_RETURN(Affine f, fold_params(p, p[0]->numel(), epsilon));
    folded = std::move(f);
  }
  return std::unique_ptr<OpKernel>(std::make_unique<BatchNormKernel>(epsilon, spatial != 0, std::move(folded)));
}

}  // namespace kiln
