// Softmax, LogSoftmax and Hardmax.
//
// Before opset 13 the input is coerced to 2-D at `axis` (default 1) and the op runs over
// the whole trailing block; from opset 13 it runs over the single `axis` (default -1).
// The common case, the last axis, is one contiguous row per output row: max, exp and
// sum, then a scale, each a vectorizable loop over memory that stays in cache.
#include <algorithm>
#include <cmath>

#include "math/vector_math.h"
#include "ops/nn/nn_common.h"
#include "ops/nn/nn_ops.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

enum class SoftmaxKind { kSoftmax, kLogSoftmax, kHardmax };

template <typename C>
void softmax_row(const C* x, C* y, int64_t n, SoftmaxKind kind) {
  if (kind == SoftmaxKind::kHardmax) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i) {
      if (x[i] > x[best]) best = i;
    }
    std::fill(y, y + n, C(0));
    if (n > 0) y[best] = C(1);
    return;
  }
  const C m = math::row_max(x, n);
  const C s = math::exp_sub_sum(x, m, y, n);
  if (kind == SoftmaxKind::kSoftmax) {
    const C inv = C(1) / s;
    for (int64_t i = 0; i < n; ++i) y[i] *= inv;
  } else {
    const C lse = m + std::log(s);
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] - lse;
  }
}

// One [len, inner] block where the axis is not innermost: per-column statistics in
// `scratch` (2 * inner), with every loop running along the contiguous inner dim.
template <typename C>
void softmax_columns(const C* x, C* y, int64_t len, int64_t inner, SoftmaxKind kind, C* scratch) {
  C* m = scratch;
  C* s = scratch + inner;
  std::copy(x, x + inner, m);
  if (kind == SoftmaxKind::kHardmax) {
    std::fill(s, s + inner, C(0));  // s holds the winning index
    for (int64_t i = 1; i < len; ++i) {
      for (int64_t j = 0; j < inner; ++j) {
        if (x[i * inner + j] > m[j]) {
          m[j] = x[i * inner + j];
          s[j] = static_cast<C>(i);
        }
      }
    }
    for (int64_t i = 0; i < len; ++i) {
      for (int64_t j = 0; j < inner; ++j) y[i * inner + j] = static_cast<int64_t>(s[j]) == i ? C(1) : C(0);
    }
    return;
  }
  for (int64_t i = 1; i < len; ++i) {
    for (int64_t j = 0; j < inner; ++j) m[j] = x[i * inner + j] > m[j] ? x[i * inner + j] : m[j];
  }
  std::fill(s, s + inner, C(0));
  for (int64_t i = 0; i < len; ++i) {
    math::exp_sub(x + i * inner, m, y + i * inner, inner);
    for (int64_t j = 0; j < inner; ++j) s[j] += y[i * inner + j];
  }
  if (kind == SoftmaxKind::kSoftmax) {
    for (int64_t j = 0; j < inner; ++j) s[j] = C(1) / s[j];
    for (int64_t i = 0; i < len; ++i) {
      for (int64_t j = 0; j < inner; ++j) y[i * inner + j] *= s[j];
    }
  } else {
    for (int64_t j = 0; j < inner; ++j) s[j] = m[j] + std::log(s[j]);
    for (int64_t i = 0; i < len; ++i) {
      for (int64_t j = 0; j < inner; ++j) y[i * inner + j] = x[i * inner + j] - s[j];
    }
  }
}

template <typename T>
void softmax_typed(const T* x, T* y, const AxisView& v, SoftmaxKind kind) {
  using C = CalcType<T>;
  constexpr bool kDirect = std::is_same_v<T, C>;  // float and double need no conversion
  const int64_t block = v.axis_len * v.inner;
  std::vector<C> xb, yb, scratch;
  if (!kDirect) {
    xb.resize(block);
    yb.resize(block);
  }
  if (v.inner > 1) scratch.resize(2 * v.inner);
  for (int64_t o = 0; o < v.outer; ++o) {
    const C* xs;
    C* ys;
    if constexpr (kDirect) {
      xs = x + o * block;
      ys = y + o * block;
    } else {
      for (int64_t i = 0; i < block; ++i) xb[i] = load_as<C>(x[o * block + i]);
      xs = xb.data();
      ys = yb.data();
    }
    if (v.inner == 1) softmax_row(xs, ys, v.axis_len, kind);
    else softmax_columns(xs, ys, v.axis_len, v.inner, kind, scratch.data());
    if constexpr (!kDirect) {
      for (int64_t i = 0; i < block; ++i) y[o * block + i] = store_as<T>(yb[i]);
    }
  }
}

class SoftmaxKernel final : public OpKernel {
 public:
  SoftmaxKernel(SoftmaxKind kind, int64_t axis, bool coerce_2d) : kind_(kind), axis_(axis), coerce_2d_(coerce_2d) {}

  Status infer(InferContext& ctx) const override {
    KILN_RETURN_IF_ERROR(expect_float_dtype("input", ctx.input_dtype(0)));
    if (const SymShape* s = ctx.input_shape(0)) {
      Result<int64_t> axis = view_axis(static_cast<int64_t>(s->size()));
      if (!axis.is_ok()) return axis.status();
    }
    return infer_same_as_input(ctx);
  }

  Status run(RunContext& ctx) const override {
    const Tensor& in = ctx.input(0);
    Tensor& out = ctx.output(0);
    KILN_ASSIGN_OR_RETURN(int64_t axis, view_axis(static_cast<int64_t>(in.rank())));
    AxisView v;
    if (in.rank() == 0) {
      v = AxisView{};  // a scalar is one row of one element
    } else if (coerce_2d_) {
      for (int64_t i = 0; i < static_cast<int64_t>(in.rank()); ++i) (i < axis ? v.outer : v.axis_len) *= in.dim(i);
    } else {
      v = axis_view(in.shape(), axis);
    }
    if (in.numel() == 0) return Status::ok();
    return dispatch_float(in.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      softmax_typed<T>(in.data<T>(), out.data<T>(), v, kind_);
      return Status::ok();
    });
  }

 private:
  // The normalized axis; rank 0 is accepted as a single element.
  Result<int64_t> view_axis(int64_t rank) const {
    if (rank == 0) return int64_t{0};
    // Opset < 13 allows axis == rank (a 2-D view with an empty trailing block).
    if (coerce_2d_ && axis_ == rank) return rank;
    return normalize_axis(axis_, rank, "attribute 'axis'");
  }

  SoftmaxKind kind_;
  int64_t axis_;
  bool coerce_2d_;
};

Result<std::unique_ptr<OpKernel>> make_softmax_family(const KernelInit& init, SoftmaxKind kind) {
  const bool coerce_2d = init.opset < 13;
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_int(init.node, "axis", coerce_2d ? 1 : -1));
  return std::unique_ptr<OpKernel>(std::make_unique<SoftmaxKernel>(kind, axis, coerce_2d));
}

}  // namespace

Result<std::unique_ptr<OpKernel>> make_softmax(const KernelInit& init) {
  return make_softmax_family(init, SoftmaxKind::kSoftmax);
}
Result<std::unique_ptr<OpKernel>> make_log_softmax(const KernelInit& init) {
  return make_softmax_family(init, SoftmaxKind::kLogSoftmax);
}
Result<std::unique_ptr<OpKernel>> make_hardmax(const KernelInit& init) {
  return make_softmax_family(init, SoftmaxKind::kHardmax);
}

}  // namespace kiln
