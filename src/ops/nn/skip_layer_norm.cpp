// kiln::SkipLayerNorm (made by fuse_skip_layer_norm from Add + LayerNorm), float32:
//   Sum = A + B (numpy broadcasting), Y = LayerNorm over the last axis of Sum with
//   Scale and optional Bias, both [N].
// Inputs A, B, Scale, Bias (optional); attribute epsilon; outputs Y and, optionally, Sum
// (the residual a pre-norm block carries on). When A and B have the same shape (every
// transformer) each row is added, normalized and written while it sits in L1; otherwise
// the broadcast sum is formed first and normalized in place.
#include <cmath>

#include "math/vector_math.h"
#include "ops/nn/nn_ops.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelElements = 16384;

struct RowParams {
  const float* scale;
  const float* bias;  // null: no Bias input
  int64_t n;
  float epsilon;
};

// y = LayerNorm(s) for one row; s may be y.
void normalize_row(const float* s, float* y, const RowParams& p) {
  const float mean = math::row_sum(s, p.n) / static_cast<float>(p.n);
  const float var = math::row_sum_sq_dev(s, p.n, mean) / static_cast<float>(p.n);
  const float inv = 1.0f / std::sqrt(var + p.epsilon);
  if (p.bias) {
    for (int64_t i = 0; i < p.n; ++i) y[i] = (s[i] - mean) * inv * p.scale[i] + p.bias[i];
  } else {
    for (int64_t i = 0; i < p.n; ++i) y[i] = (s[i] - mean) * inv * p.scale[i];
  }
}

// out = a + b with b broadcast to out's shape by `b_strides` (and a by `a_strides`).
void broadcast_add(const Tensor& a, const Tensor& b, Tensor& out) {
  const Shape& shape = out.shape();
  const auto as = broadcast_strides(a.shape(), shape);
  const auto bs = broadcast_strides(b.shape(), shape);
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* po = out.data<float>();
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t i = 0; i < out.numel(); ++i) {
    int64_t oa = 0, ob = 0;
    for (size_t d = 0; d < shape.size(); ++d) {
      oa += idx[d] * as[d];
      ob += idx[d] * bs[d];
    }
    po[i] = pa[oa] + pb[ob];
    for (size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

class SkipLayerNormKernel final : public OpKernel {
 public:
  explicit SkipLayerNormKernel(float epsilon) : epsilon_(epsilon) {}

  Status infer(InferContext& ctx) const override {
    if (ctx.num_inputs() < 3 || !ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2)) {
      return invalid_model(ctx.node().describe() + ": SkipLayerNorm takes A, B, Scale and an optional Bias");
    }
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      if (ctx.has_input(i) && ctx.input_dtype(i) != DType::kFloat32) {
        return unsupported_dtype("SkipLayerNorm", "input " + std::to_string(i), ctx.input_dtype(i));
      }
    }
    std::optional<SymShape> out;
    if (ctx.input_shape(0) && ctx.input_shape(1)) {
      KILN_ASSIGN_OR_RETURN(out, broadcast_sym_shapes(*ctx.input_shape(0), *ctx.input_shape(1)));
    }
    for (size_t i = 0; i < ctx.num_outputs() && i < 2; ++i) {
      if (ctx.has_output(i)) ctx.set_output(i, DType::kFloat32, out);
    }
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    const Tensor& scale = ctx.input(2);
    const Tensor* bias = ctx.num_inputs() > 3 && ctx.has_input(3) ? &ctx.input(3) : nullptr;
    KILN_ASSIGN_OR_RETURN(Shape shape, broadcast_shapes(a.shape(), b.shape()));
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, DType::kFloat32, shape));
    Tensor* sum = nullptr;
    if (ctx.num_outputs() > 1 && ctx.has_output(1)) {
      KILN_ASSIGN_OR_RETURN(sum, prepare_output(ctx, 1, DType::kFloat32, shape));
    }
    if (shape.empty()) return invalid_argument("SkipLayerNorm needs inputs of rank >= 1, got scalars");
    const int64_t n = shape.back();
    if (scale.numel() != n || (bias && bias->numel() != n)) {
      return invalid_argument("SkipLayerNorm: Scale and Bias must hold " + std::to_string(n) +
                              " values (the last dim of " + shape_to_string(shape) + "), got " +
                              shape_to_string(scale.shape()) +
                              (bias ? " and " + shape_to_string(bias->shape()) : std::string()));
    }
    if (y->numel() == 0) return Status::ok();
    const RowParams p{scale.data<float>(), bias ? bias->data<float>() : nullptr, n, epsilon_};
    const int64_t rows = y->numel() / n;
    float* yp = y->data<float>();
    // The sum goes to the Sum output when it is wanted, else straight into Y.
    float* sp = sum ? sum->data<float>() : yp;
    // Rows are independent: split them over the threads once there is enough work
    // (BERT-base's 128 rows of 768 take ~0.13 ms on one core).
    const bool parallel = rows > 1 && rows * n >= kParallelElements;
    if (a.shape() == b.shape()) {
      const float* ap = a.data<float>();
      const float* bp = b.data<float>();
#pragma omp parallel for schedule(static) if (parallel)
      for (int64_t r = 0; r < rows; ++r) {
        float* s = sp + r * n;
        for (int64_t i = 0; i < n; ++i) s[i] = ap[r * n + i] + bp[r * n + i];
        normalize_row(s, yp + r * n, p);
      }
      return Status::ok();
    }
    broadcast_add(a, b, sum ? *sum : *y);
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t r = 0; r < rows; ++r) normalize_row(sp + r * n, yp + r * n, p);
    return Status::ok();
  }

 private:
  float epsilon_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_skip_layer_norm(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(float epsilon, attr_float(init.node, "epsilon", 1e-5f));
  return std::unique_ptr<OpKernel>(std::make_unique<SkipLayerNormKernel>(epsilon));
}

}  // namespace kiln
