#include "kiln/dtype.h"

namespace kiln {

bool is_known_dtype(int32_t t) { return t > 0 && t <= kLastKnownDType; }

bool is_supported_dtype(DType t) { return dtype_size(t) != 0; }

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kFloat32: case DType::kInt32: case DType::kUInt32: return 4;
    case DType::kFloat64: case DType::kInt64: case DType::kUInt64: return 8;
    case DType::kFloat16: case DType::kBFloat16: case DType::kInt16: case DType::kUInt16: return 2;
    case DType::kInt8: case DType::kUInt8: case DType::kBool: return 1;
    default: return 0;
  }
}

std::string dtype_name(DType t) { return dtype_name_of(static_cast<int32_t>(t)); }

std::string dtype_name_of(int32_t t) {
  static const char* const kNames[] = {
      "undefined", "float32", "uint8", "int8", "uint16", "int16", "int32", "int64",
      "string", "bool", "float16", "float64", "uint32", "uint64", "complex64",
      "complex128", "bfloat16", "float8e4m3fn", "float8e4m3fnuz", "float8e5m2",
      "float8e5m2fnuz", "uint4", "int4", "float4e2m1", "float8e8m0", "uint2", "int2"};
  if (t >= 0 && t <= kLastKnownDType) return kNames[t];
  return "unknown data type " + std::to_string(t);
}

bool is_float_dtype(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16 ||
         t == DType::kBFloat16;
}

bool is_integer_dtype(DType t) {
  switch (t) {
    case DType::kInt8: case DType::kInt16: case DType::kInt32: case DType::kInt64:
    case DType::kUInt8: case DType::kUInt16: case DType::kUInt32: case DType::kUInt64:
      return true;
    default: return false;
  }
}

}  // namespace kiln
