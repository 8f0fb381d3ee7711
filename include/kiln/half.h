// IEEE half (float16) and bfloat16 storage types with conversions to and from float.
// Kernels compute in float and store in these; no arithmetic is defined on them.
#pragma once

#include <cstdint>
#include <cstring>

#include "kiln/dtype.h"

namespace kiln {

struct Float16 {
  uint16_t bits = 0;
};
struct BFloat16 {
  uint16_t bits = 0;
};

float half_to_float(uint16_t h);
uint16_t float_to_half(float f);  // round to nearest even, overflow to infinity

inline float bfloat16_to_float(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline uint16_t float_to_bfloat16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // keep NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}

inline float to_float(Float16 h) { return half_to_float(h.bits); }
inline float to_float(BFloat16 b) { return bfloat16_to_float(b.bits); }

template <> struct DTypeOf<Float16> { static constexpr DType value = DType::kFloat16; };
template <> struct DTypeOf<BFloat16> { static constexpr DType value = DType::kBFloat16; };

}  // namespace kiln
