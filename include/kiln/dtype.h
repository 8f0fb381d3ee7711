// Element types. The numbers are ONNX's TensorProto.DataType values, so a model's type
// field maps over without a table; is_known_dtype() tells a real type from a number that
// a newer ONNX may have added.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln {

enum class DType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBFloat16 = 16,
  kFloat8E4M3FN = 17,
  kFloat8E4M3FNUZ = 18,
  kFloat8E5M2 = 19,
  kFloat8E5M2FNUZ = 20,
  kUInt4 = 21,
  kInt4 = 22,
  kFloat4E2M1 = 23,
  kFloat8E8M0 = 24,
  kUInt2 = 25,
  kInt2 = 26,
};

// The last DataType this build of kiln knows the name of.
constexpr int32_t kLastKnownDType = 26;

bool is_known_dtype(int32_t onnx_type);
// Types kiln can hold in a Tensor and compute with (numeric, bool).
bool is_supported_dtype(DType t);
size_t dtype_size(DType t);  // bytes per element; 0 for unsupported types
std::string dtype_name(DType t);
std::string dtype_name_of(int32_t onnx_type);  // also names unknown numbers
bool is_float_dtype(DType t);     // float16, bfloat16, float32, float64
bool is_integer_dtype(DType t);   // signed and unsigned integers

// Maps a C++ element type to its DType at compile time.
template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::kFloat32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::kFloat64; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::kInt8; };
template <> struct DTypeOf<int16_t> { static constexpr DType value = DType::kInt16; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::kInt32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::kInt64; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::kUInt8; };
template <> struct DTypeOf<uint16_t> { static constexpr DType value = DType::kUInt16; };
template <> struct DTypeOf<uint32_t> { static constexpr DType value = DType::kUInt32; };
template <> struct DTypeOf<uint64_t> { static constexpr DType value = DType::kUInt64; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::kBool; };

}  // namespace kiln
