// ArgMax and ArgMin: int64 indices of the extreme value along one axis. Ties go to the
// first index, or the last with select_last_index (opset 12+).
#include <algorithm>

#include "ops/op_util.h"
#include "ops/reduce/reduce_common.h"
#include "ops/reduce/reduce_ops.h"

namespace kiln {
namespace {

// The comparison value of an element: float for 16-bit floats, the type itself otherwise.
template <typename T>
using KeyOf = compute_t<T>;

template <typename T, bool kMax, bool kLast>
void arg_reduce_typed(const T* x, int64_t* y, const AxisView& v) {
  using K = KeyOf<T>;
  // "b beats a": strictly better, or equal when the last index wins ties.
  auto beats = [](K b, K a) {
    if constexpr (kMax) return kLast ? b >= a : b > a;
    else return kLast ? b <= a : b < a;
  };
  if (v.inner == 1) {
    for (int64_t o = 0; o < v.outer; ++o) {
      const T* row = x + o * v.axis_len;
      K best = load_as<K>(row[0]);
      int64_t best_i = 0;
      for (int64_t i = 1; i < v.axis_len; ++i) {
        const K cur = load_as<K>(row[i]);
        if (beats(cur, best)) {
          best = cur;
          best_i = i;
        }
      }
      y[o] = best_i;
    }
    return;
  }
  // Several independent rows side by side: sweep the axis once, keeping a best per column.
  std::vector<K> best(static_cast<size_t>(v.inner));
  for (int64_t o = 0; o < v.outer; ++o) {
    const T* base = x + o * v.axis_len * v.inner;
    int64_t* dst = y + o * v.inner;
    for (int64_t j = 0; j < v.inner; ++j) {
      best[j] = load_as<K>(base[j]);
      dst[j] = 0;
    }
    for (int64_t i = 1; i < v.axis_len; ++i) {
      const T* row = base + i * v.inner;
      for (int64_t j = 0; j < v.inner; ++j) {
        const K cur = load_as<K>(row[j]);
        if (beats(cur, best[j])) {
          best[j] = cur;
          dst[j] = i;
        }
      }
    }
  }
}

class ArgReduceKernel final : public OpKernel {
 public:
  ArgReduceKernel(bool is_max, int64_t axis, bool keepdims, bool select_last)
      : is_max_(is_max), axis_(axis), keepdims_(keepdims), select_last_(select_last) {}

  Status infer(InferContext& ctx) const override {
    const DType dt = ctx.input_dtype(0);
    KILN_RETURN_IF_ERROR(expect_numeric_dtype("data", dt));
    const SymShape* in = ctx.input_shape(0);
    if (!in) {
      ctx.set_output(0, DType::kInt64, std::nullopt);
      return Status::ok();
    }
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, static_cast<int64_t>(in->size()), "attribute 'axis'"));
    ctx.set_output(0, DType::kInt64, reduced_sym_shape(*in, {axis}, keepdims_));
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& in = ctx.input(0);
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, static_cast<int64_t>(in.rank()), "attribute 'axis'"));
    const AxisView v = axis_view(in.shape(), axis);
    Tensor& out = ctx.output(0);
    if (out.numel() == 0) return Status::ok();
    if (v.axis_len == 0) {
      return invalid_argument("input 'data' has shape " + shape_to_string(in.shape()) + ": axis " +
                              std::to_string(axis) + " is empty, so it has no arg " +
                              (is_max_ ? "max" : "min"));
    }
    return dispatch_numeric(in.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      const T* x = in.data<T>();
      int64_t* y = out.data<int64_t>();
      if (is_max_) {
        select_last_ ? arg_reduce_typed<T, true, true>(x, y, v) : arg_reduce_typed<T, true, false>(x, y, v);
      } else {
        select_last_ ? arg_reduce_typed<T, false, true>(x, y, v) : arg_reduce_typed<T, false, false>(x, y, v);
      }
      return Status::ok();
    });
  }

 private:
  bool is_max_;
  int64_t axis_;
  bool keepdims_;
  bool select_last_;
};

Result<std::unique_ptr<OpKernel>> make_arg_reduce(const KernelInit& init, bool is_max) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_int(init.node, "axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t keepdims, attr_int(init.node, "keepdims", 1));
  KILN_ASSIGN_OR_RETURN(int64_t last, attr_int(init.node, "select_last_index", 0));
  return std::unique_ptr<OpKernel>(std::make_unique<ArgReduceKernel>(is_max, axis, keepdims != 0, last != 0));
}

}  // namespace

Result<std::unique_ptr<OpKernel>> make_arg_max(const KernelInit& init) { return make_arg_reduce(init, true); }
Result<std::unique_ptr<OpKernel>> make_arg_min(const KernelInit& init) { return make_arg_reduce(init, false); }

}  // namespace kiln
