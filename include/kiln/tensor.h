// Tensor: a dtype, a concrete shape and a reference-counted 64-byte-aligned buffer.
// Copies share the buffer (views such as Reshape cost nothing); clone() copies data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/dtype.h"
#include "kiln/half.h"
#include "kiln/status.h"

namespace kiln {

using Shape = std::vector<int64_t>;

std::string shape_to_string(const Shape& shape);  // "1x3x224x224"; "scalar" for rank 0
// Element count, or an error when a dim is negative or the product overflows.
Result<int64_t> checked_numel(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;

  // Allocates uninitialized storage. Fails on unsupported dtypes, negative dims, or a
  // size beyond kMaxTensorBytes, so a hostile shape cannot make kiln allocate terabytes.
  static Result<Tensor> allocate(DType dtype, const Shape& shape);
  static Result<Tensor> zeros(DType dtype, const Shape& shape);
  // A tensor over memory owned by someone else; `keep_alive` (may be null) is held.
  static Tensor wrap(DType dtype, const Shape& shape, void* data,
                     std::shared_ptr<void> keep_alive = nullptr);
  template <typename T>
  static Tensor from_vector(const Shape& shape, const std::vector<T>& values);
  template <typename T>
  static Tensor scalar(T value) { return from_vector<T>({}, {value}); }

  static constexpr int64_t kMaxTensorBytes = int64_t{64} << 30;  // 64 GiB

  bool defined() const { return dtype_ != DType::kUndefined; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  size_t rank() const { return shape_.size(); }
  int64_t dim(size_t i) const { return shape_[i]; }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <typename T> T* data() { return static_cast<T*>(data_); }
  template <typename T> const T* data() const { return static_cast<const T*>(data_); }

  // Same buffer, another shape with the same element count.
  Result<Tensor> reshaped(const Shape& shape) const;
  Result<Tensor> clone() const;
  // Element i converted to double / int64 (for small shape tensors, attributes, tests).
  double get_as_double(int64_t i) const;
  int64_t get_as_int64(int64_t i) const;
  // The whole tensor as int64 values (int32/int64/bool/uint8 etc.).
  std::vector<int64_t> to_int64_vector() const;

 private:
  DType dtype_ = DType::kUndefined;
  Shape shape_;
  int64_t numel_ = 0;
  void* data_ = nullptr;
  std::shared_ptr<void> storage_;
};

template <typename T>
Tensor Tensor::from_vector(const Shape& shape, const std::vector<T>& values) {
  Result<Tensor> t = allocate(DTypeOf<T>::value, shape);
  if (!t.is_ok() || t->numel() != static_cast<int64_t>(values.size())) return Tensor();
  T* out = t->template data<T>();
  for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
  return std::move(t).value();
}

}  // namespace kiln
