// kiln::Attention, made by the fuse_attention pass from the scaled-dot-product core of
// transformer exports:
//   Y = softmax(mask(scale * Q K^T)) V, over the last axis
// Inputs: Q [..., Sq, D]; K [..., Sk, D], or [..., D, Sk] with k_transposed = 1; V
// [..., Sk, Dv]; optional 3: an additive float mask; optional 4: a bool mask applied like
// ONNX Where before the additive one (bool_mask_keeps = 1: the score stays where true and
// becomes mask_fill elsewhere; 0: the reverse). Both masks broadcast to [..., Sq, Sk]
// without widening it. causal = 1 gives query q the keys k <= q + Sk - Sq (the bottom-
// right aligned triangle of a sliced causal-mask buffer); the others get mask_fill,
// exactly as the Where they replace, before the additive mask. The leading (batch) dims
// of Q, K and V broadcast like MatMul's.
//
// The unfused graph writes and rereads the [B, H, Sq, Sk] scores five times (MatMul,
// Div, Add, Softmax, MatMul). Here each task owns one (batch, head) and a block of query
// rows, and its scores live only in a per-thread scratch of block x Sk floats while they
// are scaled, masked, exponentiated and multiplied by V. Causal rows skip the products
// with keys they cannot see. Tasks run on OpenMP threads (oneDNN's runtime too).
//
// The two products per task are math::gemm_rowmajor, not oneDNN: at 32-row blocks a
// oneDNN matmul primitive's fixed cost per execute makes it 1.6x slower, and per whole
// head it only ties (bench/attention_bench.cpp has the numbers). At BERT-base shapes
// (B 1, H 12, S 128, D 64) this op takes 0.43 ms against 0.65 ms for the unfused graph
// on 2 threads, at S = 512 6.7 ms against 13.7 ms.
#include <algorithm>
#include <cstring>
#include <vector>

#include "math/small_gemm.h"
#include "math/vector_math.h"
#include "ops/nn/nn_ops.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

// Query rows per task: 32 x Sk floats of scores stay in L2 up to Sk = 2048 (256 KiB) and
// BERT-base at S = 128 gives 48 tasks per layer, enough to balance 16 cores.
constexpr int64_t kRowBlock = 32;
// Below this many multiply-adds a parallel region costs more than it saves.
constexpr double kParallelWork = 1 << 18;

struct AttentionAttrs {
  float scale = 1.0f;
  bool causal = false;
  bool k_transposed = false;
  float mask_fill = 0.0f;
  bool bool_mask_keeps = true;
};

// Where every (batch, head) finds its operands, and the sizes of the products.
struct Geometry {
  Shape out_shape;
  int64_t batches = 1, sq = 0, sk = 0, d = 0, dv = 0;
  std::vector<int64_t> q_off, k_off, v_off, add_off, bool_off;  // per flattened batch index
  // Strides of a mask along the query rows and the keys (0 where it broadcasts).
  int64_t add_row = 0, add_col = 0, bool_row = 0, bool_col = 0;
};

// Element offsets of `shape`'s batch part (all but the last two dims) for each index of
// the broadcast `batch` shape; `shape` may have fewer dims (numpy alignment).
std::vector<int64_t> batch_offsets(const Shape& shape, const Shape& batch) {
  const size_t rank = batch.size();
  const Shape own_batch(shape.begin(), shape.end() - 2);
  std::vector<int64_t> strides = broadcast_strides(own_batch, batch);
  const int64_t matrix = shape[shape.size() - 2] * shape[shape.size() - 1];
  for (int64_t& s : strides) s *= matrix;
  int64_t count = 1;
  for (int64_t b : batch) count *= b;
  std::vector<int64_t> offsets(static_cast<size_t>(count));
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t off = 0;
    for (size_t j = 0; j < rank; ++j) off += idx[j] * strides[j];
    offsets[static_cast<size_t>(i)] = off;
    for (size_t j = rank; j-- > 0;) {
      if (++idx[j] < batch[j]) break;
      idx[j] = 0;
    }
  }
  return offsets;
}

std::string dims_text(const Shape& s) { return shape_to_string(s); }

// Checks a mask against the scores shape and fills its offsets and strides.
Status place_mask(const Tensor& mask, const std::string& what, const Shape& scores, const Shape& batch,
                  std::vector<int64_t>& offsets, int64_t& row_stride, int64_t& col_stride) {
  const bool fits = [&] {
    if (mask.rank() > scores.size()) return false;
    const size_t lead = scores.size() - mask.rank();
    for (size_t i = 0; i < mask.rank(); ++i) {
      if (mask.dim(i) != 1 && mask.dim(i) != scores[lead + i]) return false;
    }
    return true;
  }();
  if (!fits) {
    return invalid_argument("Attention " + what + " of shape " + dims_text(mask.shape()) +
                            " does not broadcast to the scores' shape " + dims_text(scores));
  }
  Shape full(scores.size() - mask.rank(), 1);
  full.insert(full.end(), mask.shape().begin(), mask.shape().end());
  offsets = batch_offsets(full, batch);
  const std::vector<int64_t> strides = broadcast_strides(full, scores);
  row_stride = strides[strides.size() - 2];
  col_stride = strides.back();
  return Status::ok();
}

// What a thread's tasks work in, kept between runs so that execution does not allocate
// once the largest shape has been seen.
struct TaskScratch {
  std::vector<float> scores;     // kRowBlock x Sk
  std::vector<float> kt;         // D x Sk: K transposed, when K comes in [Sk, D]
  std::vector<float> inv_sum;    // per row: 1 / sum of its weights
  std::vector<int64_t> row_end;  // per row: keys up to which its weights may be nonzero
  int64_t kt_batch = -1;         // whose K is in kt (valid within one run's parallel loop)
};

TaskScratch& thread_scratch() {
  thread_local TaskScratch scratch;
  return scratch;
}

struct Operands {
  const float* q;
  const float* k;
  const float* v;
  const float* add_mask;    // null when absent
  const uint8_t* bool_mask;  // null when absent
  float* out;
};

// One task: query rows [r0, r1) of batch index `bi`, into the output's [Sq, Dv] of bi.
void attend_rows(const AttentionAttrs& at, const Geometry& g, const Operands& op, int64_t bi, int64_t r0,
                 int64_t r1, TaskScratch& s) {
  const int64_t rows = r1 - r0, sk = g.sk, d = g.d, dv = g.dv;
  const int64_t offset = g.sk - g.sq;  // causal: query q sees keys k <= q + offset
  const float* q = op.q + g.q_off[bi] + r0 * d;
  const float* k = op.k + g.k_off[bi];
  const float* v = op.v + g.v_off[bi];

  // K^T as a [D, Sk] row-major block: the scores are then a plain row-major product.
  const float* kt = k;
  if (!at.k_transposed) {
    if (s.kt_batch != bi) {
      for (int64_t j = 0; j < sk; ++j) {
        for (int64_t c = 0; c < d; ++c) s.kt[c * sk + j] = k[j * d + c];
      }
      s.kt_batch = bi;
    }
    kt = s.kt.data();
  }

  // Keys any row of the block can see; products beyond them are never needed.
  const int64_t visible = at.causal ? std::min(sk, r1 + offset) : sk;
  float* scores = s.scores.data();
  math::gemm_rowmajor(rows, visible, d, q, d, kt, sk, scores, sk);

  int64_t used = visible;  // keys with a weight in some row of the block
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t row = r0 + i;
    float* x = scores + i * sk;
    const int64_t seen = at.causal ? std::min(sk, row + offset + 1) : sk;
    for (int64_t j = 0; j < seen; ++j) x[j] *= at.scale;
    if (op.bool_mask) {
      const uint8_t* m = op.bool_mask + g.bool_off[bi] + row * g.bool_row;
      const uint8_t keep = at.bool_mask_keeps ? 1 : 0;
      for (int64_t j = 0; j < seen; ++j) x[j] = (m[j * g.bool_col] != 0) == keep ? x[j] : at.mask_fill;
    }
    const float* add = op.add_mask ? op.add_mask + g.add_off[bi] + row * g.add_row : nullptr;
    if (add && g.add_col == 1) {
      for (int64_t j = 0; j < seen; ++j) x[j] += add[j];
    } else if (add) {
      const float m0 = add[0];
      for (int64_t j = 0; j < seen; ++j) x[j] += m0;
    }
    const float seen_max = math::row_max(x, seen);
    s.row_end[i] = sk;
    if (seen == sk) {
      s.inv_sum[i] = 1.0f / math::exp_sub_sum(x, seen_max, x, sk);
      continue;
    }
    // Hidden keys score mask_fill (+ the additive mask). Their weight e^(score - max) is
    // below 1e-38 next to the max's 1 unless the visible keys are all masked off as well;
    // then they take part as in the Where graph. Skipping them also skips the exps'
    // slow denormal arithmetic.
    float hidden_max = at.mask_fill;
    if (add) hidden_max += g.add_col == 1 ? math::row_max(add + seen, sk - seen) : add[0];
    if (hidden_max - std::max(seen_max, hidden_max) < -88.0f) {
      s.inv_sum[i] = 1.0f / math::exp_sub_sum(x, seen_max, x, seen);
      std::fill(x + seen, x + visible, 0.0f);
      s.row_end[i] = seen;
      continue;
    }
    for (int64_t j = seen; j < sk; ++j) x[j] = at.mask_fill + (add ? add[g.add_col * j] : 0.0f);
    const float mx = std::max(seen_max, math::row_max(x + seen, sk - seen));
    s.inv_sum[i] = 1.0f / math::exp_sub_sum(x, mx, x, sk);
    used = sk;
  }
  // A row that weighs hidden keys makes the block read up to Sk: the others' are zeros.
  if (used > visible) {
    for (int64_t i = 0; i < rows; ++i) {
      if (s.row_end[i] < used) std::fill(scores + i * sk + visible, scores + i * sk + used, 0.0f);
    }
  }

  // Unnormalized weights times V, then one scaling per output element instead of one per
  // weight (Dv < Sk for all but short sequences).
  float* out = op.out + bi * g.sq * dv + r0 * dv;
  math::gemm_rowmajor(rows, dv, used, scores, sk, v, dv, out, dv);
  for (int64_t i = 0; i < rows; ++i) {
    float* o = out + i * dv;
    const float f = s.inv_sum[i];
    for (int64_t c = 0; c < dv; ++c) o[c] *= f;
  }
}

class AttentionKernel final : public OpKernel {
 public:
  explicit AttentionKernel(const AttentionAttrs& attrs) : at_(attrs) {}

  Status infer(InferContext& ctx) const override {
    static const char* kNames[] = {"Q", "K", "V"};
    for (size_t i = 0; i < 3; ++i) {
      if (!ctx.has_input(i)) return invalid_model("Attention needs inputs Q, K and V");
      if (ctx.input_dtype(i) != DType::kFloat32) return unsupported_dtype("Attention", kNames[i], ctx.input_dtype(i));
    }
    if (ctx.has_input(3) && ctx.input_dtype(3) != DType::kFloat32) {
      return unsupported_dtype("Attention", "additive mask", ctx.input_dtype(3));
    }
    if (ctx.has_input(4) && ctx.input_dtype(4) != DType::kBool) {
      return unsupported_dtype("Attention", "bool mask", ctx.input_dtype(4));
    }
    const SymShape* q = ctx.input_shape(0);
    const SymShape* k = ctx.input_shape(1);
    const SymShape* v = ctx.input_shape(2);
    if (!q || !k || !v) {
      ctx.set_output(0, DType::kFloat32, std::nullopt);
      return Status::ok();
    }
    if (q->size() < 3 || k->size() != q->size() || v->size() != q->size()) {
      return invalid_argument("Attention needs Q, K and V of one rank >= 3, got " + sym_shape_to_string(*q) + ", " +
                              sym_shape_to_string(*k) + ", " + sym_shape_to_string(*v));
    }
    const size_t r = q->size();
    const Dim& k_depth = at_.k_transposed ? (*k)[r - 2] : (*k)[r - 1];
    const Dim& k_len = at_.k_transposed ? (*k)[r - 1] : (*k)[r - 2];
    if (((*q)[r - 1].known() && k_depth.known() && !((*q)[r - 1] == k_depth)) ||
        (k_len.known() && (*v)[r - 2].known() && !(k_len == (*v)[r - 2]))) {
      return invalid_argument("Attention operands disagree: Q " + sym_shape_to_string(*q) + ", K " +
                              sym_shape_to_string(*k) + (at_.k_transposed ? " (transposed)" : "") + ", V " +
                              sym_shape_to_string(*v));
    }
    SymShape batch(q->begin(), q->end() - 2);
    for (const SymShape* other : {k, v}) {
      KILN_ASSIGN_OR_RETURN(batch, broadcast_sym_shapes(batch, SymShape(other->begin(), other->end() - 2)));
    }
    batch.push_back((*q)[r - 2]);
    batch.push_back((*v)[r - 1]);
    ctx.set_output(0, DType::kFloat32, batch);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& q = ctx.input(0);
    const Tensor& k = ctx.input(1);
    const Tensor& v = ctx.input(2);
    const Tensor* add_mask = ctx.has_input(3) ? &ctx.input(3) : nullptr;
    const Tensor* bool_mask = ctx.has_input(4) ? &ctx.input(4) : nullptr;
    KILN_ASSIGN_OR_RETURN(Geometry g, geometry(q, k, v, add_mask, bool_mask));
    KILN_ASSIGN_OR_RETURN(Tensor * out, prepare_output(ctx, 0, DType::kFloat32, g.out_shape));
    if (out->numel() == 0) return Status::ok();
    if (g.sk == 0) {  // softmax over no keys weighs nothing: the MatMul with V gives zeros
      std::memset(out->raw(), 0, out->nbytes());
      return Status::ok();
    }
    if (at_.causal && g.sk < g.sq) {
      return invalid_argument("causal Attention needs at least as many keys as queries, got Sq = " +
                              std::to_string(g.sq) + ", Sk = " + std::to_string(g.sk));
    }
    const Operands op{q.data<float>(),
                      k.data<float>(),
                      v.data<float>(),
                      add_mask ? add_mask->data<float>() : nullptr,
                      bool_mask ? bool_mask->data<uint8_t>() : nullptr,
                      out->data<float>()};
    const int64_t blocks = (g.sq + kRowBlock - 1) / kRowBlock;
    const int64_t tasks = g.batches * blocks;
    const double work = static_cast<double>(g.batches) * g.sq * g.sk * (g.d + g.dv);
#pragma omp parallel if (tasks > 1 && work > kParallelWork)
    {
      TaskScratch& s = thread_scratch();
      const size_t block_rows = static_cast<size_t>(std::min(kRowBlock, g.sq));
      if (s.scores.size() < block_rows * g.sk) s.scores.resize(block_rows * g.sk);
      if (s.inv_sum.size() < block_rows) s.inv_sum.resize(block_rows);
      if (s.row_end.size() < block_rows) s.row_end.resize(block_rows);
      if (!at_.k_transposed && s.kt.size() < static_cast<size_t>(g.d * g.sk)) s.kt.resize(g.d * g.sk);
      s.kt_batch = -1;  // the K of an earlier run may have moved
#pragma omp for schedule(static)
      for (int64_t t = 0; t < tasks; ++t) {
        const int64_t bi = t / blocks;
        const int64_t r0 = (t % blocks) * kRowBlock;
        attend_rows(at_, g, op, bi, r0, std::min(g.sq, r0 + kRowBlock), s);
      }
    }
    return Status::ok();
  }

 private:
  Result<Geometry> geometry(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* add_mask,
                            const Tensor* bool_mask) const {
    const size_t r = q.rank();
    if (r < 3 || k.rank() != r || v.rank() != r) {
      return invalid_argument("Attention needs Q, K and V of one rank >= 3, got " + dims_text(q.shape()) + ", " +
                              dims_text(k.shape()) + ", " + dims_text(v.shape()));
    }
    Geometry g;
    g.sq = q.dim(r - 2);
    g.d = q.dim(r - 1);
    g.sk = at_.k_transposed ? k.dim(r - 1) : k.dim(r - 2);
    g.dv = v.dim(r - 1);
    const int64_t k_depth = at_.k_transposed ? k.dim(r - 2) : k.dim(r - 1);
    if (k_depth != g.d || v.dim(r - 2) != g.sk) {
      return invalid_argument("Attention operands disagree: Q " + dims_text(q.shape()) + ", K " +
                              dims_text(k.shape()) + (at_.k_transposed ? " (transposed)" : "") + ", V " +
                              dims_text(v.shape()));
    }
    Shape batch(q.shape().begin(), q.shape().end() - 2);
    for (const Tensor* t : {&k, &v}) {
      KILN_ASSIGN_OR_RETURN(batch, broadcast_shapes(batch, Shape(t->shape().begin(), t->shape().end() - 2)));
    }
    for (int64_t b : batch) g.batches *= b;
    g.q_off = batch_offsets(q.shape(), batch);
    g.k_off = batch_offsets(k.shape(), batch);
    g.v_off = batch_offsets(v.shape(), batch);
    Shape scores = batch;
    scores.push_back(g.sq);
    scores.push_back(g.sk);
    if (add_mask) {
      KILN_RETURN_IF_ERROR(place_mask(*add_mask, "additive mask", scores, batch, g.add_off, g.add_row, g.add_col));
    }
    if (bool_mask) {
      KILN_RETURN_IF_ERROR(place_mask(*bool_mask, "bool mask", scores, batch, g.bool_off, g.bool_row, g.bool_col));
    }
    g.out_shape = batch;
    g.out_shape.push_back(g.sq);
    g.out_shape.push_back(g.dv);
    return g;
  }

  AttentionAttrs at_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_attention(const KernelInit& init) {
  const Node& node = init.node;
  if (node.inputs.size() < 3 || node.inputs.size() > 5) {
    return invalid_model(node.describe() + ": Attention takes Q, K, V and up to two masks, got " +
                         std::to_string(node.inputs.size()) + " inputs");
  }
  if (!has_attr(node, "scale")) return invalid_model(node.describe() + ": Attention needs attribute 'scale'");
  AttentionAttrs at;
  KILN_ASSIGN_OR_RETURN(at.scale, attr_float(node, "scale", 1.0f));
  KILN_ASSIGN_OR_RETURN(int64_t causal, attr_int(node, "causal", 0));
  KILN_ASSIGN_OR_RETURN(int64_t k_transposed, attr_int(node, "k_transposed", 0));
  KILN_ASSIGN_OR_RETURN(at.mask_fill, attr_float(node, "mask_fill", 0.0f));
  KILN_ASSIGN_OR_RETURN(int64_t keeps, attr_int(node, "bool_mask_keeps", 1));
  const std::pair<const char*, int64_t> flags[] = {{"causal", causal}, {"k_transposed", k_transposed},
                                                     {"bool_mask_keeps", keeps}};
  for (const auto& [name, value] : flags) {
    if (value != 0 && value != 1) {
      return invalid_model(node.describe() + ": attribute '" + name + "' must be 0 or 1, got " + std::to_string(value));
    }
  }
  at.causal = causal == 1;
  at.k_transposed = k_transposed == 1;
  at.bool_mask_keeps = keeps == 1;
  return std::unique_ptr<OpKernel>(std::make_unique<AttentionKernel>(at));
}

}  // namespace kiln
