// Where(condition, X, Y): three-way broadcast select. It only moves elements, so it is
// compiled per element size rather than per dtype.
#include "ops/elementwise/broadcast.h"
#include "ops/elementwise/ew_common.h"
#include "ops/elementwise/factories.h"

namespace kiln::elementwise {
namespace {

template <typename T>
void select(const BroadcastPlan<3>& plan, const uint8_t* cond, const T* x, const T* y, T* out) {
  for_each_run(plan, [&](const std::array<int64_t, 3>& off, int64_t o, int64_t n,
                         const std::array<int64_t, 3>& s) {
    const uint8_t* c = cond + off[0];
    const T* px = x + off[1];
    const T* py = y + off[2];
    T* po = out + o;
    if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
      for (int64_t i = 0; i < n; ++i) po[i] = c[i] ? px[i] : py[i];
    } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {  // masked fill: where(mask, scores, -inf)
      const T vy = *py;
      for (int64_t i = 0; i < n; ++i) po[i] = c[i] ? px[i] : vy;
    } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {
      const T vx = *px;
      for (int64_t i = 0; i < n; ++i) po[i] = c[i] ? vx : py[i];
    } else if (s[0] == 0) {  // one condition for the whole run: a copy of one side
      const T* src = *c ? px : py;
      const int64_t st = *c ? s[1] : s[2];
      for (int64_t i = 0; i < n; ++i) po[i] = src[i * st];
    } else {
      for (int64_t i = 0; i < n; ++i) po[i] = c[i * s[0]] ? px[i * s[1]] : py[i * s[2]];
    }
  });
}

class WhereKernel final : public OpKernel {
 public:
  explicit WhereKernel(std::string where) : where_(std::move(where)) {}

  Status infer(InferContext& ctx) const override {
    KILN_RETURN_IF_ERROR(check_dtype(where_, "condition", ctx.input_dtype(0), kBoolType));
    KILN_RETURN_IF_ERROR(check_dtype(where_, "X", ctx.input_dtype(1), kAllTypes));
    KILN_RETURN_IF_ERROR(same_dtype(ctx.input_dtype(1), ctx.input_dtype(2)));
    std::optional<SymShape> shape;
    const SymShape* c = ctx.input_shape(0);
    const SymShape* x = ctx.input_shape(1);
    const SymShape* y = ctx.input_shape(2);
    if (c && x && y) {
      Result<SymShape> cx = broadcast_sym_shapes(*c, *x);
      if (!cx.is_ok()) return cx.status().with_context(where_);
      Result<SymShape> cxy = broadcast_sym_shapes(*cx, *y);
      if (!cxy.is_ok()) return cxy.status().with_context(where_);
      shape = std::move(cxy).value();
    }
    ctx.set_output(0, ctx.input_dtype(1), std::move(shape));
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& c = ctx.input(0);
    const Tensor& x = ctx.input(1);
    const Tensor& y = ctx.input(2);
    KILN_RETURN_IF_ERROR(check_dtype(where_, "condition", c.dtype(), kBoolType));
    KILN_RETURN_IF_ERROR(check_dtype(where_, "X", x.dtype(), kAllTypes));
    KILN_RETURN_IF_ERROR(same_dtype(x.dtype(), y.dtype()));
    const Shape* shapes[] = {&c.shape(), &x.shape(), &y.shape()};
    Result<Shape> out_shape = broadcast_all(shapes, 3);
    if (!out_shape.is_ok()) return out_shape.status().with_context(where_);
    KILN_ASSIGN_OR_RETURN(Tensor * out, prepare_output(ctx, 0, x.dtype(), *out_shape));
    Result<BroadcastPlan<3>> plan = plan_broadcast<3>(
        *out_shape, {&c.shape(), &x.shape(), &y.shape()}, {"condition", "X", "Y"});
    if (!plan.is_ok()) return plan.status().with_context(where_);
    // Read as bytes: GCC does not vectorise a bool-to-int widening, but does uint8_t.
    const uint8_t* cond = static_cast<const uint8_t*>(c.raw());
    switch (dtype_size(x.dtype())) {
      case 1: select(*plan, cond, x.data<uint8_t>(), y.data<uint8_t>(), out->data<uint8_t>()); break;
      case 2: select(*plan, cond, x.data<uint16_t>(), y.data<uint16_t>(), out->data<uint16_t>()); break;
      case 4: select(*plan, cond, x.data<uint32_t>(), y.data<uint32_t>(), out->data<uint32_t>()); break;
      case 8: select(*plan, cond, x.data<uint64_t>(), y.data<uint64_t>(), out->data<uint64_t>()); break;
      default: return wrong_dtype(where_, "X", x.dtype(), kAllTypes);
    }
    return Status::ok();
  }

 private:
  Status same_dtype(DType x, DType y) const {
    if (x == y) return Status::ok();
    return invalid_argument(where_ + ": inputs 'X' and 'Y' must have the same dtype (got " +
                            dtype_name(x) + " and " + dtype_name(y) + ")");
  }

  std::string where_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_where(const KernelInit& init) {
  return std::unique_ptr<OpKernel>(std::make_unique<WhereKernel>(init.node.describe()));
}

}  // namespace kiln::elementwise
