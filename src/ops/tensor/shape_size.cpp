// Shape and Size: metadata of a tensor as int64 values. Their outputs feed the
// Shape->Gather->Concat->Reshape subgraphs of PyTorch exports, so infer() always gives
// the output shape, even when the input's dims are symbolic.
#include <algorithm>

#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

class ShapeOp final : public OpKernel {
 public:
  ShapeOp(int64_t start, std::optional<int64_t> end) : start_(start), end_(end) {}

  Status infer(InferContext& ctx) const override {
    const SymShape* s = ctx.input_shape(0);
    if (!s) {
      ctx.set_output(0, DType::kInt64, SymShape{Dim::unknown()});
      return Status::ok();
    }
    const auto [begin, end] = range(static_cast<int64_t>(s->size()));
    ctx.set_output(0, DType::kInt64, SymShape{Dim(end - begin)});
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const auto [begin, end] = range(static_cast<int64_t>(x.rank()));
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, DType::kInt64, {end - begin}));
    int64_t* out = y->data<int64_t>();
    for (int64_t i = begin; i < end; ++i) out[i - begin] = x.dim(static_cast<size_t>(i));
    return Status::ok();
  }

 private:
  // Opset 15's [start, end): negatives count from the back, both clamp to [0, rank].
  std::pair<int64_t, int64_t> range(int64_t rank) const {
    auto clamp = [rank](int64_t v) {
      if (v < 0) v += rank;
      return std::clamp<int64_t>(v, 0, rank);
    };
    const int64_t begin = clamp(start_);
    const int64_t end = end_ ? clamp(*end_) : rank;
    return {begin, std::max(begin, end)};
  }

  int64_t start_;
  std::optional<int64_t> end_;
};

class SizeOp final : public OpKernel {
 public:
  Status infer(InferContext& ctx) const override {
    ctx.set_output(0, DType::kInt64, SymShape{});
    return Status::ok();
  }
  Status run(RunContext& ctx) const override {
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, DType::kInt64, {}));
    y->data<int64_t>()[0] = ctx.input(0).numel();
    return Status::ok();
  }
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_shape(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t start, attr_int(init.node, "start", 0));
  std::optional<int64_t> end;
  if (has_attr(init.node, "end")) {
    KILN_ASSIGN_OR_RETURN(end, attr_int(init.node, "end", 0));
  }
  return std::unique_ptr<OpKernel>(new ShapeOp(start, end));
}

Result<std::unique_ptr<OpKernel>> make_size(const KernelInit&) {
  return std::unique_ptr<OpKernel>(new SizeOp());
}

}  // namespace kiln
