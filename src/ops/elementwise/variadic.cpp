// Max Min Sum Mean: one or more inputs, broadcast together, folded pairwise into the
// output (the first pair is computed into it, each further input is combined in place).
#include <cstring>

#include "ops/elementwise/binary.h"
#include "ops/elementwise/factories.h"

namespace kiln::elementwise {
namespace {

struct MaxOp {
  static constexpr TypeSet kTypes = kNumericTypes;
  static constexpr bool kMean = false;
  template <typename C>
  C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      if (a != a || b != b) return a + b;  // NaN propagates, as in numpy.maximum
    }
    return a < b ? b : a;
  }
};

struct MinOp {
  static constexpr TypeSet kTypes = kNumericTypes;
  static constexpr bool kMean = false;
  template <typename C>
  C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      if (a != a || b != b) return a + b;
    }
    return b < a ? b : a;
  }
};

struct SumOp {
  static constexpr TypeSet kTypes = kNumericTypes;
  static constexpr bool kMean = false;
  template <typename C>
  C operator()(C a, C b) const { return wrap_add(a, b); }
};

struct MeanOp {
  static constexpr TypeSet kTypes = kFloatTypes;
  static constexpr bool kMean = true;
  template <typename C>
  C operator()(C a, C b) const { return a + b; }
};

template <typename Op>
class VariadicKernel final : public OpKernel {
 public:
  explicit VariadicKernel(std::string where) : where_(std::move(where)) {}

  Status infer(InferContext& ctx) const override {
    KILN_RETURN_IF_ERROR(check_inputs(ctx.num_inputs(), [&](size_t i) { return ctx.has_input(i); }));
    const DType dtype = ctx.input_dtype(0);
    KILN_RETURN_IF_ERROR(check_dtype(where_, "data_0", dtype, Op::kTypes));
    std::optional<SymShape> shape = SymShape{};
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      KILN_RETURN_IF_ERROR(same_dtype(i, dtype, ctx.input_dtype(i)));
      const SymShape* s = ctx.input_shape(i);
      if (!s) shape.reset();
      if (!shape) continue;
      Result<SymShape> b = broadcast_sym_shapes(*shape, *s);
      if (!b.is_ok()) return b.status().with_context(where_);
      shape = std::move(b).value();
    }
    ctx.set_output(0, dtype, std::move(shape));
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const size_t n = ctx.num_inputs();
    KILN_RETURN_IF_ERROR(check_inputs(n, [&](size_t i) { return ctx.has_input(i); }));
    const DType dtype = ctx.input(0).dtype();
    std::vector<const Shape*> shapes(n);
    for (size_t i = 0; i < n; ++i) {
      KILN_RETURN_IF_ERROR(same_dtype(i, dtype, ctx.input(i).dtype()));
      shapes[i] = &ctx.input(i).shape();
    }
    Result<Shape> out_shape = broadcast_all(shapes.data(), n);
    if (!out_shape.is_ok()) return out_shape.status().with_context(where_);
    KILN_ASSIGN_OR_RETURN(Tensor * out, prepare_output(ctx, 0, dtype, *out_shape));
    return dispatch_all(dtype, [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      if constexpr (type_in<T>(Op::kTypes)) {
        return fold<T>(ctx, *out_shape, out->data<T>());
      } else {
        return wrong_dtype(where_, "data_0", dtype, Op::kTypes);
      }
    });
  }

 private:
  template <typename HasInput>
  Status check_inputs(size_t n, HasInput has_input) const {
    if (n == 0) return invalid_model(where_ + ": needs at least one input");
    for (size_t i = 0; i < n; ++i) {
      if (!has_input(i)) return invalid_model(where_ + ": input " + std::to_string(i) + " is omitted");
    }
    return Status::ok();
  }

  Status same_dtype(size_t i, DType expected, DType actual) const {
    if (actual == expected) return Status::ok();
    return invalid_argument(where_ + ": input " + std::to_string(i) + " has dtype " +
                            dtype_name(actual) + "; expected " + dtype_name(expected) +
                            " like input 0");
  }

  template <typename T>
  Status fold(RunContext& ctx, const Shape& out_shape, T* out) const {
    const size_t n = ctx.num_inputs();
    const Op op{};
    auto f = [&op](T x, T y) { return store_as<T>(op(load_compute(x), load_compute(y))); };
    const Tensor& first = ctx.input(0);
    if (n == 1) {
      // One input: its shape is the output's, so this is a copy.
      std::memcpy(out, first.data<T>(), first.nbytes());
    } else {
      const Tensor& second = ctx.input(1);
      Result<BroadcastPlan<2>> plan =
          plan_broadcast<2>(out_shape, {&first.shape(), &second.shape()}, {"data_0", "data_1"});
      if (!plan.is_ok()) return plan.status().with_context(where_);
      broadcast_binary(*plan, first.data<T>(), second.data<T>(), out, f);
    }
    for (size_t i = 2; i < n; ++i) {
      const Tensor& next = ctx.input(i);
      const std::string name = "data_" + std::to_string(i);
      Result<BroadcastPlan<2>> plan =
          plan_broadcast<2>(out_shape, {&out_shape, &next.shape()}, {"output", name.c_str()});
      if (!plan.is_ok()) return plan.status().with_context(where_);
      broadcast_binary(*plan, static_cast<const T*>(out), next.data<T>(), out, f);
    }
    if constexpr (Op::kMean) {
      using C = compute_t<T>;
      const C count = static_cast<C>(n);
      int64_t numel = 1;
      for (int64_t d : out_shape) numel *= d;
      for (int64_t i = 0; i < numel; ++i) out[i] = store_as<T>(load_compute(out[i]) / count);
    }
    return Status::ok();
  }

  std::string where_;
};

template <typename Op>
Result<std::unique_ptr<OpKernel>> make_variadic(const KernelInit& init) {
  return std::unique_ptr<OpKernel>(std::make_unique<VariadicKernel<Op>>(init.node.describe()));
}

}  // namespace

Result<std::unique_ptr<OpKernel>> make_max(const KernelInit& init) { return make_variadic<MaxOp>(init); }
Result<std::unique_ptr<OpKernel>> make_min(const KernelInit& init) { return make_variadic<MinOp>(init); }
Result<std::unique_ptr<OpKernel>> make_sum(const KernelInit& init) { return make_variadic<SumOp>(init); }
Result<std::unique_ptr<OpKernel>> make_mean(const KernelInit& init) { return make_variadic<MeanOp>(init); }

}  // namespace kiln::elementwise
