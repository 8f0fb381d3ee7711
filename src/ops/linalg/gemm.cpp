// Gemm: Y = alpha * op(A) x op(B) + beta * C, with op() an optional transpose and C
// broadcast to [M, N]. float32 on oneDNN (transposes as strides, C as bias when it is a
// row vector and beta is 1), except one row against [N, K] weights (a classifier head at
// batch 1), which is math::gemv_rows; other float types through a reference loop.
// kiln::FusedGemm (fuse_matmul_activation) is Gemm followed by an activation, a oneDNN
// post-op when C is absent or the bias, else applied after C is added.
#include "backend/cpu/matmul_primitive.h"
#include "math/gemv.h"
#include "ops/linalg/gemm_activation.h"
#include "ops/linalg/linalg_ops.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

constexpr size_t kWeightsInput = 1;

class GemmOp : public OpKernel {
 public:
  // `packed`: copies of B a plan holds already packed (KernelInit::packed_weights).
  GemmOp(float alpha, float beta, bool trans_a, bool trans_b, const Tensor* constant_b,
         cpu::MatmulActivation activation, const std::vector<PackedWeight>& packed)
      : alpha_(alpha), beta_(beta), trans_a_(trans_a), trans_b_(trans_b),
        constant_b_(constant_b ? *constant_b : Tensor(), kWeightsInput, packed), activation_(activation) {}

  Status infer(InferContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1)) return invalid_model("Gemm needs inputs A and B");
    const DType t = ctx.input_dtype(0);
    const SymShape* a = ctx.input_shape(0);
    const SymShape* b = ctx.input_shape(1);
    if (!a || !b) {
      ctx.set_output(0, t, SymShape{Dim::unknown(), Dim::unknown()});
      return Status::ok();
    }
    if (a->size() != 2 || b->size() != 2) {
      return invalid_argument("Gemm expects 2-D A and B, got A " + sym_shape_to_string(*a) + " and B " +
                              sym_shape_to_string(*b));
    }
    const Dim m = trans_a_ ? (*a)[1] : (*a)[0];
    const Dim ka = trans_a_ ? (*a)[0] : (*a)[1];
    const Dim kb = trans_b_ ? (*b)[1] : (*b)[0];
    const Dim n = trans_b_ ? (*b)[0] : (*b)[1];
    if (ka.known() && kb.known() && ka.value != kb.value) {
      return invalid_argument("Gemm inner dims differ: op(A) is " + m.to_string() + "x" + ka.to_string() +
                              ", op(B) is " + kb.to_string() + "x" + n.to_string());
    }
    if (ctx.has_input(2) && ctx.input_shape(2) && m.known() && n.known()) {
      Result<SymShape> bc = broadcast_sym_shapes(*ctx.input_shape(2), SymShape{m, n});
      if (!bc.is_ok() || (*bc)[0].value != m.value || (*bc)[1].value != n.value) {
        return invalid_argument("Gemm input C of shape " + sym_shape_to_string(*ctx.input_shape(2)) +
                                " does not broadcast to " + m.to_string() + "x" + n.to_string());
      }
    }
    ctx.set_output(0, t, SymShape{m, n});
    return Status::ok();
  }

  const char* implementation() const override { return "onednn"; }
  std::vector<PackedWeight> packed_weights() const override { return constant_b_.packed(); }

  Status run(RunContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    Tensor& y = ctx.output(0);
    const int64_t m = y.dim(0), n = y.dim(1);
    const int64_t k = trans_a_ ? a.dim(0) : a.dim(1);
    const Tensor* c = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    if (y.numel() == 0) return Status::ok();
    const bool activate = activation_ != cpu::MatmulActivation::kNone;
    if (activate && a.dtype() != DType::kFloat32) {
      return invalid_argument("FusedGemm with an activation needs float32 operands, got " + dtype_name(a.dtype()));
    }
    if (a.dtype() == DType::kFloat32 && k > 0 && m == 1 && !trans_a_ && trans_b_ && alpha_ == 1.0f &&
        b.dtype() == DType::kFloat32 && (!c || c_is_bias(c, n))) {
      // One row against torch-layout weights [N, K]: memory-bound dot products (math/gemv.h).
      math::gemv_rows(n, k, a.data<float>(), b.data<float>(), k, c ? c->data<float>() : nullptr, y.data<float>());
      if (activate) apply_gemm_activation(activation_, y.data<float>(), y.numel());
      return Status::ok();
    }
    if (a.dtype() == DType::kFloat32 && k > 0) return run_onednn(a, b, c, y, m, k, n);
    KILN_RETURN_IF_ERROR(dispatch_float(a.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      reference(a.data<T>(), b.data<T>(), y.data<T>(), m, k, n);
      return Status::ok();
    }));
    if (c) KILN_RETURN_IF_ERROR(add_c(*c, y));
    if (activate) apply_gemm_activation(activation_, y.data<float>(), y.numel());
    return Status::ok();
  }

 private:
  // C as oneDNN bias: a row vector [N] or [1, N] with beta == 1.
  bool c_is_bias(const Tensor* c, int64_t n) const {
    if (!c || beta_ != 1.0f) return false;
    return (c->rank() == 1 && c->dim(0) == n) || (c->rank() == 2 && c->dim(0) == 1 && c->dim(1) == n);
  }

  Status run_onednn(const Tensor& a, const Tensor& b, const Tensor* c, Tensor& y, int64_t m, int64_t k,
                    int64_t n) const {
    const bool bias = c_is_bias(c, n);
    // The activation must follow C: as a post-op only when C is absent or the bias.
    const bool post_op = !c || bias;
    std::vector<int64_t> key = {m, k, n, bias ? 1 : 0};
    std::shared_ptr<cpu::MatmulPrimitive> prim = cache_.find(key);
    if (!prim) {
      // A transposed operand is the same memory read with swapped strides.
      cpu::MatmulOperand a_op{{m, k}, trans_a_ ? std::vector<int64_t>{1, m} : std::vector<int64_t>{}};
      cpu::MatmulOperand b_op{{k, n}, trans_b_ ? std::vector<int64_t>{1, k} : std::vector<int64_t>{}};
      const cpu::PackWeights pack =
          constant_b_.packer(cpu::strided_desc(b_op.dims, b_op.strides, dnnl::memory::data_type::f32));
      KILN_ASSIGN_OR_RETURN(prim, cpu::MatmulPrimitive::create(
                                      a_op, b_op, {m, n}, pack, alpha_,
                                      bias ? std::vector<int64_t>{1, n} : std::vector<int64_t>{},
                                      post_op ? activation_ : cpu::MatmulActivation::kNone));
      cache_.insert(key, prim);
    }
    KILN_RETURN_IF_ERROR(prim->execute(a.data<float>(), b.data<float>(), y.data<float>(),
                                       bias ? c->data<float>() : nullptr));
    if (c && !bias) KILN_RETURN_IF_ERROR(add_c(*c, y));
    if (!post_op) apply_gemm_activation(activation_, y.data<float>(), y.numel());
    return Status::ok();
  }

  template <typename T>
  void reference(const T* a, const T* b, T* y, int64_t m, int64_t k, int64_t n) const {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) {
          const T av = trans_a_ ? a[p * m + i] : a[i * k + p];
          const T bv = trans_b_ ? b[j * k + p] : b[p * n + j];
          acc += static_cast<double>(load_as<float>(av)) * static_cast<double>(load_as<float>(bv));
        }
        y[i * n + j] = store_as<T>(static_cast<float>(alpha_ * acc));
      }
    }
  }

  // y += beta * C, C broadcast to y's [M, N].
  Status add_c(const Tensor& c, Tensor& y) const {
    const Shape& out = y.shape();
    if (c.rank() > 2) return invalid_argument("Gemm input C must have rank <= 2, got " + shape_to_string(c.shape()));
    const auto strides = broadcast_strides(c.shape(), out);
    return dispatch_float(y.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      const T* cp = c.data<T>();
      T* yp = y.data<T>();
      for (int64_t i = 0; i < out[0]; ++i) {
        for (int64_t j = 0; j < out[1]; ++j) {
          const float cv = load_as<float>(cp[i * strides[0] + j * strides[1]]);
          yp[i * out[1] + j] = store_as<T>(load_as<float>(yp[i * out[1] + j]) + beta_ * cv);
        }
      }
      return Status::ok();
    });
  }

  float alpha_, beta_;
  bool trans_a_, trans_b_;
  cpu::WeightPacks constant_b_;
  cpu::MatmulActivation activation_;
  cpu::ShapeCache<cpu::MatmulPrimitive> cache_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_gemm(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(float alpha, attr_float(init.node, "alpha", 1.0f));
  KILN_ASSIGN_OR_RETURN(float beta, attr_float(init.node, "beta", 1.0f));
  KILN_ASSIGN_OR_RETURN(int64_t trans_a, attr_int(init.node, "transA", 0));
  KILN_ASSIGN_OR_RETURN(int64_t trans_b, attr_int(init.node, "transB", 0));
  const Tensor* b = init.constant_input(1);
  if (b && (b->dtype() != DType::kFloat32 || b->rank() != 2)) b = nullptr;
  cpu::MatmulActivation activation = cpu::MatmulActivation::kNone;
  if (init.node.op_type == "FusedGemm") {
    KILN_ASSIGN_OR_RETURN(activation, parse_gemm_activation(init.node));
  }
  return std::unique_ptr<OpKernel>(
      new GemmOp(alpha, beta, trans_a != 0, trans_b != 0, b, activation, init.packed_weights));
}

}  // namespace kiln
