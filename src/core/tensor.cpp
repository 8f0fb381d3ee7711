#include "kiln/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace kiln {

std::string shape_to_string(const Shape& shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

Result<int64_t> checked_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return invalid_argument("negative dim in shape " + shape_to_string(shape));
    if (d != 0 && n > INT64_MAX / d) {
      return resource_exhausted("element count of shape " + shape_to_string(shape) + " overflows");
    }
    n *= d;
  }
  return n;
}

Result<Tensor> Tensor::allocate(DType dtype, const Shape& shape) {
  const size_t elem = dtype_size(dtype);
  if (elem == 0) return unsupported("tensors of dtype " + dtype_name(dtype) + " are not supported");
  KILN_ASSIGN_OR_RETURN(int64_t n, checked_numel(shape));
  if (n > kMaxTensorBytes / static_cast<int64_t>(elem)) {
    return resource_exhausted("tensor of shape " + shape_to_string(shape) + " and dtype " +
                              dtype_name(dtype) + " exceeds kiln's 64 GiB tensor limit");
  }
  const size_t bytes = static_cast<size_t>(n) * elem;
  // Round up to the alignment so aligned_alloc's contract holds; at least one line.
  const size_t padded = ((bytes + 63) / 64) * 64 + 64;
  void* p = std::aligned_alloc(64, padded);
  if (p == nullptr) {
    return resource_exhausted("cannot allocate " + std::to_string(bytes) + " bytes for a tensor of shape " +
                              shape_to_string(shape));
  }
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  t.numel_ = n;
  t.data_ = p;
  t.storage_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  return t;
}

Result<Tensor> Tensor::zeros(DType dtype, const Shape& shape) {
  KILN_ASSIGN_OR_RETURN(Tensor t, allocate(dtype, shape));
  if (t.nbytes()) std::memset(t.raw(), 0, t.nbytes());
  return t;
}

Tensor Tensor::wrap(DType dtype, const Shape& shape, void* data, std::shared_ptr<void> keep_alive) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  Result<int64_t> n = checked_numel(shape);
  t.numel_ = n.is_ok() ? *n : 0;
  t.data_ = data;
  t.storage_ = std::move(keep_alive);
  return t;
}

Result<Tensor> Tensor::reshaped(const Shape& shape) const {
  KILN_ASSIGN_OR_RETURN(int64_t n, checked_numel(shape));
  if (n != numel_) {
    return invalid_argument("cannot reshape " + shape_to_string(shape_) + " (" + std::to_string(numel_) +
                            " elements) to " + shape_to_string(shape) + " (" + std::to_string(n) + ")");
  }
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Result<Tensor> Tensor::clone() const {
  KILN_ASSIGN_OR_RETURN(Tensor t, allocate(dtype_, shape_));
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

double Tensor::get_as_double(int64_t i) const {
  switch (dtype_) {
    case DType::kFloat32: return data<float>()[i];
    case DType::kFloat64: return data<double>()[i];
    case DType::kFloat16: return half_to_float(data<uint16_t>()[i]);
    case DType::kBFloat16: return bfloat16_to_float(data<uint16_t>()[i]);
    case DType::kInt8: return data<int8_t>()[i];
    case DType::kInt16: return data<int16_t>()[i];
    case DType::kInt32: return data<int32_t>()[i];
    case DType::kInt64: return static_cast<double>(data<int64_t>()[i]);
    case DType::kUInt8: return data<uint8_t>()[i];
    case DType::kUInt16: return data<uint16_t>()[i];
    case DType::kUInt32: return data<uint32_t>()[i];
    case DType::kUInt64: return static_cast<double>(data<uint64_t>()[i]);
    case DType::kBool: return data<bool>()[i] ? 1.0 : 0.0;
    default: return 0.0;
  }
}

int64_t Tensor::get_as_int64(int64_t i) const {
  switch (dtype_) {
    case DType::kInt64: return data<int64_t>()[i];
    case DType::kInt32: return data<int32_t>()[i];
    case DType::kUInt64: return static_cast<int64_t>(data<uint64_t>()[i]);
    default: return static_cast<int64_t>(get_as_double(i));
  }
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) v[static_cast<size_t>(i)] = get_as_int64(i);
  return v;
}

}  // namespace kiln
