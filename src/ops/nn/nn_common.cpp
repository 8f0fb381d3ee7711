#include "ops/nn/nn_common.h"

#include "ops/op_util.h"

namespace kiln {

std::vector<double> tensor_to_doubles(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  Status s = dispatch_numeric(t.dtype(), [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = load_as<double>(p[i]);
    return Status::ok();
  });
  (void)s;  // callers validate dtypes first; an unexpected dtype leaves zeros
  return out;
}

namespace {

Status nc_rank_error(const std::string& shape) {
  return invalid_argument("input 'X' has shape " + shape + " (expected rank >= 2: N, C, ...)");
}

}  // namespace

Status expect_nc_rank(const SymShape* x) {
  return x && x->size() < 2 ? nc_rank_error(sym_shape_to_string(*x)) : Status::ok();
}

Status expect_nc_rank(const Shape& x) {
  return x.size() < 2 ? nc_rank_error(shape_to_string(x)) : Status::ok();
}

Status infer_nc_float(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(expect_float_dtype("X", ctx.input_dtype(0)));
  KILN_RETURN_IF_ERROR(expect_nc_rank(ctx.input_shape(0)));
  return infer_same_as_input(ctx);
}

}  // namespace kiln
