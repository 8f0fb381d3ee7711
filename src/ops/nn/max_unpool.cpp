// MaxUnpool: scatters X into zeros at the flat positions I (MaxPool's Indices output).
// The positions index the unpooled shape (in - 1) * stride + kernel - pads; an explicit
// output_shape pads that result with zeros at the end of each dim, as the reference does.
#include <cstring>

#include "ops/nn/nn_ops.h"
#include "ops/nn/pool_geometry.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

class MaxUnpoolKernel final : public OpKernel {
 public:
  explicit MaxUnpoolKernel(PoolAttrs attrs) : attrs_(std::move(attrs)) {}

  Status infer(InferContext& ctx) const override {
    const DType dt = ctx.input_dtype(0);
    KILN_RETURN_IF_ERROR(expect_float_dtype("X", dt));
    if (ctx.has_input(2)) {
      const Tensor* shape = ctx.input_value(2);
      if (!shape) {
        const SymShape* s = ctx.input_shape(2);
        ctx.set_output(0, dt, s && s->size() == 1 && (*s)[0].known() ? std::optional<SymShape>(SymShape((*s)[0].value, Dim::unknown())) : std::nullopt);
        return Status::ok();
      }
      SymShape out;
      for (int64_t d : shape->to_int64_vector()) out.push_back(Dim(d));
      ctx.set_output(0, dt, out);
      return Status::ok();
    }
    const SymShape* in = ctx.input_shape(0);
    if (!in) {
      ctx.set_output(0, dt, std::nullopt);
      return Status::ok();
    }
    KILN_ASSIGN_OR_RETURN(SymShape out, unpooled_shape(*in));
    ctx.set_output(0, dt, out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& idx = ctx.input(1);
    KILN_ASSIGN_OR_RETURN(SymShape natural_sym, unpooled_shape(to_sym_shape(x.shape())));
    const Shape natural = to_concrete(natural_sym);
    if (idx.dtype() != DType::kInt64 || idx.shape() != x.shape()) {
      return invalid_argument("input 'I' has dtype " + dtype_name(idx.dtype()) + " and shape " +
                              shape_to_string(idx.shape()) + " (expected int64 of X's shape " +
                              shape_to_string(x.shape()) + ")");
    }
    Tensor& y = ctx.output(0);
    if (y.rank() != natural.size()) {
      return invalid_argument("input 'output_shape' has rank " + std::to_string(y.rank()) + " (expected " +
                              std::to_string(natural.size()) + ")");
    }
    for (size_t i = 0; i < natural.size(); ++i) {
      if (y.dim(i) < natural[i]) {
        return invalid_argument("input 'output_shape' " + shape_to_string(y.shape()) + " is smaller than the unpooled shape " +
                                shape_to_string(natural));
      }
    }
    std::memset(y.raw(), 0, y.nbytes());
    KILN_ASSIGN_OR_RETURN(int64_t natural_n, checked_numel(natural));
    // Flat index in the natural shape -> flat index in y (same unless output_shape pads).
    const std::vector<int64_t> nat_strides = contiguous_strides(natural);
    const std::vector<int64_t> y_strides = contiguous_strides(y.shape());
    const int64_t* ip = idx.data<int64_t>();
    return dispatch_float(x.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      const T* xs = x.data<T>();
      T* ys = y.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i) {
        int64_t flat = ip[i];
        if (flat < 0 || flat >= natural_n) {
          return invalid_argument("input 'I' holds index " + std::to_string(flat) + ", outside the unpooled shape " +
                                  shape_to_string(natural));
        }
        int64_t off = 0;
        for (size_t d = 0; d < natural.size(); ++d) {
          off += (flat / nat_strides[d]) * y_strides[d];
          flat %= nat_strides[d];
        }
        ys[off] = xs[i];
      }
      return Status::ok();
    });
  }

 private:
  Result<SymShape> unpooled_shape(const SymShape& in) const {
    const size_t sr = attrs_.spatial_rank();
    if (in.size() != sr + 2) {
      return invalid_argument("input 'X' has shape " + sym_shape_to_string(in) + " (expected rank " +
                              std::to_string(sr + 2) + ")");
    }
    SymShape out = in;
    for (size_t i = 0; i < sr; ++i) {
      if (!in[i + 2].known()) continue;
      const int64_t d = (in[i + 2].value - 1) * attrs_.strides[i] + attrs_.kernel[i] - attrs_.pads[i] - attrs_.pads[i + sr];
      if (d < 0) return invalid_argument("the unpooled size of spatial dim " + std::to_string(i) + " is negative");
      out[i + 2] = Dim(d);
    }
    return out;
  }

  PoolAttrs attrs_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_max_unpool(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(PoolAttrs attrs, parse_pool_attrs(init.node, false, false));
  return std::unique_ptr<OpKernel>(std::make_unique<MaxUnpoolKernel>(std::move(attrs)));
}

}  // namespace kiln
