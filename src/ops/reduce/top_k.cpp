// TopK: the k largest (or smallest) values along an axis and their int64 indices.
// k is an attribute in TopK-1 and a 1-element int64 input from TopK-10; `largest` and
// `sorted` arrive in TopK-11. Equal values are ordered by index (lower first), so the
// result is deterministic even for sorted=0, where any order would be allowed.
#include <algorithm>
#include <numeric>

#include "ops/op_util.h"
#include "ops/reduce/reduce_ops.h"

namespace kiln {
namespace {

template <typename T>
void top_k_typed(const Tensor& in, const AxisView& v, int64_t k, bool largest, Tensor& values,
                 Tensor& indices) {
  using K = compute_t<T>;
  const T* x = in.data<T>();
  T* vals = values.defined() ? values.data<T>() : nullptr;
  int64_t* idxs = indices.defined() ? indices.data<int64_t>() : nullptr;
  std::vector<K> keys(static_cast<size_t>(v.axis_len));
  std::vector<int64_t> order(static_cast<size_t>(v.axis_len));
  auto before = [&](int64_t a, int64_t b) {
    if (keys[a] != keys[b]) return largest ? keys[a] > keys[b] : keys[a] < keys[b];
    return a < b;
  };
  for (int64_t o = 0; o < v.outer; ++o) {
    for (int64_t j = 0; j < v.inner; ++j) {
      const T* line = x + o * v.axis_len * v.inner + j;
      for (int64_t i = 0; i < v.axis_len; ++i) keys[i] = load_as<K>(line[i * v.inner]);
      std::iota(order.begin(), order.end(), int64_t{0});
      std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
      const int64_t base = o * k * v.inner + j;
      for (int64_t i = 0; i < k; ++i) {
        if (vals) vals[base + i * v.inner] = line[order[i] * v.inner];
        if (idxs) idxs[base + i * v.inner] = order[i];
      }
    }
  }
}

class TopKKernel final : public OpKernel {
 public:
  TopKKernel(int64_t axis, bool largest, int64_t attr_k) : axis_(axis), largest_(largest), attr_k_(attr_k) {}

  Status infer(InferContext& ctx) const override {
    const DType dt = ctx.input_dtype(0);
    KILN_RETURN_IF_ERROR(expect_numeric_dtype("X", dt));
    const SymShape* in = ctx.input_shape(0);
    std::optional<SymShape> out;
    if (in) {
      KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, static_cast<int64_t>(in->size()), "attribute 'axis'"));
      out = *in;
      (*out)[axis] = Dim::unknown();
      std::optional<int64_t> k = attr_k_ >= 0 ? std::optional<int64_t>(attr_k_) : std::nullopt;
      if (!k && ctx.has_input(1) && ctx.input_value(1)) {
        KILN_ASSIGN_OR_RETURN(int64_t kv, read_k(*ctx.input_value(1)));
        k = kv;
      }
      if (k) {
        if ((*in)[axis].known() && *k > (*in)[axis].value) {
          return invalid_argument("k = " + std::to_string(*k) + " exceeds the size " +
                                  std::to_string((*in)[axis].value) + " of axis " + std::to_string(axis) +
                                  " of input 'X' (shape " + sym_shape_to_string(*in) + ")");
        }
        (*out)[axis] = Dim(*k);
      }
    }
    ctx.set_output(0, dt, out);
    if (ctx.num_outputs() > 1) ctx.set_output(1, DType::kInt64, out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& in = ctx.input(0);
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, static_cast<int64_t>(in.rank()), "attribute 'axis'"));
    int64_t k = attr_k_;
    if (k < 0) {
      if (!ctx.has_input(1)) return invalid_argument("input 'K' is missing");
      KILN_ASSIGN_OR_RETURN(k, read_k(ctx.input(1)));
    }
    const AxisView v = axis_view(in.shape(), axis);
    if (k > v.axis_len) {
      return invalid_argument("k = " + std::to_string(k) + " exceeds the size " + std::to_string(v.axis_len) +
                              " of axis " + std::to_string(axis) + " of input 'X' (shape " +
                              shape_to_string(in.shape()) + ")");
    }
    Tensor none;
    Tensor& values = ctx.has_output(0) ? ctx.output(0) : none;
    Tensor& indices = ctx.num_outputs() > 1 && ctx.has_output(1) ? ctx.output(1) : none;
    if (k == 0 || v.outer * v.inner == 0) return Status::ok();
    return dispatch_numeric(in.dtype(), [&](auto tag) -> Status {
      top_k_typed<typename decltype(tag)::type>(in, v, k, largest_, values, indices);
      return Status::ok();
    });
  }

 private:
  static Result<int64_t> read_k(const Tensor& t) {
    if (t.dtype() != DType::kInt64 || t.numel() != 1) {
      return invalid_argument("input 'K' must be a 1-element int64 tensor (got " + dtype_name(t.dtype()) + " of shape " +
                              shape_to_string(t.shape()) + ")");
    }
    const int64_t k = t.data<int64_t>()[0];
    if (k < 0) return invalid_argument("input 'K' is negative (" + std::to_string(k) + ")");
    return k;
  }

  int64_t axis_;
  bool largest_;
  int64_t attr_k_;  // TopK-1's attribute; -1 when k comes from input 'K'
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_top_k(const KernelInit& init) {
  const Node& node = init.node;
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_int(node, "axis", -1));
  int64_t largest = 1;
  int64_t attr_k = -1;
  if (init.opset >= 11) {
    KILN_ASSIGN_OR_RETURN(largest, attr_int(node, "largest", 1));
  }
  if (init.opset < 10) {
    KILN_ASSIGN_OR_RETURN(attr_k, required_attr_int(node, "k"));
    if (attr_k < 0) return invalid_model(node.describe() + ": attribute 'k' is negative (" + std::to_string(attr_k) + ")");
  }
  return std::unique_ptr<OpKernel>(std::make_unique<TopKKernel>(axis, largest != 0, attr_k));
}

}  // namespace kiln
