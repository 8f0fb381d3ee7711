// Range: start, start + delta, ... up to limit (exclusive). Integers are computed exactly
// (the count in 128 bits, so limit - start cannot overflow); floats in double, like the
// reference's numpy.arange, then stored in the output dtype.
#include <cmath>

#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

const char* const kInputNames[] = {"start", "limit", "delta"};

Status check_scalar(const Tensor& t, size_t i, DType dtype) {
  if (t.numel() != 1) {
    return invalid_argument(std::string("input '") + kInputNames[i] + "' has shape " + shape_to_string(t.shape()) +
                            " (expected a scalar)");
  }
  if (t.dtype() != dtype) {
    return invalid_argument(std::string("input '") + kInputNames[i] + "' has dtype " + dtype_name(t.dtype()) +
                            " (expected " + dtype_name(dtype) + " like 'start')");
  }
  return Status::ok();
}

bool is_range_dtype(DType t) {
  switch (t) {
    case DType::kFloat32: case DType::kFloat64: case DType::kFloat16: case DType::kBFloat16:
    case DType::kInt16: case DType::kInt32: case DType::kInt64:
      return true;
    default:
      return false;
  }
}

// The element count of Range(start, limit, delta), checked.
Result<int64_t> range_count(const Tensor& start, const Tensor& limit, const Tensor& delta) {
  const DType dtype = start.dtype();
  KILN_RETURN_IF_ERROR(check_scalar(start, 0, dtype));
  KILN_RETURN_IF_ERROR(check_scalar(limit, 1, dtype));
  KILN_RETURN_IF_ERROR(check_scalar(delta, 2, dtype));
  if (!is_range_dtype(dtype)) return unsupported_dtype("Range", "start", dtype);
  __int128 n = 0;
  if (is_integer_dtype(dtype)) {
    const __int128 s = start.get_as_int64(0), l = limit.get_as_int64(0), d = delta.get_as_int64(0);
    if (d == 0) return invalid_argument("input 'delta' is 0");
    const __int128 span = l - s;
    // Ceiling division for either sign of delta.
    n = span / d + ((span % d != 0 && ((span > 0) == (d > 0))) ? 1 : 0);
  } else {
    const double s = start.get_as_double(0), l = limit.get_as_double(0), d = delta.get_as_double(0);
    if (d == 0) return invalid_argument("input 'delta' is 0");
    const double c = std::ceil((l - s) / d);
    if (!std::isfinite(c)) return invalid_argument("Range(start, limit, delta) has no finite element count");
    n = c > 1e18 ? static_cast<__int128>(1e18) : static_cast<__int128>(std::max(c, 0.0));
  }
  if (n < 0) n = 0;
  if (n > (__int128{1} << 40)) {
    return resource_exhausted("Range(start, limit, delta) would have more than 2^40 elements");
  }
  return static_cast<int64_t>(n);
}

class RangeOp final : public OpKernel {
 public:
  explicit RangeOp(bool stash_double) : stash_double_(stash_double) {}

  Status infer(InferContext& ctx) const override {
    const Tensor* s = ctx.input_value(0);
    const Tensor* l = ctx.input_value(1);
    const Tensor* d = ctx.input_value(2);
    if (s && l && d) {
      KILN_ASSIGN_OR_RETURN(int64_t n, range_count(*s, *l, *d));
      ctx.set_output(0, ctx.input_dtype(0), SymShape{Dim(n)});
    } else {
      ctx.set_output(0, ctx.input_dtype(0), SymShape{Dim::unknown()});
    }
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& start = ctx.input(0);
    const Tensor& delta = ctx.input(2);
    KILN_ASSIGN_OR_RETURN(int64_t n, range_count(start, ctx.input(1), delta));
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, start.dtype(), {n}));
    return dispatch_numeric(start.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* out = y->data<T>();
      if constexpr (std::is_integral_v<T>) {
        const int64_t s = start.get_as_int64(0), d = delta.get_as_int64(0);
        // Unsigned arithmetic wraps instead of overflowing; the values fit T by construction.
        for (int64_t i = 0; i < n; ++i) {
          out[i] = static_cast<T>(static_cast<int64_t>(static_cast<uint64_t>(s) + static_cast<uint64_t>(i) * static_cast<uint64_t>(d)));
        }
      } else if constexpr (sizeof(T) == 2) {
        // float16/bfloat16: stash_type picks float (default) or double for the arithmetic.
        const double s = start.get_as_double(0), d = delta.get_as_double(0);
        for (int64_t i = 0; i < n; ++i) {
          const double v = stash_double_ ? s + static_cast<double>(i) * d
                                         : static_cast<double>(static_cast<float>(s) + static_cast<float>(i) * static_cast<float>(d));
          out[i] = store_as<T>(static_cast<float>(v));
        }
      } else {
        const double s = start.get_as_double(0), d = delta.get_as_double(0);
        for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(s + static_cast<double>(i) * d);
      }
      return Status::ok();
    });
  }

 private:
  bool stash_double_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_range(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t stash, attr_int(init.node, "stash_type", 1));
  if (stash != static_cast<int64_t>(DType::kFloat32) && stash != static_cast<int64_t>(DType::kFloat64)) {
    return invalid_model(init.node.describe() + ": attribute 'stash_type' is " + std::to_string(stash) +
                         " (expected 1 for float or 11 for double)");
  }
  return std::unique_ptr<OpKernel>(new RangeOp(stash == static_cast<int64_t>(DType::kFloat64)));
}

}  // namespace kiln
