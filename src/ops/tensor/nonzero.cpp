// NonZero: the coordinates of the non-zero elements, as int64 [rank, count]. The count
// depends on the data, so the output is allocated in run().
#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

template <typename T>
bool is_nonzero(const T& v) {
  if constexpr (is_half_v<T>) return load_as<float>(v) != 0.0f;
  else return v != T{};
}

class NonZeroOp final : public OpKernel {
 public:
  Status infer(InferContext& ctx) const override {
    const SymShape* in = ctx.input_shape(0);
    // numpy treats a scalar as a 1-element vector, so its coordinates have one row.
    const Dim rows = in ? Dim(std::max<int64_t>(1, static_cast<int64_t>(in->size()))) : Dim::unknown();
    ctx.set_output(0, DType::kInt64, SymShape{rows, Dim::unknown()});
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Shape shape = x.rank() == 0 ? Shape{1} : x.shape();
    const size_t rank = shape.size();
    return dispatch_all(x.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      const T* src = x.data<T>();
      int64_t count = 0;
      for (int64_t i = 0; i < x.numel(); ++i) count += is_nonzero(src[i]) ? 1 : 0;
      KILN_RETURN_IF_ERROR(ctx.allocate_output(0, DType::kInt64, {static_cast<int64_t>(rank), count}));
      int64_t* out = ctx.output(0).data<int64_t>();
      std::vector<int64_t> coord(rank, 0);
      int64_t col = 0;
      for (int64_t i = 0; i < x.numel(); ++i) {
        if (is_nonzero(src[i])) {
          for (size_t d = 0; d < rank; ++d) out[static_cast<int64_t>(d) * count + col] = coord[d];
          ++col;
        }
        for (size_t d = rank; d-- > 0;) {
          if (++coord[d] < shape[d]) break;
          coord[d] = 0;
        }
      }
      return Status::ok();
    });
  }
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_non_zero(const KernelInit&) {
  return std::unique_ptr<OpKernel>(new NonZeroOp());
}

}  // namespace kiln
