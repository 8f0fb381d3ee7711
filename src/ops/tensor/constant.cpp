// Ops that make tensors from attributes: Constant, ConstantOfShape and EyeLike.
#include <cstring>

#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

class ConstantOp final : public OpKernel {
 public:
  explicit ConstantOp(Tensor value) : value_(std::move(value)) {}

  Status infer(InferContext& ctx) const override {
    ctx.set_output(0, value_.dtype(), to_sym_shape(value_.shape()));
    return Status::ok();
  }

  // A copy, not a view: the value belongs to this kernel and must survive whatever the
  // executor does with the output buffer (in-place reuse by a consumer).
  Status run(RunContext& ctx) const override {
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, value_.dtype(), value_.shape()));
    if (value_.nbytes()) std::memcpy(y->raw(), value_.raw(), value_.nbytes());
    return Status::ok();
  }

 private:
  Tensor value_;
};

class ConstantOfShapeOp final : public OpKernel {
 public:
  explicit ConstantOfShapeOp(Tensor value) : value_(std::move(value)) {}

  Status infer(InferContext& ctx) const override {
    KILN_ASSIGN_OR_RETURN(auto shape, known_int_input(ctx, 0, "input"));
    if (shape) {
      KILN_RETURN_IF_ERROR(check_shape(*shape));
      ctx.set_output(0, value_.dtype(), to_sym_shape(*shape));
      return Status::ok();
    }
    const SymShape* shape_shape = ctx.input_shape(0);
    if (shape_shape && shape_shape->size() == 1 && (*shape_shape)[0].known()) {
      ctx.set_output(0, value_.dtype(), unknown_dims(static_cast<size_t>((*shape_shape)[0].value)));
    } else {
      ctx.set_output(0, value_.dtype(), std::nullopt);
    }
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> shape, read_int_values(ctx.input(0), "input"));
    KILN_RETURN_IF_ERROR(check_shape(shape));
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, value_.dtype(), shape));
    fill_elements(y->raw(), dtype_size(value_.dtype()), y->numel(), value_.raw());
    return Status::ok();
  }

 private:
  static Status check_shape(const std::vector<int64_t>& shape) {
    for (int64_t d : shape) {
      if (d < 0) return invalid_argument("input 'input' " + ints_to_string(shape) + " has a negative dim");
    }
    return Status::ok();
  }

  Tensor value_;  // one element
};

class EyeLikeOp final : public OpKernel {
 public:
  EyeLikeOp(std::optional<DType> dtype, int64_t k) : dtype_(dtype), k_(k) {}

  Status infer(InferContext& ctx) const override {
    const SymShape* in = ctx.input_shape(0);
    if (in && in->size() != 2) {
      return invalid_argument("input 'input' has shape " + sym_shape_to_string(*in) + " (expected rank 2)");
    }
    ctx.set_output(0, dtype_.value_or(ctx.input_dtype(0)), in ? std::optional<SymShape>(*in) : unknown_dims(2));
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (x.rank() != 2) {
      return invalid_argument("input 'input' has shape " + shape_to_string(x.shape()) + " (expected rank 2)");
    }
    const DType dtype = dtype_.value_or(x.dtype());
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, dtype, x.shape()));
    if (y->nbytes()) std::memset(y->raw(), 0, y->nbytes());
    const int64_t rows = x.dim(0), cols = x.dim(1);
    if (k_ >= cols || k_ <= -rows) return Status::ok();  // no diagonal inside the matrix
    return dispatch_all(dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* out = y->data<T>();
      const T one = store_as<T>(1.0f);
      // Row i has its one at column i + k when that column exists.
      for (int64_t i = std::max<int64_t>(0, -k_); i < rows && i + k_ < cols; ++i) out[i * cols + i + k_] = one;
      return Status::ok();
    });
  }

 private:
  std::optional<DType> dtype_;
  int64_t k_;
};

Result<Tensor> constant_value(const Node& node) {
  for (const char* name : {"sparse_value", "value_string", "value_strings"}) {
    if (has_attr(node, name)) {
      return unsupported(node.describe() + ": attribute '" + name +
                         "' is not supported (kiln has no sparse or string tensors)");
    }
  }
  if (const Attribute* a = node.find_attribute("value")) {
    if (a->kind != Attribute::Kind::kTensor || !a->t.defined()) {
      return unsupported(node.describe() + ": attribute 'value' is not a tensor of a dtype kiln supports");
    }
    return a->t;
  }
  if (has_attr(node, "value_float")) {
    KILN_ASSIGN_OR_RETURN(float v, attr_float(node, "value_float", 0));
    return Tensor::scalar<float>(v);
  }
  if (has_attr(node, "value_floats")) {
    KILN_ASSIGN_OR_RETURN(std::vector<float> v, attr_floats(node, "value_floats"));
    return Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v);
  }
  if (has_attr(node, "value_int")) {
    KILN_ASSIGN_OR_RETURN(int64_t v, attr_int(node, "value_int", 0));
    return Tensor::scalar<int64_t>(v);
  }
  if (has_attr(node, "value_ints")) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> v, attr_ints(node, "value_ints"));
    return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
  return invalid_model(node.describe() +
                       ": none of the attributes value, value_float(s), value_int(s) is set (expected exactly one)");
}

}  // namespace

Result<std::unique_ptr<OpKernel>> make_constant(const KernelInit& init) {
  if (init.node.attributes.size() != 1) {
    return invalid_model(init.node.describe() + ": has " + std::to_string(init.node.attributes.size()) +
                         " attributes (expected exactly one value attribute)");
  }
  KILN_ASSIGN_OR_RETURN(Tensor value, constant_value(init.node));
  return std::unique_ptr<OpKernel>(new ConstantOp(std::move(value)));
}

Result<std::unique_ptr<OpKernel>> make_constant_of_shape(const KernelInit& init) {
  Tensor value = Tensor::scalar<float>(0.0f);
  if (const Attribute* a = init.node.find_attribute("value")) {
    if (a->kind != Attribute::Kind::kTensor || !a->t.defined() || a->t.numel() != 1) {
      return invalid_model(init.node.describe() + ": attribute 'value' must be a one-element tensor");
    }
    value = a->t;
  }
  return std::unique_ptr<OpKernel>(new ConstantOfShapeOp(std::move(value)));
}

Result<std::unique_ptr<OpKernel>> make_eye_like(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t k, attr_int(init.node, "k", 0));
  std::optional<DType> dtype;
  if (has_attr(init.node, "dtype")) {
    KILN_ASSIGN_OR_RETURN(int64_t d, attr_int(init.node, "dtype", 0));
    const DType t = static_cast<DType>(d);
    if (d < 0 || d > kLastKnownDType || !is_supported_dtype(t)) {
      return unsupported(init.node.describe() + ": attribute 'dtype' is " + dtype_name_of(static_cast<int32_t>(d)) +
                         ", which kiln does not support");
    }
    dtype = t;
  }
  return std::unique_ptr<OpKernel>(new EyeLikeOp(dtype, k));
}

}  // namespace kiln
