// Helpers shared by the op families: attribute reading with validation, axes and the
// [outer, axis, inner] view, broadcasting, output preparation, dtype checks and
// dispatch, and storage <-> compute conversions. Family-private helpers stay in the
// family's folder (tensor_util.h, ew_common.h, reduce_common.h, nn_common.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "ir/graph.h"
#include "ir/sym_shape.h"
#include "kiln/half.h"
#include "kiln/status.h"
#include "kiln/tensor.h"
#include "ops/kernel.h"

namespace kiln {

// Attribute getters: a missing attribute gives the default; one of the wrong kind is an
// error naming the node and the attribute.
Result<int64_t> attr_int(const Node& node, const std::string& name, int64_t default_value);
Result<float> attr_float(const Node& node, const std::string& name, float default_value);
Result<std::string> attr_string(const Node& node, const std::string& name,
                                const std::string& default_value);
Result<std::vector<int64_t>> attr_ints(const Node& node, const std::string& name,
                                       const std::vector<int64_t>& default_value = {});
Result<std::vector<float>> attr_floats(const Node& node, const std::string& name,
                                       const std::vector<float>& default_value = {});
bool has_attr(const Node& node, const std::string& name);
// A required attribute: an error when missing.
Result<int64_t> required_attr_int(const Node& node, const std::string& name);

// Maps axis in [-rank, rank) to [0, rank); an error names the op, the axis and the rank.
Result<int64_t> normalize_axis(int64_t axis, int64_t rank, const std::string& what = "axis");
// Normalizes every axis to [0, rank), sorts them and drops duplicates; an error names
// `what` (e.g. "input 'axes'") and the offending axis.
Result<std::vector<int64_t>> normalize_axis_list(const std::vector<int64_t>& axes, int64_t rank,
                                                 const std::string& what);

// A tensor seen as [outer, axis_len, inner] around one axis.
struct AxisView {
  int64_t outer = 1;
  int64_t axis_len = 1;
  int64_t inner = 1;
};
AxisView axis_view(const Shape& shape, int64_t axis);

// Numpy-style multidirectional broadcasting of two shapes.
Result<Shape> broadcast_shapes(const Shape& a, const Shape& b);
Result<SymShape> broadcast_sym_shapes(const SymShape& a, const SymShape& b);

// Strides (in elements) of a contiguous row-major shape.
std::vector<int64_t> contiguous_strides(const Shape& shape);
// Strides of `in` when broadcast to `out` (0 along broadcast dims); in.rank() <= out.rank().
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// A rank-known shape from infer()'s input_shape(), or nullopt.
inline std::optional<SymShape> optional_shape(const SymShape* s) {
  return s ? std::optional<SymShape>(*s) : std::nullopt;
}

// Infers every output from inputs by a common rule: output 0 gets input 0's dtype and
// shape (unary elementwise ops, Identity, activations).
Status infer_same_as_input(InferContext& ctx, size_t input = 0);

// Output i with `dtype` and `shape`: the tensor the executor allocated from infer()
// when it matches, otherwise a fresh one. Kernels never write into a buffer sized for
// some other shape, whatever infer() left behind.
Result<Tensor*> prepare_output(RunContext& ctx, size_t i, DType dtype, const Shape& shape);

// The values of an integer tensor (int32/int64, any rank) as int64; an error naming
// `input` for any other dtype.
Result<std::vector<int64_t>> read_int_values(const Tensor& t, const std::string& input);

// Errors naming the input for a dtype an op does not accept.
Status unsupported_dtype(const std::string& op, const std::string& input, DType dtype);
// "input 'X' has dtype int32 (expected a float type)" when `dtype` is not a float type;
// likewise for numeric (float or integer) types.
Status expect_float_dtype(const std::string& input, DType dtype);
Status expect_numeric_dtype(const std::string& input, DType dtype);

template <typename T> struct TypeTag { using type = T; };

// Calls f(TypeTag<T>{}) with T the C++ type of `dtype`. The families are subsets so
// that a kernel instantiates only what it supports.
template <typename F>
Status dispatch_float(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat32: return f(TypeTag<float>{});
    case DType::kFloat64: return f(TypeTag<double>{});
    case DType::kFloat16: return f(TypeTag<Float16>{});
    case DType::kBFloat16: return f(TypeTag<BFloat16>{});
    default: return unsupported("dtype " + dtype_name(dtype) + " (expected a float type)");
  }
}

template <typename F>
Status dispatch_integer(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kInt8: return f(TypeTag<int8_t>{});
    case DType::kInt16: return f(TypeTag<int16_t>{});
    case DType::kInt32: return f(TypeTag<int32_t>{});
    case DType::kInt64: return f(TypeTag<int64_t>{});
    case DType::kUInt8: return f(TypeTag<uint8_t>{});
    case DType::kUInt16: return f(TypeTag<uint16_t>{});
    case DType::kUInt32: return f(TypeTag<uint32_t>{});
    case DType::kUInt64: return f(TypeTag<uint64_t>{});
    default: return unsupported("dtype " + dtype_name(dtype) + " (expected an integer type)");
  }
}

template <typename F>
Status dispatch_numeric(DType dtype, F&& f) {
  if (is_float_dtype(dtype)) return dispatch_float(dtype, f);
  return dispatch_integer(dtype, f);
}

// Every type a Tensor can hold, bool included (copies, gathers, transposes).
template <typename F>
Status dispatch_all(DType dtype, F&& f) {
  if (dtype == DType::kBool) return f(TypeTag<bool>{});
  return dispatch_numeric(dtype, f);
}

template <typename T>
constexpr bool is_half_v = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;

// Storage type <-> compute type: the 16-bit floats go through float, everything else is
// a static_cast. load_as<float>(Float16) widens; store_as<BFloat16>(double) narrows.
template <typename C, typename T>
inline C load_as(const T& v) {
  if constexpr (is_half_v<T>) return static_cast<C>(to_float(v));
  else return static_cast<C>(v);
}
template <typename T, typename C>
inline T store_as(C v) {
  if constexpr (std::is_same_v<T, Float16>) return Float16{float_to_half(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, BFloat16>) return BFloat16{float_to_bfloat16(static_cast<float>(v))};
  else return static_cast<T>(v);
}

// The type to compute in: float for 16-bit floats, the type itself otherwise.
template <typename T> struct ComputeType { using type = T; };
template <> struct ComputeType<Float16> { using type = float; };
template <> struct ComputeType<BFloat16> { using type = float; };
template <typename T> using compute_t = typename ComputeType<T>::type;

// v in its compute type.
template <typename T>
inline compute_t<T> load_compute(const T& v) {
  return load_as<compute_t<T>>(v);
}

}  // namespace kiln
