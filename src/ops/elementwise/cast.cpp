// Cast (target dtype from attribute `to`) and CastLike (target dtype of input 1), between
// every pair of dtypes kiln holds: bool, the integers, float16, bfloat16, float32, float64.
// float8, 4-bit, 2-bit and string tensors are not supported; `saturate` only affects
// float8 targets and is accepted and ignored.
#include <cmath>
#include <cstring>
#include <optional>

#include "ops/elementwise/ew_common.h"
#include "ops/elementwise/factories.h"

namespace kiln::elementwise {
namespace {

// A float nearest to d whose last mantissa bit records whether rounding happened
// ("round to odd"). Rounding that float to a 16-bit float then equals rounding d
// directly, which double -> float -> half (two round-to-nearest steps) does not.
inline float round_to_odd_float(double d) {
  float f = static_cast<float>(d);
  if (!std::isfinite(f) || static_cast<double>(f) == d) return f;
  if (std::fabs(static_cast<double>(f)) > std::fabs(d)) f = std::nextafter(f, 0.0f);
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  bits |= 1u;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

template <typename D, typename S>
inline D convert(S v) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (std::is_same_v<D, bool>) {
    return load_compute(v) != 0;
  } else if constexpr (std::is_same_v<S, bool>) {
    return store_as<D>(v ? 1.0f : 0.0f);
  } else if constexpr (is_half_v<D>) {
    if constexpr (is_half_v<S> || std::is_same_v<S, float>) {
      return store_as<D>(load_compute(v));
    } else {
      return store_as<D>(round_to_odd_float(static_cast<double>(v)));
    }
  } else if constexpr (std::is_floating_point_v<D>) {
    return static_cast<D>(load_compute(v));
  } else if constexpr (std::is_floating_point_v<compute_t<S>>) {
    return float_to_int<D>(load_compute(v));
  } else {
    return static_cast<D>(v);  // integer to integer wraps (modular since C++20)
  }
}

class CastKernel final : public OpKernel {
 public:
  // `to` is the target dtype for Cast; unset for CastLike, which takes input 1's.
  CastKernel(std::string where, std::optional<DType> to) : where_(std::move(where)), to_(to) {}

  Status infer(InferContext& ctx) const override {
    KILN_RETURN_IF_ERROR(check_dtype(where_, "input", ctx.input_dtype(0), kAllTypes));
    const DType to = to_ ? *to_ : ctx.input_dtype(1);
    if (!to_) KILN_RETURN_IF_ERROR(check_dtype(where_, "target_type", to, kAllTypes));
    ctx.set_output(0, to, optional_shape(ctx.input_shape(0)));
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const DType to = to_ ? *to_ : ctx.input(1).dtype();
    KILN_RETURN_IF_ERROR(check_dtype(where_, "input", x.dtype(), kAllTypes));
    KILN_RETURN_IF_ERROR(check_dtype(where_, "target_type", to, kAllTypes));
    if (x.dtype() == to) {
      ctx.set_output(0, x);  // nothing to convert: share the buffer
      return Status::ok();
    }
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, to, x.shape()));
    return dispatch_all(x.dtype(), [&](auto src_tag) -> Status {
      using S = typename decltype(src_tag)::type;
      return dispatch_all(to, [&](auto dst_tag) -> Status {
        using D = typename decltype(dst_tag)::type;
        const S* in = x.data<S>();
        D* out = y->data<D>();
        const int64_t n = x.numel();
        if constexpr (std::is_same_v<S, Float16> && std::is_same_v<D, float>) {
          half_to_float_n(in, out, n);
        } else if constexpr (std::is_same_v<S, float> && std::is_same_v<D, Float16>) {
          float_to_half_n(in, out, n);
        } else {
          for (int64_t i = 0; i < n; ++i) out[i] = convert<D>(in[i]);
        }
        return Status::ok();
      });
    });
  }

 private:
  std::string where_;
  std::optional<DType> to_;
};

// Opset 1 spelled `to` as a type name.
std::optional<DType> dtype_from_name(const std::string& name) {
  static const std::pair<const char*, DType> kNames[] = {
      {"FLOAT", DType::kFloat32}, {"DOUBLE", DType::kFloat64}, {"FLOAT16", DType::kFloat16},
      {"BFLOAT16", DType::kBFloat16}, {"INT8", DType::kInt8}, {"INT16", DType::kInt16},
      {"INT32", DType::kInt32}, {"INT64", DType::kInt64}, {"UINT8", DType::kUInt8},
      {"UINT16", DType::kUInt16}, {"UINT32", DType::kUInt32}, {"UINT64", DType::kUInt64},
      {"BOOL", DType::kBool}, {"STRING", DType::kString}};
  for (const auto& [n, t] : kNames) {
    if (name == n) return t;
  }
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<OpKernel>> make_cast(const KernelInit& init) {
  const Attribute* attr = init.node.find_attribute("to");
  if (!attr) return invalid_model(init.node.describe() + ": required attribute 'to' is missing");
  DType to = DType::kUndefined;
  if (attr->kind == Attribute::Kind::kString) {
    std::optional<DType> t = dtype_from_name(attr->s);
    if (!t) return invalid_model(init.node.describe() + ": attribute 'to' names no type (\"" + attr->s + "\")");
    to = *t;
  } else {
    KILN_ASSIGN_OR_RETURN(int64_t t, attr_int(init.node, "to", 0));
    if (t < 0 || t > INT32_MAX || !is_known_dtype(static_cast<int32_t>(t))) {
      return invalid_model(init.node.describe() + ": attribute 'to' is not a data type (" +
                           std::to_string(t) + ")");
    }
    to = static_cast<DType>(t);
  }
  if (!type_in(to, kAllTypes)) {
    return unsupported(init.node.describe() + ": cast to " + dtype_name(to) +
                       " is not supported (kiln holds bool, integer, float16, bfloat16, "
                       "float32 and float64 tensors)");
  }
  KILN_ASSIGN_OR_RETURN(int64_t saturate, attr_int(init.node, "saturate", 1));
  (void)saturate;  // only meaningful for float8 targets, which are rejected above
  return std::unique_ptr<OpKernel>(std::make_unique<CastKernel>(init.node.describe(), to));
}

Result<std::unique_ptr<OpKernel>> make_cast_like(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t saturate, attr_int(init.node, "saturate", 1));
  (void)saturate;
  return std::unique_ptr<OpKernel>(std::make_unique<CastKernel>(init.node.describe(), std::nullopt));
}

}  // namespace kiln::elementwise
