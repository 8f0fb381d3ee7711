// LayerNormalization (opset 17): each row X[i, axis:] is standardized (two-pass mean and
// variance over the contiguous row, in float or double), then scaled and shifted by
// Scale and B broadcast over the normalized dims. Optional outputs Mean and InvStdDev
// have shape [d0, ..., d(axis-1), 1, ..., 1] and the dtype named by stash_type.
// RMSNormalization (opset 23) is the same without the mean: y = x / sqrt(mean(x^2) + eps)
// * scale.
#include <cmath>

#include "math/vector_math.h"
#include "ops/nn/nn_common.h"
#include "ops/nn/nn_ops.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelElements = 16384;

// Scale or B must broadcast over the normalized dims and not vary across rows.
Status check_row_param(const Tensor& p, const Shape& x_shape, int64_t axis, const char* name) {
  const int64_t rank = static_cast<int64_t>(x_shape.size());
  const int64_t prank = static_cast<int64_t>(p.rank());
  bool ok = prank <= rank;
  for (int64_t i = 0; ok && i < prank; ++i) {
    const int64_t xd = x_shape[rank - prank + i];
    const int64_t pd = p.dim(i);
    const bool in_row = rank - prank + i >= axis;
    ok = pd == 1 || (in_row && pd == xd);
  }
  if (ok) return Status::ok();
  const Shape row_shape(x_shape.begin() + axis, x_shape.end());
  return invalid_argument(std::string("input '") + name + "' of shape " + shape_to_string(p.shape()) +
                          " does not broadcast over the normalized dims " + shape_to_string(row_shape) +
                          " of input 'X' (shape " + shape_to_string(x_shape) + ")");
}

// Scale or B as one value per element of a normalized row, expanded from a parameter
// that may broadcast along some of the normalized dims.
template <typename C>
Result<std::vector<C>> expand_row_param(const Tensor& p, const Shape& x_shape, int64_t axis, const char* name) {
  KILN_RETURN_IF_ERROR(check_row_param(p, x_shape, axis, name));
  const int64_t rank = static_cast<int64_t>(x_shape.size());
  const int64_t prank = static_cast<int64_t>(p.rank());
  const Shape row_shape(x_shape.begin() + axis, x_shape.end());
  // Drop the leading (all size-1) dims beyond the row, then broadcast within the row.
  Shape p_row(p.shape().end() - std::min<int64_t>(prank, rank - axis), p.shape().end());
  const std::vector<int64_t> strides = broadcast_strides(p_row, row_shape);
  const std::vector<double> vals = tensor_to_doubles(p);
  int64_t n = 1;
  for (int64_t d : row_shape) n *= d;
  std::vector<C> out(static_cast<size_t>(n));
  std::vector<int64_t> idx(row_shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < row_shape.size(); ++d) off += idx[d] * strides[d];
    out[i] = static_cast<C>(vals[off]);
    for (size_t d = row_shape.size(); d-- > 0;) {
      if (++idx[d] < row_shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

// A parameter already holding one value of type C per row element (float32 [N] for a
// float32 model, the usual case) is read in place: expanding it costs several times
// more than normalizing a row of 768, which dominates runs of a few rows (decoding).
template <typename C>
Result<const C*> row_param(const Tensor& p, const Shape& x_shape, int64_t axis, int64_t n, const char* name,
                           std::vector<C>& expanded) {
  if (p.dtype() == DTypeOf<C>::value && p.numel() == n) {
    KILN_RETURN_IF_ERROR(check_row_param(p, x_shape, axis, name));
    return p.data<C>();
  }
  KILN_ASSIGN_OR_RETURN(expanded, expand_row_param<C>(p, x_shape, axis, name));
  return expanded.data();
}

template <typename T, typename U>
Status layer_norm_typed(const Tensor& xt, const Tensor& scale_t, const Tensor* bias_t, int64_t axis, float epsilon,
                        bool rms, Tensor& yt, Tensor* mean_t, Tensor* inv_t) {
  using C = CalcType<T>;
  int64_t rows = 1, n = 1;
  for (int64_t i = 0; i < static_cast<int64_t>(xt.rank()); ++i) (i < axis ? rows : n) *= xt.dim(i);
  std::vector<C> scale_buf, bias_buf;
  KILN_ASSIGN_OR_RETURN(const C* scale, row_param<C>(scale_t, xt.shape(), axis, n, "Scale", scale_buf));
  const C* bias = nullptr;
  if (bias_t) {
    KILN_ASSIGN_OR_RETURN(bias, row_param<C>(*bias_t, xt.shape(), axis, n, "B", bias_buf));
  } else {
    bias_buf.assign(static_cast<size_t>(n), C(0));
    bias = bias_buf.data();
  }
  const T* x = xt.data<T>();
  T* y = yt.data<T>();
  constexpr bool kDirect = std::is_same_v<T, C>;
  // One row, standardized from `row` (X's own row, or its copy in the compute type).
  auto normalize = [&](int64_t r, const C* row) {
    const C mean = n > 0 && !rms ? math::row_sum(row, n) / static_cast<C>(n) : C(0);
    const C var = n > 0 ? math::row_sum_sq_dev(row, n, mean) / static_cast<C>(n) : C(0);
    const C inv = C(1) / std::sqrt(var + static_cast<C>(epsilon));
    T* out = y + r * n;
    for (int64_t i = 0; i < n; ++i) out[i] = store_as<T>((row[i] - mean) * inv * scale[i] + bias[i]);
    if (mean_t) mean_t->data<U>()[r] = store_as<U>(mean);
    if (inv_t) inv_t->data<U>()[r] = store_as<U>(inv);
  };
  if constexpr (kDirect) {
    // Rows are independent: split them over the threads once there is enough work.
#pragma omp parallel for schedule(static) if (rows > 1 && rows * n >= kParallelElements)
    for (int64_t r = 0; r < rows; ++r) normalize(r, x + r * n);
  } else {
    std::vector<C> buf(static_cast<size_t>(n));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < n; ++i) buf[i] = load_as<C>(x[r * n + i]);
      normalize(r, buf.data());
    }
  }
  return Status::ok();
}

class LayerNormKernel final : public OpKernel {
 public:
  LayerNormKernel(int64_t axis, float epsilon, DType stash, bool rms)
      : axis_(axis), epsilon_(epsilon), stash_(stash), rms_(rms) {}

  Status infer(InferContext& ctx) const override {
    const DType dt = ctx.input_dtype(0);
    KILN_RETURN_IF_ERROR(expect_float_dtype("X", dt));
    const SymShape* in = ctx.input_shape(0);
    ctx.set_output(0, dt, optional_shape(in));
    std::optional<SymShape> stat;
    if (in) {
      KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, static_cast<int64_t>(in->size()), "attribute 'axis'"));
      stat = *in;
      for (size_t i = static_cast<size_t>(axis); i < in->size(); ++i) (*stat)[i] = Dim(1);
    }
    for (size_t i = 1; !rms_ && i < 3 && i < ctx.num_outputs(); ++i) {
      if (ctx.has_output(i)) ctx.set_output(i, stash_, stat);
    }
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, static_cast<int64_t>(x.rank()), "attribute 'axis'"));
    const Tensor& scale = ctx.input(1);
    const Tensor* bias = !rms_ && ctx.has_input(2) ? &ctx.input(2) : nullptr;
    if (!is_float_dtype(scale.dtype()) || (bias && !is_float_dtype(bias->dtype()))) {
      return invalid_argument("inputs 'Scale' and 'B' must have a float dtype");
    }
    Tensor* mean = !rms_ && ctx.num_outputs() > 1 && ctx.has_output(1) ? &ctx.output(1) : nullptr;
    Tensor* inv = !rms_ && ctx.num_outputs() > 2 && ctx.has_output(2) ? &ctx.output(2) : nullptr;
    return dispatch_float(x.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      return dispatch_float(stash_, [&](auto utag) -> Status {
        using U = typename decltype(utag)::type;
        return layer_norm_typed<T, U>(x, scale, bias, axis, epsilon_, rms_, ctx.output(0), mean, inv);
      });
    });
  }

 private:
  int64_t axis_;
  float epsilon_;
  DType stash_;
  bool rms_;  // RMSNormalization: no mean, no bias, no statistics outputs
};

Result<std::unique_ptr<OpKernel>> make_normalization(const KernelInit& init, bool rms) {
  const Node& node = init.node;
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_int(node, "axis", -1));
  KILN_ASSIGN_OR_RETURN(float epsilon, attr_float(node, "epsilon", 1e-5f));
  KILN_ASSIGN_OR_RETURN(int64_t stash, attr_int(node, "stash_type", 1));
  const DType stash_dt = static_cast<DType>(stash);
  if (stash < 0 || stash > kLastKnownDType || !is_float_dtype(stash_dt)) {
    return invalid_model(node.describe() + ": attribute 'stash_type' is " + std::to_string(stash) +
                         " (expected a float type: 1 float, 16 bfloat16, ...)");
  }
  return std::unique_ptr<OpKernel>(std::make_unique<LayerNormKernel>(axis, epsilon, stash_dt, rms));
}

}  // namespace

Result<std::unique_ptr<OpKernel>> make_layer_normalization(const KernelInit& init) {
  return make_normalization(init, false);
}
Result<std::unique_ptr<OpKernel>> make_rms_normalization(const KernelInit& init) {
  return make_normalization(init, true);
}

}  // namespace kiln
