// Split: cuts a tensor into pieces along one axis. The sizes come from the `split`
// attribute (opsets 1-12), the `split` input (opset 1 and 13+), or are equal parts of the
// axis (the last one smaller when it does not divide; opset 18 names the count
// `num_outputs`).
#include <cstring>

#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

class SplitOp final : public OpKernel {
 public:
  SplitOp(int64_t axis, std::optional<std::vector<int64_t>> attr_split, bool split_input,
          std::optional<int64_t> num_outputs)
      : axis_(axis), attr_split_(std::move(attr_split)), split_input_(split_input), num_outputs_(num_outputs) {}

  Status infer(InferContext& ctx) const override {
    const size_t n = ctx.num_outputs();
    const SymShape* in = ctx.input_shape(0);
    const DType dtype = ctx.input_dtype(0);
    std::optional<std::vector<int64_t>> sizes = attr_split_;
    bool sizes_unknown = false;
    if (split_input_ && ctx.has_input(1)) {
      KILN_ASSIGN_OR_RETURN(sizes, known_int_input(ctx, 1, "split"));
      sizes_unknown = !sizes;
    }
    if (!in) {
      for (size_t i = 0; i < n; ++i) ctx.set_output(i, dtype, std::nullopt);
      return Status::ok();
    }
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, static_cast<int64_t>(in->size()), "attribute 'axis'"));
    const Dim& axis_dim = (*in)[static_cast<size_t>(axis)];
    if (!sizes && !sizes_unknown && axis_dim.known()) {
      KILN_ASSIGN_OR_RETURN(sizes, equal_parts(axis_dim.value, n));
    }
    if (sizes) KILN_RETURN_IF_ERROR(check_sizes(*sizes, n, axis_dim));
    for (size_t i = 0; i < n; ++i) {
      SymShape out = *in;
      out[static_cast<size_t>(axis)] = sizes ? Dim((*sizes)[i]) : Dim::unknown();
      ctx.set_output(i, dtype, out);
    }
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const size_t n = ctx.num_outputs();
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, static_cast<int64_t>(x.rank()), "attribute 'axis'"));
    const size_t a = static_cast<size_t>(axis);
    std::vector<int64_t> sizes;
    if (split_input_ && ctx.has_input(1)) {
      KILN_ASSIGN_OR_RETURN(sizes, read_int_values(ctx.input(1), "split"));
    } else if (attr_split_) {
      sizes = *attr_split_;
    } else {
      KILN_ASSIGN_OR_RETURN(sizes, equal_parts(x.dim(a), n));
    }
    KILN_RETURN_IF_ERROR(check_sizes(sizes, n, Dim(x.dim(a))));
    const size_t elem = dtype_size(x.dtype());
    const auto [outer, axis_len, inner] = axis_view(x.shape(), static_cast<int64_t>(a));
    const size_t in_row = static_cast<size_t>(axis_len * inner) * elem;
    const char* src = static_cast<const char*>(x.raw());
    size_t col = 0;
    for (size_t i = 0; i < n; ++i) {
      const size_t block = static_cast<size_t>(sizes[i] * inner) * elem;
      if (ctx.has_output(i)) {
        Shape out_shape = x.shape();
        out_shape[a] = sizes[i];
        KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, i, x.dtype(), out_shape));
        char* dst = static_cast<char*>(y->raw());
        for (int64_t o = 0; o < outer && block; ++o) {
          std::memcpy(dst + static_cast<size_t>(o) * block, src + static_cast<size_t>(o) * in_row + col, block);
        }
      }
      col += block;
    }
    return Status::ok();
  }

 private:
  Result<std::vector<int64_t>> equal_parts(int64_t dim, size_t n) const {
    if (num_outputs_ && static_cast<size_t>(*num_outputs_) != n) {
      return invalid_argument("attribute 'num_outputs' is " + std::to_string(*num_outputs_) + " but the node has " +
                              std::to_string(n) + " outputs");
    }
    if (n == 0) return invalid_argument("Split has no outputs");
    const int64_t parts = static_cast<int64_t>(n);
    const int64_t chunk = dim / parts + (dim % parts ? 1 : 0);
    std::vector<int64_t> sizes(n, chunk);
    sizes.back() = dim - chunk * (parts - 1);
    if (sizes.back() < 0) {
      return invalid_argument("input 'input': axis of size " + std::to_string(dim) + " cannot be split into " +
                              std::to_string(n) + " parts");
    }
    return sizes;
  }

  static Status check_sizes(const std::vector<int64_t>& sizes, size_t n, const Dim& axis_dim) {
    if (sizes.size() != n) {
      return invalid_argument("'split' has " + std::to_string(sizes.size()) + " sizes but the node has " +
                              std::to_string(n) + " outputs");
    }
    int64_t sum = 0;
    for (int64_t s : sizes) {
      if (s < 0) return invalid_argument("'split' " + ints_to_string(sizes) + " has a negative size");
      sum += s;
    }
    if (axis_dim.known() && sum != axis_dim.value) {
      return invalid_argument("'split' " + ints_to_string(sizes) + " sums to " + std::to_string(sum) +
                              " but the split axis has size " + std::to_string(axis_dim.value));
    }
    return Status::ok();
  }

  int64_t axis_;
  std::optional<std::vector<int64_t>> attr_split_;
  bool split_input_;
  std::optional<int64_t> num_outputs_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_split(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_int(init.node, "axis", 0));
  std::optional<std::vector<int64_t>> attr_split;
  if (init.opset < 13 && has_attr(init.node, "split")) {
    KILN_ASSIGN_OR_RETURN(attr_split, attr_ints(init.node, "split"));
  }
  std::optional<int64_t> num_outputs;
  if (init.opset >= 18 && has_attr(init.node, "num_outputs")) {
    KILN_ASSIGN_OR_RETURN(num_outputs, attr_int(init.node, "num_outputs", 0));
    if (*num_outputs != static_cast<int64_t>(init.node.outputs.size())) {
      return invalid_model(init.node.describe() + ": attribute 'num_outputs' is " + std::to_string(*num_outputs) +
                           " but the node has " + std::to_string(init.node.outputs.size()) + " outputs");
    }
  }
  // Split-1 takes the sizes as an optional input too; 2..12 only as the attribute.
  const bool split_input = init.opset >= 13 || init.opset < 2;
  return std::unique_ptr<OpKernel>(new SplitOp(axis, std::move(attr_split), split_input, num_outputs));
}

}  // namespace kiln
