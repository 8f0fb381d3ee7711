#include "ops/nn/nn_math.h"

#include "ops/op_util.h"

namespace kiln {

std::vector<double> tensor_to_doubles(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  Status s = dispatch_numeric(t.dtype(), [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = load_calc<double>(p[i]);
    return Status::ok();
  });
  (void)s;  // callers validate dtypes first; an unexpected dtype leaves zeros
  return out;
}

}  // namespace kiln
