// Transpose, and DepthToSpace / SpaceToDepth, which are a transpose of a 6-D view of an
// NCHW tensor.
#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

class TransposeOp final : public OpKernel {
 public:
  explicit TransposeOp(std::optional<std::vector<int64_t>> perm) : perm_(std::move(perm)) {}

  Status infer(InferContext& ctx) const override {
    const SymShape* in = ctx.input_shape(0);
    if (!in) {
      ctx.set_output(0, ctx.input_dtype(0),
                     perm_ ? std::optional<SymShape>(unknown_dims(perm_->size())) : std::nullopt);
      return Status::ok();
    }
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> perm, permutation(in->size()));
    SymShape out(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) out[i] = (*in)[static_cast<size_t>(perm[i])];
    ctx.set_output(0, ctx.input_dtype(0), out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> perm, permutation(x.rank()));
    Shape out_shape(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) out_shape[i] = x.dim(static_cast<size_t>(perm[i]));
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, x.dtype(), out_shape));
    transpose_bytes(x.raw(), y->raw(), dtype_size(x.dtype()), x.shape(), perm);
    return Status::ok();
  }

 private:
  // The attribute, checked against the rank; reversed dims when absent.
  Result<std::vector<int64_t>> permutation(size_t rank) const {
    if (!perm_) {
      std::vector<int64_t> perm(rank);
      for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(rank - 1 - i);
      return perm;
    }
    if (perm_->size() != rank) {
      return invalid_argument("attribute 'perm' has " + std::to_string(perm_->size()) +
                              " entries but input 'data' has rank " + std::to_string(rank));
    }
    return *perm_;
  }

  std::optional<std::vector<int64_t>> perm_;
};

// DepthToSpace (to_space) or SpaceToDepth: both view NCHW as 6-D and transpose.
class BlockRearrangeOp final : public OpKernel {
 public:
  BlockRearrangeOp(bool to_space, int64_t blocksize, bool crd)
      : to_space_(to_space), b_(blocksize), crd_(crd) {}

  Status infer(InferContext& ctx) const override {
    const SymShape* in = ctx.input_shape(0);
    if (!in) {
      ctx.set_output(0, ctx.input_dtype(0), unknown_dims(4));
      return Status::ok();
    }
    KILN_RETURN_IF_ERROR(check(*in));
    const SymShape& s = *in;
    auto scale = [](const Dim& d, int64_t num, int64_t den) {
      return d.known() ? Dim(d.value * num / den) : Dim::unknown();
    };
    SymShape out = to_space_
                       ? SymShape{s[0], scale(s[1], 1, b_ * b_), scale(s[2], b_, 1), scale(s[3], b_, 1)}
                       : SymShape{s[0], scale(s[1], b_ * b_, 1), scale(s[2], 1, b_), scale(s[3], 1, b_)};
    ctx.set_output(0, ctx.input_dtype(0), out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    KILN_RETURN_IF_ERROR(check(to_sym_shape(x.shape())));
    const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    Shape view, out;
    std::vector<int64_t> perm;
    if (to_space_) {
      const int64_t cc = c / (b_ * b_);
      if (crd_) {
        view = {n, cc, b_, b_, h, w};
        perm = {0, 1, 4, 2, 5, 3};
      } else {
        view = {n, b_, b_, cc, h, w};
        perm = {0, 3, 4, 1, 5, 2};
      }
      out = {n, cc, h * b_, w * b_};
    } else {
      view = {n, c, h / b_, b_, w / b_, b_};
      perm = crd_ ? std::vector<int64_t>{0, 1, 3, 5, 2, 4} : std::vector<int64_t>{0, 3, 5, 1, 2, 4};
      out = {n, c * b_ * b_, h / b_, w / b_};
    }
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, x.dtype(), out));
    transpose_bytes(x.raw(), y->raw(), dtype_size(x.dtype()), view, perm);
    return Status::ok();
  }

 private:
  Status check(const SymShape& s) const {
    if (s.size() != 4) {
      return invalid_argument("input 'input' has shape " + sym_shape_to_string(s) + " (expected rank 4, NCHW)");
    }
    auto divisible = [](const Dim& d, int64_t by) { return !d.known() || d.value % by == 0; };
    if (to_space_ && !divisible(s[1], b_ * b_)) {
      return invalid_argument("input 'input': channels " + s[1].to_string() + " are not divisible by blocksize^2 " +
                              std::to_string(b_ * b_));
    }
    if (!to_space_ && (!divisible(s[2], b_) || !divisible(s[3], b_))) {
      return invalid_argument("input 'input': height and width of " + sym_shape_to_string(s) +
                              " must be divisible by blocksize " + std::to_string(b_));
    }
    return Status::ok();
  }

  bool to_space_;
  int64_t b_;
  bool crd_;
};

Result<std::unique_ptr<OpKernel>> make_block_rearrange(const KernelInit& init, bool to_space) {
  KILN_ASSIGN_OR_RETURN(int64_t blocksize, required_attr_int(init.node, "blocksize"));
  if (blocksize <= 0) {
    return invalid_model(init.node.describe() + ": attribute 'blocksize' is " + std::to_string(blocksize) +
                         " (expected > 0)");
  }
  KILN_ASSIGN_OR_RETURN(std::string mode, attr_string(init.node, "mode", "DCR"));
  if (mode != "DCR" && mode != "CRD") {
    return invalid_model(init.node.describe() + ": attribute 'mode' is '" + mode + "' (expected DCR or CRD)");
  }
  return std::unique_ptr<OpKernel>(new BlockRearrangeOp(to_space, blocksize, mode == "CRD"));
}

}  // namespace

Result<std::unique_ptr<OpKernel>> make_transpose(const KernelInit& init) {
  std::optional<std::vector<int64_t>> perm;
  if (has_attr(init.node, "perm")) {
    KILN_ASSIGN_OR_RETURN(perm, attr_ints(init.node, "perm"));
    std::vector<bool> seen(perm->size(), false);
    for (int64_t p : *perm) {
      if (p < 0 || p >= static_cast<int64_t>(perm->size()) || seen[static_cast<size_t>(p)]) {
        return invalid_model(init.node.describe() + ": attribute 'perm' " + ints_to_string(*perm) +
                             " is not a permutation of 0.." + std::to_string(perm->size() - 1));
      }
      seen[static_cast<size_t>(p)] = true;
    }
  }
  return std::unique_ptr<OpKernel>(new TransposeOp(std::move(perm)));
}

Result<std::unique_ptr<OpKernel>> make_depth_to_space(const KernelInit& init) {
  return make_block_rearrange(init, true);
}
Result<std::unique_ptr<OpKernel>> make_space_to_depth(const KernelInit& init) {
  return make_block_rearrange(init, false);
}

}  // namespace kiln
