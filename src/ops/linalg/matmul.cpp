// MatMul (numpy semantics). float32 runs on oneDNN, with constant B (weights) packed
// once per layout oneDNN picks (shared by the input shapes that pick it); other types use
// a plain reference loop.
#include <cstring>

#include "backend/cpu/matmul_primitive.h"
#include "ops/linalg/gemm_activation.h"
#include "ops/linalg/matmul_shape.h"
#include "ops/linalg/linalg_ops.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

constexpr size_t kWeightsInput = 1;

// Reference batched matmul over broadcast batch dims, accumulating in Acc.
template <typename T>
void reference_matmul(const MatmulDims& d, const T* a, const T* b, T* c) {
  using Acc = std::conditional_t<std::is_integral_v<T>, int64_t,
                                 std::conditional_t<std::is_same_v<T, double>, double, float>>;
  const size_t batch_rank = d.c.size() - 2;
  const Shape batch(d.c.begin(), d.c.begin() + batch_rank);
  const auto a_strides = broadcast_strides(Shape(d.a.begin(), d.a.begin() + batch_rank), batch);
  const auto b_strides = broadcast_strides(Shape(d.b.begin(), d.b.begin() + batch_rank), batch);
  int64_t batches = 1;
  for (int64_t x : batch) batches *= x;
  std::vector<int64_t> idx(batch_rank, 0);
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t a_off = 0, b_off = 0;
    for (size_t j = 0; j < batch_rank; ++j) {
      a_off += idx[j] * a_strides[j];
      b_off += idx[j] * b_strides[j];
    }
    const T* ab = a + a_off * d.m * d.k;
    const T* bb = b + b_off * d.k * d.n;
    T* cb = c + bi * d.m * d.n;
    for (int64_t i = 0; i < d.m; ++i) {
      for (int64_t j = 0; j < d.n; ++j) {
        Acc acc = 0;
        for (int64_t k = 0; k < d.k; ++k) {
          acc += load_as<Acc>(ab[i * d.k + k]) * load_as<Acc>(bb[k * d.n + j]);
        }
        cb[i * d.n + j] = store_as<T>(acc);
      }
    }
    for (size_t j = batch_rank; j-- > 0;) {
      if (++idx[j] < batch[j]) break;
      idx[j] = 0;
    }
  }
}

// [batch..., M, K] x [K, N] (B shared by every batch) is one [batch*M, K] x [K, N] product
// over the same contiguous memory. Two-dimensional, oneDNN packs B into its blocked layout
// and parallelizes over all rows; batched, it would run many small products instead
// (torch's seq-first attention projections have M = 1 per batch).
MatmulDims collapse_batches_into_rows(const MatmulDims& d) {
  const size_t batch_rank = d.c.size() - 2;
  if (batch_rank == 0) return d;
  int64_t rows = d.m;
  for (size_t i = 0; i < batch_rank; ++i) {
    if (d.b[i] != 1 || d.a[i] != d.c[i]) return d;  // B varies by batch, or A is broadcast
    rows *= d.c[i];
  }
  MatmulDims flat = d;
  flat.a = {rows, d.k};
  flat.b = {d.k, d.n};
  flat.c = {rows, d.n};
  flat.m = rows;
  return flat;
}

class MatMulOp : public OpKernel {
 public:
  // kiln::FusedMatMul: `with_bias` when its third input, a float32 bias [N], is added to
  // every row through oneDNN's bias argument (a MatMul + Add pair of the exporter);
  // `activation` (Relu, GELU) runs on the result as a oneDNN post-op.
  // `packed`: copies of B a plan holds already packed (KernelInit::packed_weights).
  MatMulOp(const Tensor* constant_b, bool with_bias, cpu::MatmulActivation activation,
           const std::vector<PackedWeight>& packed)
      : constant_b_(constant_b ? *constant_b : Tensor(), kWeightsInput, packed), with_bias_(with_bias),
        activation_(activation) {}

  Status infer(InferContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1)) return invalid_model("MatMul needs inputs A and B");
    if (ctx.input_dtype(0) != ctx.input_dtype(1)) {
      return invalid_argument("MatMul input dtypes differ: A is " + dtype_name(ctx.input_dtype(0)) + ", B is " +
                              dtype_name(ctx.input_dtype(1)));
    }
    const SymShape* a = ctx.input_shape(0);
    const SymShape* b = ctx.input_shape(1);
    if (!a || !b) {
      ctx.set_output(0, ctx.input_dtype(0), std::nullopt);
      return Status::ok();
    }
    KILN_ASSIGN_OR_RETURN(SymShape out, matmul_output_shape(*a, *b));
    ctx.set_output(0, ctx.input_dtype(0), out);
    return Status::ok();
  }

  const char* implementation() const override { return "onednn"; }
  std::vector<PackedWeight> packed_weights() const override { return constant_b_.packed(); }

  Status run(RunContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    Tensor& c = ctx.output(0);
    KILN_ASSIGN_OR_RETURN(MatmulDims d, matmul_dims(a.shape(), b.shape()));
    if (c.numel() == 0) return Status::ok();
    const Tensor* bias = with_bias_ ? &ctx.input(2) : nullptr;
    if (bias && (a.dtype() != DType::kFloat32 || bias->dtype() != DType::kFloat32 || bias->numel() != d.n)) {
      return invalid_argument("FusedMatMul needs float32 operands and a bias of " + std::to_string(d.n) +
                              " values, got bias " + shape_to_string(bias->shape()));
    }
    if (activation_ != cpu::MatmulActivation::kNone && a.dtype() != DType::kFloat32) {
      return invalid_argument("FusedMatMul with an activation needs float32 operands, got " + dtype_name(a.dtype()));
    }
    if (d.k == 0) {
      std::memset(c.raw(), 0, c.nbytes());
      if (bias) {
        for (int64_t i = 0; i < c.numel(); ++i) c.data<float>()[i] = bias->data<float>()[i % d.n];
      }
      if (activation_ != cpu::MatmulActivation::kNone) apply_gemm_activation(activation_, c.data<float>(), c.numel());
      return Status::ok();
    }
    if (a.dtype() == DType::kFloat32) return run_onednn(d, a, b, c, bias);
    return dispatch_numeric(a.dtype(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      reference_matmul<T>(d, a.data<T>(), b.data<T>(), c.data<T>());
      return Status::ok();
    });
  }

 private:
  Status run_onednn(const MatmulDims& dims, const Tensor& a, const Tensor& b, Tensor& c, const Tensor* bias) const {
    const MatmulDims d = collapse_batches_into_rows(dims);
    std::vector<int64_t> key = d.a;
    key.insert(key.end(), d.b.begin(), d.b.end());
    std::shared_ptr<cpu::MatmulPrimitive> prim = cache_.find(key);
    if (!prim) {
      const cpu::PackWeights pack = constant_b_.packer(cpu::plain_desc(d.b, dnnl::memory::data_type::f32));
      std::vector<int64_t> bias_dims;
      if (bias) {  // [1, ..., 1, N]: broadcast over batch and rows
        bias_dims.assign(d.c.size(), 1);
        bias_dims.back() = d.n;
      }
      KILN_ASSIGN_OR_RETURN(
          prim, cpu::MatmulPrimitive::create({d.a, {}}, {d.b, {}}, d.c, pack, 1.0f, bias_dims, activation_));
      cache_.insert(key, prim);
    }
    return prim->execute(a.data<float>(), b.data<float>(), c.data<float>(), bias ? bias->data<float>() : nullptr);
  }

  cpu::WeightPacks constant_b_;
  bool with_bias_;
  cpu::MatmulActivation activation_;
  cpu::ShapeCache<cpu::MatmulPrimitive> cache_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_matmul(const KernelInit& init) {
  const Tensor* b = init.constant_input(1);
  if (b && b->dtype() != DType::kFloat32) b = nullptr;
  const bool fused = init.node.op_type == "FusedMatMul";
  if (fused && init.node.inputs.size() != 2 && init.node.inputs.size() != 3) {
    return invalid_model(init.node.describe() + ": FusedMatMul takes A, B and an optional bias");
  }
  const bool with_bias = fused && init.node.inputs.size() == 3 && init.node.inputs[2] != kNoValue;
  cpu::MatmulActivation activation = cpu::MatmulActivation::kNone;
  if (fused) {
    KILN_ASSIGN_OR_RETURN(activation, parse_gemm_activation(init.node));
  }
  return std::unique_ptr<OpKernel>(new MatMulOp(b, with_bias, activation, init.packed_weights));
}

}  // namespace kiln
