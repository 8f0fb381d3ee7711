// The kernel behind two-input elementwise ops with numpy broadcasting (Add, Equal, And,
// BitShift...). An op is a functor:
//   kTypes    the dtypes A and B may have (they must be equal)
//   kBoolOut  whether the output is bool (comparisons) instead of A's dtype
//   operator()(C a, C b) on the compute type (float for 16-bit floats)
//   optionally check<T>(const Tensor& b) -> Status, run before computing (integer Div
//   and Mod reject a zero divisor there rather than crash).
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "ops/elementwise/broadcast.h"
#include "ops/elementwise/ew_common.h"

namespace kiln::elementwise {

// Opset < 7 broadcasting: with broadcast=1 and an `axis`, B's shape matches A's dims
// from `axis` on, so B gets trailing 1s to line up under numpy rules. broadcast=1 without
// axis is suffix matching, which numpy rules already do; broadcast=0 (equal shapes) is a
// special case of them.
struct LegacyBroadcast {
  bool align_at_axis = false;
  int64_t axis = 0;
};

Result<LegacyBroadcast> read_legacy_broadcast(const KernelInit& init);

// B's shape after legacy alignment against A (either Shape or SymShape).
template <typename S>
Result<S> legacy_align(const LegacyBroadcast& lb, const S& a, const S& b) {
  if (!lb.align_at_axis) return b;
  const int64_t rank = static_cast<int64_t>(a.size());
  const int64_t axis = lb.axis < 0 ? lb.axis + rank : lb.axis;
  const int64_t pad = rank - axis - static_cast<int64_t>(b.size());
  if (axis < 0 || pad < 0) {
    return invalid_argument("input 'B' of rank " + std::to_string(b.size()) +
                            " does not fit in input 'A' of rank " + std::to_string(rank) +
                            " at axis " + std::to_string(lb.axis));
  }
  S out = b;
  out.resize(b.size() + static_cast<size_t>(pad), typename S::value_type(1));
  return out;
}

// B's shape after legacy alignment, and the shape A and B broadcast to; errors carry
// `where`. S is Shape (run) or SymShape (infer).
template <typename S>
struct BinaryShapes {
  S b;
  S out;
};
template <typename S>
Result<BinaryShapes<S>> binary_shapes(const LegacyBroadcast& lb, const S& a, const S& b, const std::string& where) {
  Result<S> aligned = legacy_align(lb, a, b);
  if (!aligned.is_ok()) return aligned.status().with_context(where);
  Result<S> out = [&] {
    if constexpr (std::is_same_v<S, Shape>) return broadcast_shapes(a, *aligned);
    else return broadcast_sym_shapes(a, *aligned);
  }();
  if (!out.is_ok()) return out.status().with_context(where);
  return BinaryShapes<S>{std::move(aligned).value(), std::move(out).value()};
}
// The output shape for infer(): nullopt while either input's rank is unknown.
inline Result<std::optional<SymShape>> binary_out_shape(const LegacyBroadcast& lb, const SymShape* a,
                                                        const SymShape* b, const std::string& where) {
  if (!a || !b) return std::optional<SymShape>();
  KILN_ASSIGN_OR_RETURN(BinaryShapes<SymShape> s, binary_shapes(lb, *a, *b, where));
  return std::optional<SymShape>(std::move(s.out));
}

// Converts m elements of a 16-bit float run (stride 0, 1 or other) to float.
template <typename T>
void load_run(const T* p, int64_t stride, float* dst, int64_t m) {
  if (stride == 1) {
    if constexpr (std::is_same_v<T, Float16>) {
      half_to_float_n(p, dst, m);
    } else {
      for (int64_t j = 0; j < m; ++j) dst[j] = to_float(p[j]);
    }
  } else if (stride == 0) {
    const float v = to_float(*p);
    for (int64_t j = 0; j < m; ++j) dst[j] = v;
  } else {
    for (int64_t j = 0; j < m; ++j) dst[j] = to_float(p[j * stride]);
  }
}

// broadcast_binary for 16-bit floats: runs are converted to float in blocks, computed
// there and converted back, so the arithmetic vectorises instead of converting element
// by element. f takes and returns float (or bool for comparisons).
template <typename T, typename O, typename F>
void broadcast_binary_half(const BroadcastPlan<2>& plan, const T* a, const T* b, O* out, F&& f) {
  for_each_run(plan, [&](const std::array<int64_t, 2>& off, int64_t o, int64_t n,
                         const std::array<int64_t, 2>& s) {
    constexpr int64_t kBlock = 256;
    float fa[kBlock], fb[kBlock], fo[kBlock];
    for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
      const int64_t m = std::min(kBlock, n - i0);
      load_run(a + off[0] + i0 * s[0], s[0], fa, m);
      load_run(b + off[1] + i0 * s[1], s[1], fb, m);
      O* po = out + o + i0;
      if constexpr (std::is_same_v<O, Float16>) {
        for (int64_t j = 0; j < m; ++j) fo[j] = f(fa[j], fb[j]);
        float_to_half_n(fo, po, m);
      } else {
        for (int64_t j = 0; j < m; ++j) po[j] = store_as<O>(f(fa[j], fb[j]));
      }
    }
  });
}

template <typename Op>
class BinaryKernel final : public OpKernel {
 public:
  BinaryKernel(std::string where, Op op, LegacyBroadcast lb)
      : where_(std::move(where)), op_(op), legacy_(lb) {}

  Status infer(InferContext& ctx) const override {
    const DType a = ctx.input_dtype(0);
    const DType b = ctx.input_dtype(1);
    KILN_RETURN_IF_ERROR(check_dtype(where_, "A", a, Op::kTypes));
    if (a != b) {
      return invalid_argument(where_ + ": inputs 'A' and 'B' must have the same dtype (got " +
                              dtype_name(a) + " and " + dtype_name(b) + ")");
    }
    KILN_ASSIGN_OR_RETURN(std::optional<SymShape> out,
                          binary_out_shape(legacy_, ctx.input_shape(0), ctx.input_shape(1), where_));
    ctx.set_output(0, Op::kBoolOut ? DType::kBool : a, std::move(out));
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.dtype() != b.dtype()) {
      return invalid_argument(where_ + ": inputs 'A' and 'B' must have the same dtype (got " +
                              dtype_name(a.dtype()) + " and " + dtype_name(b.dtype()) + ")");
    }
    KILN_ASSIGN_OR_RETURN(BinaryShapes<Shape> s, binary_shapes(legacy_, a.shape(), b.shape(), where_));
    const DType out_dtype = Op::kBoolOut ? DType::kBool : a.dtype();
    KILN_ASSIGN_OR_RETURN(Tensor * out, prepare_output(ctx, 0, out_dtype, s.out));
    Result<BroadcastPlan<2>> plan = plan_broadcast<2>(s.out, {&a.shape(), &s.b}, {"A", "B"});
    if (!plan.is_ok()) return plan.status().with_context(where_);
    return dispatch_all(a.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      if constexpr (type_in<T>(Op::kTypes)) {
        using O = std::conditional_t<Op::kBoolOut, bool, T>;
        if constexpr (requires { op_.template check<T>(b); }) {
          KILN_RETURN_IF_ERROR(op_.template check<T>(b).with_context(where_));
        }
        const Op& op = op_;
        if constexpr (is_half_v<T>) {
          broadcast_binary_half(*plan, a.data<T>(), b.data<T>(), out->data<O>(),
                                [&op](float x, float y) { return op(x, y); });
        } else {
          broadcast_binary(*plan, a.data<T>(), b.data<T>(), out->data<O>(),
                           [&op](T x, T y) { return static_cast<O>(op(x, y)); });
        }
        return Status::ok();
      } else {
        return wrong_dtype(where_, "A", a.dtype(), Op::kTypes);
      }
    });
  }

 private:
  std::string where_;
  Op op_;
  LegacyBroadcast legacy_;
};

template <typename Op>
Result<std::unique_ptr<OpKernel>> make_binary_kernel(const KernelInit& init, Op op) {
  KILN_ASSIGN_OR_RETURN(LegacyBroadcast lb, read_legacy_broadcast(init));
  return std::unique_ptr<OpKernel>(
      std::make_unique<BinaryKernel<Op>>(init.node.describe(), op, lb));
}

// Whether any element of an integer tensor is zero (divisor checks).
template <typename T>
bool has_zero(const Tensor& t) {
  const T* p = t.data<T>();
  bool zero = false;
  for (int64_t i = 0; i < t.numel(); ++i) zero |= p[i] == T(0);
  return zero;
}

}  // namespace kiln::elementwise
