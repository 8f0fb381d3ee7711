// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2,
// ReduceLogSum, ReduceLogSumExp, ReduceSumSquare.
//
// Axes come from an attribute before ReduceSum-13 / the others' opset 18 and from an
// optional int64 input since. An empty axis list reduces everything, unless
// noop_with_empty_axes makes it reduce nothing (each element on its own).
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/op_util.h"
#include "ops/reduce/reduce_common.h"
#include "ops/reduce/reduce_loops.h"
#include "ops/reduce/reduce_ops.h"

namespace kiln {
namespace {

enum class ReduceKind { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

// Integers accumulate exactly in 64 bits, except where the result is a real number
// (mean, norms, logs): there they accumulate in double, as the reference does.
template <typename T, ReduceKind K>
struct AccOf {
  static constexpr bool kRealResult = K == ReduceKind::kMean || K == ReduceKind::kL2 ||
                                      K == ReduceKind::kLogSum || K == ReduceKind::kLogSumExp;
  using type = std::conditional_t<
      std::is_same_v<T, double>, double,
      std::conditional_t<!std::is_integral_v<T>, float,
                         std::conditional_t<kRealResult, double,
                                            std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>>>;
};

// The lowest / highest value of T (infinities for floats), as Acc.
template <typename T, typename Acc>
Acc lowest_of() {
  if constexpr (std::is_integral_v<T>) return static_cast<Acc>(std::numeric_limits<T>::lowest());
  else return -std::numeric_limits<Acc>::infinity();
}
template <typename T, typename Acc>
Acc highest_of() {
  if constexpr (std::is_integral_v<T>) return static_cast<Acc>(std::numeric_limits<T>::max());
  else return std::numeric_limits<Acc>::infinity();
}

template <typename T, ReduceKind K>
void reduce_typed(const Tensor& in, Tensor& out, const std::vector<int64_t>& axes) {
  using Acc = typename AccOf<T, K>::type;
  const int64_t n_out = out.numel();
  if (n_out == 0) return;
  const int64_t count = in.numel() / n_out;
  std::vector<Acc> acc(static_cast<size_t>(n_out));
  std::vector<Acc> maxes;  // LogSumExp's per-output shift, for stability
  const CollapsedDims c = collapse_for_reduce(in.shape(), axes);
  const T* x = in.data<T>();
  auto plus = [](Acc a, Acc b) { return a + b; };
  auto ident = [](Acc v, int64_t) { return v; };
  auto square = [](Acc v, int64_t) { return v * v; };
  // NaN wins in max and min, as in numpy (b != b only for a NaN b).
  auto max = [](Acc a, Acc b) { return b > a || b != b ? b : a; };
  auto min = [](Acc a, Acc b) { return b < a || b != b ? b : a; };

  auto run = [&](Acc init, auto map, auto combine) {
    std::fill(acc.begin(), acc.end(), init);
    if (in.numel() > 0) reduce_accumulate<T, Acc>(x, acc.data(), c, init, map, combine);
  };
  if constexpr (K == ReduceKind::kSum || K == ReduceKind::kMean || K == ReduceKind::kLogSum) {
    run(Acc(0), ident, plus);
  } else if constexpr (K == ReduceKind::kSumSquare || K == ReduceKind::kL2) {
    run(Acc(0), square, plus);
  } else if constexpr (K == ReduceKind::kL1) {
    run(Acc(0), [](Acc v, int64_t) { return v < Acc(0) ? Acc(0) - v : v; }, plus);
  } else if constexpr (K == ReduceKind::kProd) {
    run(Acc(1), ident, [](Acc a, Acc b) { return a * b; });
  } else if constexpr (K == ReduceKind::kMax) {
    run(lowest_of<T, Acc>(), ident, max);
  } else if constexpr (K == ReduceKind::kMin) {
    run(highest_of<T, Acc>(), ident, min);
  } else if constexpr (K == ReduceKind::kLogSumExp) {
    run(lowest_of<T, Acc>(), ident, max);
    maxes = acc;
    const Acc* m = maxes.data();
    run(Acc(0),
        [m](Acc v, int64_t o) {
          // An all -inf (or empty) row keeps a zero sum; log(0) + -inf gives -inf.
          return std::isinf(m[o]) ? (v == m[o] ? Acc(1) : Acc(0)) : static_cast<Acc>(std::exp(v - m[o]));
        },
        plus);
  }

  T* y = out.data<T>();
  for (int64_t o = 0; o < n_out; ++o) {
    Acc v = acc[o];
    if constexpr (K == ReduceKind::kMean) v = static_cast<Acc>(v / static_cast<Acc>(count));
    if constexpr (K == ReduceKind::kL2) v = static_cast<Acc>(std::sqrt(v));
    if constexpr (K == ReduceKind::kLogSum) v = static_cast<Acc>(std::log(v));
    if constexpr (K == ReduceKind::kLogSumExp) {
      v = std::isinf(maxes[o]) && v > Acc(0) ? maxes[o] : static_cast<Acc>(std::log(v) + maxes[o]);
    }
    y[o] = store_as<T>(v);
  }
}

// What the axes say for one call: unknown (statically, from a non-constant input), no
// axis at all (noop_with_empty_axes; axes then stays empty), or a normalized list.
struct ResolvedAxes {
  bool known = false;
  bool noop = false;
  std::vector<int64_t> axes;
};

class ReduceKernel final : public OpKernel {
 public:
  ReduceKernel(ReduceKind kind, bool keepdims, bool noop_with_empty_axes, bool axes_from_input,
               std::vector<int64_t> attr_axes)
      : kind_(kind),
        keepdims_(keepdims),
        noop_with_empty_axes_(noop_with_empty_axes),
        axes_from_input_(axes_from_input),
        attr_axes_(std::move(attr_axes)) {}

  Status infer(InferContext& ctx) const override {
    const DType dt = ctx.input_dtype(0);
    KILN_RETURN_IF_ERROR(check_dtype(dt));
    const SymShape* in = ctx.input_shape(0);
    if (!in) {
      ctx.set_output(0, dt, std::nullopt);
      return Status::ok();
    }
    const int64_t rank = static_cast<int64_t>(in->size());
    const Tensor* axes_value = axes_from_input_ && ctx.has_input(1) ? ctx.input_value(1) : nullptr;
    if (axes_from_input_ && ctx.has_input(1) && !axes_value) {
      // Axes unknown: the rank survives only with keepdims (then every dim may be 1).
      const SymShape* axes_shape = ctx.input_shape(1);
      if (keepdims_) {
        ctx.set_output(0, dt, SymShape(in->size(), Dim::unknown()));
      } else if (axes_shape && axes_shape->size() == 1 && (*axes_shape)[0].known() &&
                 (*axes_shape)[0].value > 0 && (*axes_shape)[0].value <= rank) {
        ctx.set_output(0, dt, SymShape(rank - (*axes_shape)[0].value, Dim::unknown()));
      } else {
        ctx.set_output(0, dt, std::nullopt);
      }
      return Status::ok();
    }
    KILN_ASSIGN_OR_RETURN(ResolvedAxes r, resolve(axes_value, rank));
    ctx.set_output(0, dt, r.noop ? *in : reduced_sym_shape(*in, r.axes, keepdims_));
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& in = ctx.input(0);
    const Tensor* axes_value = axes_from_input_ && ctx.has_input(1) ? &ctx.input(1) : nullptr;
    KILN_ASSIGN_OR_RETURN(ResolvedAxes r, resolve(axes_value, static_cast<int64_t>(in.rank())));
    // Reducing over no axis still applies the op to each single element: identity for
    // sum/mean/max/min/prod, but |x| for L1/L2, x^2 for SumSquare, log(x) for LogSum.
    const bool identity = kind_ == ReduceKind::kSum || kind_ == ReduceKind::kMean || kind_ == ReduceKind::kMax ||
                          kind_ == ReduceKind::kMin || kind_ == ReduceKind::kProd ||
                          kind_ == ReduceKind::kLogSumExp;
    if (r.noop && identity) {
      ctx.set_output(0, in);
      return Status::ok();
    }
    Tensor& out = ctx.output(0);
    const Shape expect = reduced_shape(in.shape(), r.axes, keepdims_);
    if (out.shape() != expect) {
      return internal_error("output shape " + shape_to_string(out.shape()) + " != expected " +
                            shape_to_string(expect));
    }
    DType dt = in.dtype();
    if (dt == DType::kBool) dt = DType::kUInt8;  // bool max/min: false < true, 1 byte each
    return dispatch_numeric(dt, [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      switch (kind_) {
        case ReduceKind::kSum: reduce_typed<T, ReduceKind::kSum>(in, out, r.axes); break;
        case ReduceKind::kMean: reduce_typed<T, ReduceKind::kMean>(in, out, r.axes); break;
        case ReduceKind::kMax: reduce_typed<T, ReduceKind::kMax>(in, out, r.axes); break;
        case ReduceKind::kMin: reduce_typed<T, ReduceKind::kMin>(in, out, r.axes); break;
        case ReduceKind::kProd: reduce_typed<T, ReduceKind::kProd>(in, out, r.axes); break;
        case ReduceKind::kL1: reduce_typed<T, ReduceKind::kL1>(in, out, r.axes); break;
        case ReduceKind::kL2: reduce_typed<T, ReduceKind::kL2>(in, out, r.axes); break;
        case ReduceKind::kLogSum: reduce_typed<T, ReduceKind::kLogSum>(in, out, r.axes); break;
        case ReduceKind::kLogSumExp: reduce_typed<T, ReduceKind::kLogSumExp>(in, out, r.axes); break;
        case ReduceKind::kSumSquare: reduce_typed<T, ReduceKind::kSumSquare>(in, out, r.axes); break;
      }
      return Status::ok();
    });
  }

 private:
  Status check_dtype(DType dt) const {
    const bool minmax = kind_ == ReduceKind::kMax || kind_ == ReduceKind::kMin;
    return minmax && dt == DType::kBool ? Status::ok() : expect_numeric_dtype("data", dt);
  }

  Result<ResolvedAxes> resolve(const Tensor* axes_value, int64_t rank) const {
    ResolvedAxes r;
    r.known = true;
    std::vector<int64_t> axes = attr_axes_;
    if (axes_value) {
      if (axes_value->rank() > 1) {
        return invalid_argument("input 'axes' has shape " + shape_to_string(axes_value->shape()) +
                                " (expected a 1-D tensor)");
      }
      KILN_ASSIGN_OR_RETURN(axes, read_int_values(*axes_value, "axes"));
    }
    if (axes.empty()) {
      if (noop_with_empty_axes_) {
        r.noop = true;
        return r;
      }
      for (int64_t i = 0; i < rank; ++i) r.axes.push_back(i);
      return r;
    }
    KILN_ASSIGN_OR_RETURN(r.axes, normalize_axis_list(axes, rank, axes_from_input_ ? "input 'axes'"
                                                                                  : "attribute 'axes'"));
    return r;
  }

  ReduceKind kind_;
  bool keepdims_;
  bool noop_with_empty_axes_;
  bool axes_from_input_;
  std::vector<int64_t> attr_axes_;
};

Result<std::unique_ptr<OpKernel>> make_reduce(const KernelInit& init, ReduceKind kind,
                                              int64_t axes_input_since) {
  const Node& node = init.node;
  KILN_ASSIGN_OR_RETURN(int64_t keepdims, attr_int(node, "keepdims", 1));
  const bool from_input = init.opset >= axes_input_since;
  int64_t noop = 0;
  std::vector<int64_t> attr_axes;
  if (from_input) {
    KILN_ASSIGN_OR_RETURN(noop, attr_int(node, "noop_with_empty_axes", 0));
  } else {
    KILN_ASSIGN_OR_RETURN(attr_axes, attr_ints(node, "axes", {}));
  }
  return std::unique_ptr<OpKernel>(
      std::make_unique<ReduceKernel>(kind, keepdims != 0, noop != 0, from_input, std::move(attr_axes)));
}

}  // namespace

Result<std::unique_ptr<OpKernel>> make_reduce_sum(const KernelInit& i) { return make_reduce(i, ReduceKind::kSum, 13); }
Result<std::unique_ptr<OpKernel>> make_reduce_mean(const KernelInit& i) { return make_reduce(i, ReduceKind::kMean, 18); }
Result<std::unique_ptr<OpKernel>> make_reduce_max(const KernelInit& i) { return make_reduce(i, ReduceKind::kMax, 18); }
Result<std::unique_ptr<OpKernel>> make_reduce_min(const KernelInit& i) { return make_reduce(i, ReduceKind::kMin, 18); }
Result<std::unique_ptr<OpKernel>> make_reduce_prod(const KernelInit& i) { return make_reduce(i, ReduceKind::kProd, 18); }
Result<std::unique_ptr<OpKernel>> make_reduce_l1(const KernelInit& i) { return make_reduce(i, ReduceKind::kL1, 18); }
Result<std::unique_ptr<OpKernel>> make_reduce_l2(const KernelInit& i) { return make_reduce(i, ReduceKind::kL2, 18); }
Result<std::unique_ptr<OpKernel>> make_reduce_log_sum(const KernelInit& i) { return make_reduce(i, ReduceKind::kLogSum, 18); }
Result<std::unique_ptr<OpKernel>> make_reduce_log_sum_exp(const KernelInit& i) { return make_reduce(i, ReduceKind::kLogSumExp, 18); }
Result<std::unique_ptr<OpKernel>> make_reduce_sum_square(const KernelInit& i) { return make_reduce(i, ReduceKind::kSumSquare, 18); }

}  // namespace kiln
