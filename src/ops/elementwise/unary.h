// The kernel behind every one-input elementwise op. An op is a small functor:
//   kTypes    the input dtypes it accepts
//   kBoolOut  whether the output is bool (IsNaN) instead of the input's dtype
//   operator()(C x) on the compute type (float for 16-bit floats)
// so each op is a few lines and its loop is compiled per dtype with the functor inlined.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "ops/elementwise/ew_common.h"

namespace kiln::elementwise {

// A functor may also offer bulk(const float*, float*, n) for float32 data, for loops
// that need explicit SIMD (Sqrt).
template <typename Fn>
concept HasBulkFloat = requires(const Fn& fn, const float* in, float* out, int64_t n) {
  fn.bulk(in, out, n);
};

// out[i] = fn(in[i]); 16-bit floats go through a float buffer so fn's loop vectorises.
template <typename T, typename O, typename Fn>
void map_unary(const T* in, O* out, int64_t n, const Fn& fn) {
  if constexpr (std::is_same_v<T, float> && std::is_same_v<O, float> && HasBulkFloat<Fn>) {
    fn.bulk(in, out, n);
  } else if constexpr (is_half_v<T>) {
    constexpr int64_t kBlock = 256;
    float buf[kBlock];
    for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
      const int64_t m = std::min(kBlock, n - i0);
      if constexpr (std::is_same_v<T, Float16>) {
        half_to_float_n(in + i0, buf, m);
      } else {
        for (int64_t j = 0; j < m; ++j) buf[j] = to_float(in[i0 + j]);
      }
      if constexpr (std::is_same_v<O, T>) {
        if constexpr (HasBulkFloat<Fn>) {
          fn.bulk(buf, buf, m);
        } else {
          for (int64_t j = 0; j < m; ++j) buf[j] = fn(buf[j]);
        }
        if constexpr (std::is_same_v<O, Float16>) {
          float_to_half_n(buf, out + i0, m);
        } else {
          for (int64_t j = 0; j < m; ++j) out[i0 + j] = store_as<O>(buf[j]);
        }
      } else {
        for (int64_t j = 0; j < m; ++j) out[i0 + j] = store_as<O>(fn(buf[j]));
      }
    }
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<O>(fn(in[i]));
  }
}

template <typename Fn>
class UnaryKernel final : public OpKernel {
 public:
  UnaryKernel(std::string where, Fn fn) : where_(std::move(where)), fn_(fn) {}

  Status infer(InferContext& ctx) const override {
    KILN_RETURN_IF_ERROR(check_dtype(where_, "X", ctx.input_dtype(0), Fn::kTypes));
    ctx.set_output(0, out_dtype(ctx.input_dtype(0)), optional_shape(ctx.input_shape(0)));
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, out_dtype(x.dtype()), x.shape()));
    return dispatch_all(x.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      if constexpr (type_in<T>(Fn::kTypes)) {
        using O = std::conditional_t<Fn::kBoolOut, bool, T>;
        map_unary(x.data<T>(), y->data<O>(), x.numel(), fn_);
        return Status::ok();
      } else {
        return wrong_dtype(where_, "X", x.dtype(), Fn::kTypes);
      }
    });
  }

 private:
  static DType out_dtype(DType in) { return Fn::kBoolOut ? DType::kBool : in; }

  std::string where_;
  Fn fn_;
};

template <typename Fn>
Result<std::unique_ptr<OpKernel>> make_unary_kernel(const KernelInit& init, Fn fn) {
  return std::unique_ptr<OpKernel>(std::make_unique<UnaryKernel<Fn>>(init.node.describe(), fn));
}

}  // namespace kiln::elementwise
