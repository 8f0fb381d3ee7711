#include "ops/tensor/tensor_util.h"

#include <algorithm>

#include "ops/op_util.h"

namespace kiln {

Result<int64_t> read_int_scalar(const Tensor& t, const std::string& input) {
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> v, read_int_values(t, input));
  if (v.size() != 1) {
    return invalid_argument("input '" + input + "' has shape " + shape_to_string(t.shape()) +
                            " (expected a single value)");
  }
  return v[0];
}

Result<std::optional<std::vector<int64_t>>> known_int_input(InferContext& ctx, size_t i,
                                                            const std::string& input) {
  const Tensor* t = ctx.has_input(i) ? ctx.input_value(i) : nullptr;
  if (!t) return std::optional<std::vector<int64_t>>();
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> v, read_int_values(*t, input));
  return std::optional<std::vector<int64_t>>(std::move(v));
}

std::string ints_to_string(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

Dim dim_product(const SymShape& s, size_t begin, size_t end) {
  int64_t known = 1;
  const Dim* symbolic = nullptr;
  int unknown_count = 0;
  for (size_t i = begin; i < end && i < s.size(); ++i) {
    if (s[i].known()) {
      known *= s[i].value;
    } else {
      ++unknown_count;
      symbolic = &s[i];
    }
  }
  if (unknown_count == 0) return Dim(known);
  if (known == 0) return Dim(0);
  if (unknown_count == 1 && known == 1) return *symbolic;
  return Dim::unknown();
}

Status index_out_of_range(const std::string& input, int64_t index, int64_t axis, int64_t dim) {
  return invalid_argument("input '" + input + "': index " + std::to_string(index) +
                          " is out of range for axis " + std::to_string(axis) + " of size " +
                          std::to_string(dim) + " (expected [" + std::to_string(-dim) + ", " +
                          std::to_string(dim - 1) + "])");
}

// Reads `indices`, wraps negatives and checks each against `dim` (the size of `axis`).
Result<std::vector<int64_t>> checked_indices(const Tensor& indices, int64_t axis, int64_t dim) {
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> idx, read_int_values(indices, "indices"));
  for (int64_t& i : idx) {
    const int64_t original = i;
    if (!wrap_index(i, dim)) return index_out_of_range("indices", original, axis, dim);
  }
  return idx;
}

Status check_indices_shape(const Shape& data, const Shape& indices, int64_t axis, const std::string& input) {
  bool ok = indices.size() == data.size();
  for (size_t d = 0; ok && d < data.size(); ++d) {
    ok = static_cast<int64_t>(d) == axis || indices[d] <= data[d];
  }
  if (!ok) {
    return invalid_argument("input '" + input + "' has shape " + shape_to_string(indices) +
                            " (expected the rank of input 'data', " + shape_to_string(data) +
                            ", and no larger dims outside axis " + std::to_string(axis) + ")");
  }
  return Status::ok();
}

namespace {

template <typename T>
void copy_row(const T* src, T* dst, int64_t n, int64_t stride) {
  if (stride == 1) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(T));
  } else if (stride == 0) {
    std::fill(dst, dst + n, *src);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i * stride];
  }
}

// Walks the outer dims with an odometer and copies one innermost row at a time; the
// dims have already been simplified so rows are as long as possible.
template <typename T>
void copy_strided_typed(const T* src, T* dst, const Shape& shape, const std::vector<int64_t>& strides) {
  const size_t n = shape.size();
  const int64_t inner = shape[n - 1];
  const int64_t inner_stride = strides[n - 1];
  int64_t outer = 1;
  for (size_t k = 0; k + 1 < n; ++k) outer *= shape[k];
  std::vector<int64_t> idx(n, 0);
  int64_t off = 0;
  for (int64_t o = 0; o < outer; ++o) {
    copy_row(src + off, dst, inner, inner_stride);
    dst += inner;
    for (size_t k = n - 1; k-- > 0;) {
      off += strides[k];
      if (++idx[k] < shape[k]) break;
      off -= strides[k] * shape[k];
      idx[k] = 0;
    }
  }
}

// A transpose-like copy: the source's unit-stride dim `j` is not the output's last dim, so
// reading along output rows strides through memory. Copies 2-D tiles of (dim j, last dim)
// so both sides stay in cache; the remaining dims are walked by an odometer.
template <typename T>
void copy_tiled(const T* src, T* dst, const Shape& shape, const std::vector<int64_t>& strides, size_t j) {
  constexpr int64_t kTile = 32;
  const size_t n = shape.size();
  const std::vector<int64_t> dst_strides = contiguous_strides(shape);
  const int64_t rows = shape[j], cols = shape[n - 1];
  const int64_t src_col_stride = strides[n - 1], dst_row_stride = dst_strides[j];
  std::vector<size_t> outer_dims;
  int64_t outer = 1;
  for (size_t d = 0; d + 1 < n; ++d) {
    if (d == j) continue;
    outer_dims.push_back(d);
    outer *= shape[d];
  }
  std::vector<int64_t> idx(outer_dims.size(), 0);
  int64_t s_off = 0, d_off = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
      const int64_t r1 = std::min(r0 + kTile, rows);
      for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
        const int64_t c1 = std::min(c0 + kTile, cols);
        for (int64_t r = r0; r < r1; ++r) {
          T* drow = dst + d_off + r * dst_row_stride;
          const T* scol = src + s_off + r;
          for (int64_t c = c0; c < c1; ++c) drow[c] = scol[c * src_col_stride];
        }
      }
    }
    for (size_t k = outer_dims.size(); k-- > 0;) {
      const size_t d = outer_dims[k];
      s_off += strides[d];
      d_off += dst_strides[d];
      if (++idx[k] < shape[d]) break;
      s_off -= strides[d] * shape[d];
      d_off -= dst_strides[d] * shape[d];
      idx[k] = 0;
    }
  }
}

}  // namespace

void copy_strided(const void* src, void* dst, size_t elem_size, const Shape& shape_in,
                  const std::vector<int64_t>& strides_in) {
  // Drop size-1 dims and merge dims that are contiguous with each other in the source.
  Shape shape;
  std::vector<int64_t> strides;
  for (size_t i = 0; i < shape_in.size(); ++i) {
    if (shape_in[i] == 0) return;
    if (shape_in[i] == 1) continue;
    if (!shape.empty() && strides.back() == strides_in[i] * shape_in[i]) {
      shape.back() *= shape_in[i];
      strides.back() = strides_in[i];
    } else {
      shape.push_back(shape_in[i]);
      strides.push_back(strides_in[i]);
    }
  }
  if (shape.empty()) {
    shape.push_back(1);
    strides.push_back(1);
  }
  // The unit-stride source dim, when it is not the last output dim and both it and the
  // last dim are long enough for tiling to pay.
  const size_t n = shape.size();
  size_t unit_dim = n;
  if (strides[n - 1] != 1 && strides[n - 1] != 0 && shape[n - 1] >= 8) {
    for (size_t d = 0; d + 1 < n; ++d) {
      if (strides[d] == 1 && shape[d] >= 8) unit_dim = d;
    }
  }
  (void)dispatch_elem_size(elem_size, [&](auto tag) {
    using T = decltype(tag);
    if (unit_dim < n) {
      copy_tiled(static_cast<const T*>(src), static_cast<T*>(dst), shape, strides, unit_dim);
    } else {
      copy_strided_typed(static_cast<const T*>(src), static_cast<T*>(dst), shape, strides);
    }
    return Status::ok();
  });
}

void transpose_bytes(const void* src, void* dst, size_t elem_size, const Shape& in_shape,
                     const std::vector<int64_t>& perm) {
  const std::vector<int64_t> in_strides = contiguous_strides(in_shape);
  Shape out_shape(perm.size());
  std::vector<int64_t> strides(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    out_shape[i] = in_shape[static_cast<size_t>(perm[i])];
    strides[i] = in_strides[static_cast<size_t>(perm[i])];
  }
  copy_strided(src, dst, elem_size, out_shape, strides);
}

void fill_elements(void* dst, size_t elem_size, int64_t count, const void* value) {
  (void)dispatch_elem_size(elem_size, [&](auto tag) {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, value, sizeof(T));
    std::fill(static_cast<T*>(dst), static_cast<T*>(dst) + count, v);
    return Status::ok();
  });
}

}  // namespace kiln
