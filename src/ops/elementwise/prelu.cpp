// PRelu(X, slope): x < 0 ? slope * x : x, with slope broadcast onto X's shape
// (unidirectionally: the output always has X's shape).
#include "ops/elementwise/broadcast.h"
#include "ops/elementwise/ew_common.h"
#include "ops/elementwise/factories.h"

namespace kiln::elementwise {
namespace {

constexpr TypeSet kPReluTypes = kFloatTypes | type_bit(DType::kInt32) | type_bit(DType::kInt64) |
                                type_bit(DType::kUInt32) | type_bit(DType::kUInt64);

class PReluKernel final : public OpKernel {
 public:
  explicit PReluKernel(std::string where) : where_(std::move(where)) {}

  Status infer(InferContext& ctx) const override {
    KILN_RETURN_IF_ERROR(check_dtype(where_, "X", ctx.input_dtype(0), kPReluTypes));
    KILN_RETURN_IF_ERROR(same_dtype(ctx.input_dtype(0), ctx.input_dtype(1)));
    ctx.set_output(0, ctx.input_dtype(0), optional_shape(ctx.input_shape(0)));
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& slope = ctx.input(1);
    KILN_RETURN_IF_ERROR(same_dtype(x.dtype(), slope.dtype()));
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, x.dtype(), x.shape()));
    Result<BroadcastPlan<2>> plan =
        plan_broadcast<2>(x.shape(), {&x.shape(), &slope.shape()}, {"X", "slope"});
    if (!plan.is_ok()) return plan.status().with_context(where_);
    return dispatch_numeric(x.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      if constexpr (type_in<T>(kPReluTypes)) {
        broadcast_binary(*plan, x.data<T>(), slope.data<T>(), y->data<T>(), [](T a, T s) {
          const auto v = load_compute(a);
          return store_as<T>(v < decltype(v)(0) ? wrap_mul(load_compute(s), v) : v);
        });
        return Status::ok();
      } else {
        return wrong_dtype(where_, "X", x.dtype(), kPReluTypes);
      }
    });
  }

 private:
  Status same_dtype(DType x, DType slope) const {
    if (x == slope) return Status::ok();
    return invalid_argument(where_ + ": input 'slope' has dtype " + dtype_name(slope) +
                            "; expected " + dtype_name(x) + " like 'X'");
  }

  std::string where_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_prelu(const KernelInit& init) {
  return std::unique_ptr<OpKernel>(std::make_unique<PReluKernel>(init.node.describe()));
}

}  // namespace kiln::elementwise
