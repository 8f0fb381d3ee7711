// Helpers shared by the data-movement ops (ops/tensor): reading small integer inputs
// (shapes, axes, pads), symbolic dim products, and dtype-agnostic strided copies. Most
// of these ops only move bytes, so they dispatch on the element size, not the dtype:
// one kernel covers every dtype.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "ir/sym_shape.h"
#include "kiln/status.h"
#include "kiln/tensor.h"
#include "ops/kernel.h"
#include "ops/op_util.h"

namespace kiln {

// A one-element integer tensor (CumSum's axis, Trilu's k).
Result<int64_t> read_int_scalar(const Tensor& t, const std::string& input);
// The values of input i when known at inference time, else nullopt; an error when the
// value is known but not an integer tensor.
Result<std::optional<std::vector<int64_t>>> known_int_input(InferContext& ctx, size_t i,
                                                            const std::string& input);

// "[2, -1, 3]", for attribute and input values in messages.
std::string ints_to_string(const std::vector<int64_t>& v);
// A shape of `rank` unknown dims.
inline SymShape unknown_dims(size_t rank) { return SymShape(rank, Dim::unknown()); }

// Product of dims [begin, end): known when all are, the symbol itself when exactly one
// dim is symbolic and the rest multiply to 1, unknown otherwise.
Dim dim_product(const SymShape& s, size_t begin, size_t end);

// Copies the strided view of `src` (dims `shape`, element strides `strides`, which may be
// 0 for broadcasting or negative) into contiguous `dst`.
void copy_strided(const void* src, void* dst, size_t elem_size, const Shape& shape,
                  const std::vector<int64_t>& strides);
// dst = src permuted by `perm` (output dim i is input dim perm[i]); src is contiguous.
void transpose_bytes(const void* src, void* dst, size_t elem_size, const Shape& in_shape,
                     const std::vector<int64_t>& perm);
// Fills `count` elements of dst with the element at `value`.
void fill_elements(void* dst, size_t elem_size, int64_t count, const void* value);

// Maps an index into an axis of size `dim` to [0, dim), wrapping negatives once; false
// when it is out of range.
inline bool wrap_index(int64_t& index, int64_t dim) {
  if (index < 0) index += dim;
  return index >= 0 && index < dim;
}
// "input 'indices': index 7 is out of range for axis 1 of size 5 (expected [-5, 4])"
Status index_out_of_range(const std::string& input, int64_t index, int64_t axis, int64_t dim);

// Reads input `indices` (int32/int64), wraps negatives once and checks each against
// `dim`, the size of `axis` of the data.
Result<std::vector<int64_t>> checked_indices(const Tensor& indices, int64_t axis, int64_t dim);
// GatherElements/ScatterElements: `indices` (named `input` in errors) must have the data's
// rank and no dim larger than the data's outside `axis`.
Status check_indices_shape(const Shape& data, const Shape& indices, int64_t axis, const std::string& input);

// Calls f(i, offset) for each element i (row-major) of `shape`, where offset is the sum of
// coordinate * stride over every dim except `skip_axis` (-1: none).
template <typename F>
void for_each_element_offset(const Shape& shape, std::vector<int64_t> strides, int64_t skip_axis, F&& f) {
  const size_t n = shape.size();
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  if (total == 0) return;
  if (n == 0) {
    f(int64_t{0}, int64_t{0});
    return;
  }
  if (skip_axis >= 0) strides[static_cast<size_t>(skip_axis)] = 0;
  std::vector<int64_t> coord(n, 0);
  const int64_t inner = shape[n - 1], inner_stride = strides[n - 1];
  int64_t base = 0;
  for (int64_t i = 0; i < total;) {
    for (int64_t j = 0; j < inner; ++j) f(i++, base + j * inner_stride);
    for (size_t k = n - 1; k-- > 0;) {
      base += strides[k];
      if (++coord[k] < shape[k]) break;
      base -= strides[k] * shape[k];
      coord[k] = 0;
    }
  }
}

// Calls f(T{}) with an unsigned integer type of the element size, so byte-moving kernels
// copy whole elements with typed loads. Every kiln dtype is 1, 2, 4 or 8 bytes.
template <typename F>
Status dispatch_elem_size(size_t elem_size, F&& f) {
  switch (elem_size) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
    default: return unsupported("element size " + std::to_string(elem_size));
  }
}

}  // namespace kiln
