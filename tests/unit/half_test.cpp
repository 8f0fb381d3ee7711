// float16 and bfloat16 conversions: known bit patterns, round to nearest even at every
// midpoint, and exhaustive round trips over all 65536 bit patterns.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "kiln/half.h"

namespace kiln {
namespace {

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

bool is_half_nan(uint16_t h) { return (h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0; }

// The value of a half computed from its fields in double, independently of half.cpp.
double half_value(uint16_t h) {
  const int sign = h >> 15, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  double v;
  if (exponent == 0x1F) v = mantissa ? std::numeric_limits<double>::quiet_NaN() : INFINITY;
  else if (exponent == 0) v = std::ldexp(mantissa, -24);
  else v = std::ldexp(1024 + mantissa, exponent - 25);
  return sign ? -v : v;
}

TEST(Float16, KnownValues) {
  EXPECT_EQ(float_to_half(0.0f), 0x0000);
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half(1.0f), 0x3C00);
  EXPECT_EQ(float_to_half(-2.0f), 0xC000);
  EXPECT_EQ(float_to_half(0.5f), 0x3800);
  EXPECT_EQ(float_to_half(1.0f / 3.0f), 0x3555);
  EXPECT_EQ(float_to_half(65504.0f), 0x7BFF);         // largest half
  EXPECT_EQ(float_to_half(-65504.0f), 0xFBFF);
  EXPECT_EQ(float_to_half(6.103515625e-05f), 0x0400);  // 2^-14, smallest normal
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_half(-std::ldexp(1.0f, -24)), 0x8001);
  EXPECT_EQ(float_to_half(std::ldexp(1023.0f, -24)), 0x03FF);  // largest subnormal
}

TEST(Float16, OverflowAndInfinity) {
  EXPECT_EQ(float_to_half(65519.0f), 0x7BFF);   // below the midpoint to the next binade
  EXPECT_EQ(float_to_half(65520.0f), 0x7C00);   // the midpoint: rounds (to even) to infinity
  EXPECT_EQ(float_to_half(-65520.0f), 0xFC00);
  EXPECT_EQ(float_to_half(1e10f), 0x7C00);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::max()), 0x7C00);
  EXPECT_EQ(float_to_half(INFINITY), 0x7C00);
  EXPECT_EQ(float_to_half(-INFINITY), 0xFC00);
}

TEST(Float16, Underflow) {
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);  // midpoint 0 / 2^-24: even is 0
  EXPECT_EQ(float_to_half(-std::ldexp(1.0f, -25)), 0x8000);
  EXPECT_EQ(float_to_half(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(float_to_half(std::ldexp(3.0f, -25)), 0x0002);  // midpoint 1 / 2: even is 2
  EXPECT_EQ(float_to_half(std::ldexp(5.0f, -25)), 0x0002);  // midpoint 2 / 3: even is 2
  EXPECT_EQ(float_to_half(1e-30f), 0x0000);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::denorm_min()), 0x0000);
  // Rounding up from the largest subnormal carries into the smallest normal.
  EXPECT_EQ(float_to_half(std::ldexp(2047.0f, -25)), 0x0400);
}

TEST(Float16, RoundsToNearestEven) {
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // midpoint 0x3C00 / 0x3C01
  EXPECT_EQ(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // midpoint 0x3C01 / 0x3C02
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3C01);
  EXPECT_EQ(float_to_half(2049.0f), 0x6800);  // 2048 and 2050 are neighbours
  EXPECT_EQ(float_to_half(2051.0f), 0x6802);
  EXPECT_EQ(float_to_half(1.0f - std::ldexp(1.0f, -12)), 0x3C00);  // carries into the exponent
}

TEST(Float16, NanStaysNan) {
  for (uint32_t u : {0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0x7FBFFFFFu, 0x7F802000u, 0xFFFFFFFFu}) {
    const uint16_t h = float_to_half(from_bits(u));
    EXPECT_TRUE(is_half_nan(h)) << std::hex << u << " -> " << h;
    EXPECT_EQ(static_cast<uint32_t>(h >> 15), u >> 31) << "sign of NaN " << std::hex << u;
  }
  EXPECT_TRUE(std::isnan(half_to_float(0x7E00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7C01)));
  EXPECT_TRUE(std::isnan(half_to_float(0xFFFF)));
}

TEST(Float16, ToFloatKnownValues) {
  EXPECT_EQ(half_to_float(0x3C00), 1.0f);
  EXPECT_EQ(half_to_float(0x7BFF), 65504.0f);
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(half_to_float(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(half_to_float(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(half_to_float(0x7C00), INFINITY);
  EXPECT_EQ(half_to_float(0xFC00), -INFINITY);
  EXPECT_EQ(bits_of(half_to_float(0x8000)), 0x80000000u);  // -0 keeps its sign
  EXPECT_EQ(to_float(Float16{0xC000}), -2.0f);
}

// half -> float is exact for every pattern, and float -> half gives the pattern back.
TEST(Float16, ExhaustiveRoundTrip) {
  for (uint32_t i = 0; i < 0x10000; ++i) {
    const uint16_t h = static_cast<uint16_t>(i);
    const float f = half_to_float(h);
    if (is_half_nan(h)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      ASSERT_TRUE(is_half_nan(float_to_half(f))) << std::hex << h;
      continue;
    }
    ASSERT_EQ(static_cast<double>(f), half_value(h)) << std::hex << h;
    ASSERT_EQ(float_to_half(f), h) << std::hex << h;
  }
}

// Between every two neighbouring positive halves: the exact midpoint goes to the even one,
// anything just off it to the nearer one.
TEST(Float16, ExhaustiveMidpoints) {
  for (uint16_t h = 0; h < 0x7BFF; ++h) {
    const double lo = half_value(h), hi = half_value(static_cast<uint16_t>(h + 1));
    const float mid = static_cast<float>((lo + hi) / 2);  // exact: halves have 11 bits
    ASSERT_EQ(static_cast<double>(mid), (lo + hi) / 2);
    const uint16_t even = (h & 1) ? static_cast<uint16_t>(h + 1) : h;
    ASSERT_EQ(float_to_half(mid), even) << std::hex << h;
    ASSERT_EQ(float_to_half(std::nextafter(mid, 0.0f)), h) << std::hex << h;
    ASSERT_EQ(float_to_half(std::nextafter(mid, INFINITY)), h + 1) << std::hex << h;
    ASSERT_EQ(float_to_half(-mid), even | 0x8000) << std::hex << h;
  }
}

TEST(BFloat16, KnownValues) {
  EXPECT_EQ(float_to_bfloat16(0.0f), 0x0000);
  EXPECT_EQ(float_to_bfloat16(-0.0f), 0x8000);
  EXPECT_EQ(float_to_bfloat16(1.0f), 0x3F80);
  EXPECT_EQ(float_to_bfloat16(-2.0f), 0xC000);
  EXPECT_EQ(float_to_bfloat16(3.140625f), 0x4049);
  EXPECT_EQ(float_to_bfloat16(3.14159265f), 0x4049);
  EXPECT_EQ(float_to_bfloat16(INFINITY), 0x7F80);
  EXPECT_EQ(float_to_bfloat16(-INFINITY), 0xFF80);
  EXPECT_EQ(float_to_bfloat16(std::numeric_limits<float>::max()), 0x7F80);  // rounds past the largest
  EXPECT_EQ(float_to_bfloat16(from_bits(0x7F7F7FFF)), 0x7F7F);  // just below that midpoint
  EXPECT_EQ(float_to_bfloat16(from_bits(0x00010000)), 0x0001);  // subnormals are kept
  EXPECT_EQ(bfloat16_to_float(0x3F80), 1.0f);
  EXPECT_EQ(bfloat16_to_float(0xC049), -3.140625f);
  EXPECT_EQ(to_float(BFloat16{0x7F80}), INFINITY);
}

TEST(BFloat16, RoundsToNearestEven) {
  EXPECT_EQ(float_to_bfloat16(from_bits(0x3F808000)), 0x3F80);  // midpoint 0x3F80 / 0x3F81
  EXPECT_EQ(float_to_bfloat16(from_bits(0x3F818000)), 0x3F82);  // midpoint 0x3F81 / 0x3F82
  EXPECT_EQ(float_to_bfloat16(from_bits(0x3F808001)), 0x3F81);
  EXPECT_EQ(float_to_bfloat16(from_bits(0x3F807FFF)), 0x3F80);
  EXPECT_EQ(float_to_bfloat16(from_bits(0x3FFF8000)), 0x4000);  // carries into the exponent
}

TEST(BFloat16, NanStaysNan) {
  // Signalling NaNs whose payload lies in the low bits would truncate to infinity.
  for (uint32_t u : {0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0x7F80FFFFu, 0xFF800001u, 0x7FFFFFFFu}) {
    const uint16_t b = float_to_bfloat16(from_bits(u));
    EXPECT_TRUE(std::isnan(bfloat16_to_float(b))) << std::hex << u << " -> " << b;
    EXPECT_EQ(static_cast<uint32_t>(b >> 15), u >> 31) << std::hex << u;
  }
}

TEST(BFloat16, ExhaustiveRoundTrip) {
  for (uint32_t i = 0; i < 0x10000; ++i) {
    const uint16_t b = static_cast<uint16_t>(i);
    const float f = bfloat16_to_float(b);
    ASSERT_EQ(bits_of(f), i << 16);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(bfloat16_to_float(float_to_bfloat16(f)))) << std::hex << b;
    } else {
      ASSERT_EQ(float_to_bfloat16(f), b) << std::hex << b;
    }
  }
}

TEST(HalfTypes, DTypes) {
  EXPECT_EQ(DTypeOf<Float16>::value, DType::kFloat16);
  EXPECT_EQ(DTypeOf<BFloat16>::value, DType::kBFloat16);
  EXPECT_EQ(sizeof(Float16), 2u);
  EXPECT_EQ(sizeof(BFloat16), 2u);
  EXPECT_EQ(dtype_size(DType::kFloat16), 2u);
  EXPECT_EQ(dtype_size(DType::kBFloat16), 2u);
}

}  // namespace
}  // namespace kiln
