// CumSum along one axis, optionally exclusive (each output excludes its own element) and
// reversed (summing from the end). 16-bit floats accumulate in float.
#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

class CumSumOp final : public OpKernel {
 public:
  CumSumOp(bool exclusive, bool reverse) : exclusive_(exclusive), reverse_(reverse) {}

  Status infer(InferContext& ctx) const override { return infer_same_as_input(ctx); }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    KILN_ASSIGN_OR_RETURN(int64_t axis_value, read_int_scalar(ctx.input(1), "axis"));
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_value, static_cast<int64_t>(x.rank()), "input 'axis'"));
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, x.dtype(), x.shape()));
    const auto [outer, n, inner] = axis_view(x.shape(), axis);
    Status s = dispatch_numeric(x.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = compute_t<T>;
      const T* src = x.data<T>();
      T* dst = y->data<T>();
      // Running sums for one outer slab, one per inner position, so reads stay sequential.
      std::vector<C> acc(static_cast<size_t>(inner));
      for (int64_t o = 0; o < outer; ++o) {
        std::fill(acc.begin(), acc.end(), C{});
        for (int64_t step = 0; step < n; ++step) {
          const int64_t j = reverse_ ? n - 1 - step : step;
          const T* in_row = src + (o * n + j) * inner;
          T* out_row = dst + (o * n + j) * inner;
          for (int64_t i = 0; i < inner; ++i) {
            C& sum = acc[static_cast<size_t>(i)];
            const C v = load_compute(in_row[i]);
            if (exclusive_) {
              out_row[i] = store_as<T>(sum);
              sum = static_cast<C>(sum + v);
            } else {
              sum = static_cast<C>(sum + v);
              out_row[i] = store_as<T>(sum);
            }
          }
        }
      }
      return Status::ok();
    });
    if (!s.is_ok()) return unsupported_dtype("CumSum", "x", x.dtype());
    return Status::ok();
  }

 private:
  bool exclusive_;
  bool reverse_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_cumsum(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t exclusive, attr_int(init.node, "exclusive", 0));
  KILN_ASSIGN_OR_RETURN(int64_t reverse, attr_int(init.node, "reverse", 0));
  return std::unique_ptr<OpKernel>(new CumSumOp(exclusive != 0, reverse != 0));
}

}  // namespace kiln
