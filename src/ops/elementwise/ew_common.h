// Helpers shared by the elementwise family: dtype sets, float16 <-> float32 over arrays,
// and wrap-around integer arithmetic. Storage <-> compute conversions and output
// preparation are in ops/op_util.h.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#if defined(__F16C__)
#include <immintrin.h>
#endif

#include "kiln/half.h"
#include "kiln/status.h"
#include "kiln/tensor.h"
#include "ops/kernel.h"
#include "ops/op_util.h"

namespace kiln::elementwise {

// A set of dtypes as a bit mask over the ONNX type numbers (all fit in 64 bits).
using TypeSet = uint64_t;

constexpr TypeSet type_bit(DType t) { return TypeSet{1} << static_cast<int>(t); }

constexpr TypeSet kFloatTypes = type_bit(DType::kFloat32) | type_bit(DType::kFloat64) |
                                type_bit(DType::kFloat16) | type_bit(DType::kBFloat16);
constexpr TypeSet kSignedIntTypes = type_bit(DType::kInt8) | type_bit(DType::kInt16) |
                                    type_bit(DType::kInt32) | type_bit(DType::kInt64);
constexpr TypeSet kUnsignedIntTypes = type_bit(DType::kUInt8) | type_bit(DType::kUInt16) |
                                      type_bit(DType::kUInt32) | type_bit(DType::kUInt64);
constexpr TypeSet kIntTypes = kSignedIntTypes | kUnsignedIntTypes;
constexpr TypeSet kNumericTypes = kFloatTypes | kIntTypes;
constexpr TypeSet kBoolType = type_bit(DType::kBool);
constexpr TypeSet kAllTypes = kNumericTypes | kBoolType;

constexpr bool type_in(DType t, TypeSet set) {
  return static_cast<int>(t) >= 0 && static_cast<int>(t) < 64 && (set & type_bit(t)) != 0;
}
template <typename T>
constexpr bool type_in(TypeSet set) {
  return type_in(DTypeOf<T>::value, set);
}

// "float16, float32, ..." for messages.
std::string type_set_names(TypeSet set);

// An error naming the node, the input, its dtype and the accepted ones.
Status wrong_dtype(const std::string& where, const char* input, DType actual, TypeSet expected);
// Checks that `actual` is in `expected`.
inline Status check_dtype(const std::string& where, const char* input, DType actual,
                          TypeSet expected) {
  return type_in(actual, expected) ? Status::ok() : wrong_dtype(where, input, actual, expected);
}

// float16 <-> float32 over arrays, 8 at a time with F16C (x86-64-v3 has it) instead of
// a call per element. Both round to nearest even, as half.h does.
inline void half_to_float_n(const Float16* in, float* out, int64_t n) {
  int64_t i = 0;
#if defined(__F16C__)
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
  }
#endif
  for (; i < n; ++i) out[i] = to_float(in[i]);
}
inline void float_to_half_n(const float* in, Float16* out, int64_t n) {
  int64_t i = 0;
#if defined(__F16C__)
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
#endif
  for (; i < n; ++i) out[i] = Float16{float_to_half(in[i])};
}

// Signed integer arithmetic that wraps instead of being undefined on overflow (what
// numpy and ONNX Runtime produce). Floats and unsigned types pass straight through.
template <typename C>
inline C wrap_add(C a, C b) {
  if constexpr (std::is_integral_v<C> && std::is_signed_v<C>) {
    using U = std::make_unsigned_t<C>;
    return static_cast<C>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return static_cast<C>(a + b);
  }
}
template <typename C>
inline C wrap_sub(C a, C b) {
  if constexpr (std::is_integral_v<C> && std::is_signed_v<C>) {
    using U = std::make_unsigned_t<C>;
    return static_cast<C>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
  } else {
    return static_cast<C>(a - b);
  }
}
template <typename C>
inline C wrap_mul(C a, C b) {
  if constexpr (std::is_integral_v<C> && std::is_signed_v<C>) {
    using U = std::make_unsigned_t<C>;
    // uint16 * uint16 promotes to (signed) int and can overflow; widen explicitly.
    using W = std::conditional_t<(sizeof(U) < sizeof(unsigned)), unsigned, U>;
    return static_cast<C>(static_cast<U>(static_cast<W>(static_cast<U>(a)) * static_cast<W>(static_cast<U>(b))));
  } else if constexpr (std::is_integral_v<C> && sizeof(C) < sizeof(unsigned)) {
    return static_cast<C>(static_cast<unsigned>(a) * static_cast<unsigned>(b));
  } else {
    return static_cast<C>(a * b);
  }
}
template <typename C>
inline C wrap_neg(C a) {
  return wrap_sub(C(0), a);
}

// Float to integer with truncation toward zero. Out-of-range values are undefined
// behaviour in C++ (and differ across engines); here NaN gives 0, values within int64
// wrap to narrower types (as numpy does on x86: -1.0 -> uint8 255) and values beyond
// the 64-bit range saturate.
template <typename I, typename F>
inline I float_to_int(F v) {
  static_assert(std::is_floating_point_v<F> && std::is_integral_v<I>);
  if (!(v == v)) return I(0);
  if constexpr (std::is_same_v<I, uint64_t>) {
    if (v >= F(18446744073709551616.0)) return std::numeric_limits<uint64_t>::max();
    if (v >= F(0)) return static_cast<uint64_t>(v);
  }
  if (v >= F(9223372036854775808.0)) return static_cast<I>(std::numeric_limits<int64_t>::max());
  if (v < F(-9223372036854775808.0)) return static_cast<I>(std::numeric_limits<int64_t>::min());
  return static_cast<I>(static_cast<int64_t>(v));
}

}  // namespace kiln::elementwise
