// kiln::Attention, made by the fuse_attention pass from the scaled-dot-product core of
// transformer exports:
//   Y = softmax(mask(scale * Q K^T)) V, over the last axis
// Inputs: Q, K, V in one of the layouts of ops/nn/attention_geometry.h (heads first, as
// the MatMuls it replaces see them; sequence major, once fold_attention_layouts has
// removed the head Transposes; or one packed QKV tensor); optional 3: an additive float
// mask; optional 4: a bool mask applied like ONNX Where before the additive one
// (bool_mask_keeps = 1: the score stays where true and becomes mask_fill elsewhere; 0:
// the reverse). Both masks broadcast to the scores [batch..., Sq, Sk] without widening
// them. causal = 1 gives query q the keys k <= q + Sk - Sq (the bottom-right aligned
// triangle of a sliced causal-mask buffer); the others get mask_fill, exactly as the
// Where they replace, before the additive mask.
//
// The unfused graph writes and rereads the [B, H, Sq, Sk] scores five times (MatMul,
// Div, Add, Softmax, MatMul). Here each task owns one (batch, head) and a block of query
// rows, and its scores live only in a per-thread scratch of block x Sk floats while they
// are scaled, masked, exponentiated and multiplied by V. Causal rows skip the products
// with keys they cannot see. Tasks run on OpenMP threads (oneDNN's runtime too).
//
// The two products per task are math::gemm_rowmajor, not oneDNN: at 16-32-row blocks a
// oneDNN matmul primitive's fixed cost per execute makes it 1.6x slower, and per whole
// head it only ties (bench/attention_bench.cpp has the numbers). At BERT-base shapes
// (B 1, H 12, S 128, D 64) this op takes 0.36 ms against 0.55 ms for the unfused graph
// on 2 threads, at S = 512 6.5 ms against 8.9 ms.
#include <algorithm>
#include <cstring>
#include <vector>

#include "math/small_gemm.h"
#include "ops/nn/attention_geometry.h"
#include "math/vector_math.h"
#include "ops/nn/nn_ops.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

// Query rows per task: 16 x Sk floats of scores stay in L1/L2 up to Sk = 4096 (256 KiB),
// BERT-base at S = 128 gives 96 tasks per layer, and 16 rows are two full 6-row tiles of
// math::gemm_rowmajor and a 4-row one, where 32 leave a latency-bound 2-row tail: the
// products run at 96 instead of 80 GFLOP/s on one core (bench/attention_bench.cpp), and
// the op takes 0.36 instead of 0.42 ms at BERT-base shapes.
constexpr int64_t kRowBlock = 16;
// Below this many multiply-adds a parallel region costs more than it saves.
constexpr double kParallelWork = 1 << 18;

struct AttentionAttrs {
  float scale = 1.0f;
  bool causal = false;
  AttentionLayout layout;
  float mask_fill = 0.0f;
  bool bool_mask_keeps = true;
};

// What one run reads: the operands' geometry and the masks' placements.
struct RunGeometry {
  AttentionGeometry g;
  MaskPlacement add, keep;
};

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
void attend_rows(const AttentionAttrs& at, const RunGeometry& run, const Operands& op, int64_t bi, int64_t r0,
                 int64_t r1, TaskScratch& s) {
  const AttentionGeometry& g = run.g;
  const int64_t rows = r1 - r0, sk = g.sk, d = g.d, dv = g.dv;
  const int64_t offset = g.sk - g.sq;  // causal: query q sees keys k <= q + offset
  const float* q = op.q + g.q_off[bi] + r0 * g.q_ld;
  const float* k = op.k + g.k_off[bi];
  const float* v = op.v + g.v_off[bi];

  // K^T as a [D, Sk] row-major block: the scores are then a plain row-major product.
  const float* kt = k;
  int64_t kt_ld = g.k_ld;
  if (!at.layout.k_transposed) {
    if (s.kt_batch != bi) {
      for (int64_t j = 0; j < sk; ++j) {
        const float* key = k + j * g.k_ld;
        for (int64_t c = 0; c < d; ++c) s.kt[c * sk + j] = key[c];
      }
      s.kt_batch = bi;
    }
    kt = s.kt.data();
    kt_ld = sk;
  }

  // Keys any row of the block can see; products beyond them are never needed.
  const int64_t visible = at.causal ? std::min(sk, r1 + offset) : sk;
  float* scores = s.scores.data();
  math::gemm_rowmajor(rows, visible, d, q, g.q_ld, kt, kt_ld, scores, sk);

  const MaskPlacement& am = run.add;
  const MaskPlacement& bm = run.keep;
  int64_t used = visible;  // keys with a weight in some row of the block
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t row = r0 + i;
    float* x = scores + i * sk;
    const int64_t seen = at.causal ? std::min(sk, row + offset + 1) : sk;
    for (int64_t j = 0; j < seen; ++j) x[j] *= at.scale;
    if (op.bool_mask) {
      const uint8_t* m = op.bool_mask + bm.offsets[bi] + row * bm.row_stride;
      const uint8_t keep = at.bool_mask_keeps ? 1 : 0;
      for (int64_t j = 0; j < seen; ++j) x[j] = (m[j * bm.col_stride] != 0) == keep ? x[j] : at.mask_fill;
    }
    const float* add = op.add_mask ? op.add_mask + am.offsets[bi] + row * am.row_stride : nullptr;
    if (add && am.col_stride == 1) {
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
    if (add) hidden_max += am.col_stride == 1 ? math::row_max(add + seen, sk - seen) : add[0];
    if (hidden_max - std::max(seen_max, hidden_max) < -88.0f) {
      s.inv_sum[i] = 1.0f / math::exp_sub_sum(x, seen_max, x, seen);
      std::fill(x + seen, x + visible, 0.0f);
      s.row_end[i] = seen;
      continue;
    }
    for (int64_t j = seen; j < sk; ++j) x[j] = at.mask_fill + (add ? add[am.col_stride * j] : 0.0f);
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
  float* out = op.out + g.out_off[bi] + r0 * g.out_ld;
  math::gemm_rowmajor(rows, dv, used, scores, sk, v, g.v_ld, out, g.out_ld);
  for (int64_t i = 0; i < rows; ++i) {
    float* o = out + i * g.out_ld;
    const float f = s.inv_sum[i];
    for (int64_t c = 0; c < dv; ++c) o[c] *= f;
  }
}

class AttentionKernel final : public OpKernel {
 public:
  explicit AttentionKernel(const AttentionAttrs& attrs) : at_(attrs) {}

  Status infer(InferContext& ctx) const override {
    static const char* kNames[] = {"Q", "K", "V"};
    const bool packed = at_.layout.packed_heads > 0;
    const size_t operands = packed ? 1 : 3;
    for (size_t i = 0; i < operands; ++i) {
      if (!ctx.has_input(i)) return invalid_model("Attention needs inputs Q, K and V");
      if (ctx.input_dtype(i) != DType::kFloat32) {
        return unsupported_dtype("Attention", packed ? "X" : kNames[i], ctx.input_dtype(i));
      }
    }
    if (packed && (ctx.has_input(1) || ctx.has_input(2))) {
      return invalid_model("packed Attention (num_heads) reads Q, K and V from input 0 and takes no inputs 1 and 2");
    }
    if (ctx.has_input(3) && ctx.input_dtype(3) != DType::kFloat32) {
      return unsupported_dtype("Attention", "additive mask", ctx.input_dtype(3));
    }
    if (ctx.has_input(4) && ctx.input_dtype(4) != DType::kBool) {
      return unsupported_dtype("Attention", "bool mask", ctx.input_dtype(4));
    }
    const SymShape* q = ctx.input_shape(0);
    const SymShape* k = packed ? nullptr : ctx.input_shape(1);
    const SymShape* v = packed ? nullptr : ctx.input_shape(2);
    if (!q || (!packed && (!k || !v))) {
      ctx.set_output(0, DType::kFloat32, std::nullopt);
      return Status::ok();
    }
    KILN_ASSIGN_OR_RETURN(SymShape out, attention_output_shape(at_.layout, *q, k, v));
    ctx.set_output(0, DType::kFloat32, out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const bool packed = at_.layout.packed_heads > 0;
    const Tensor& q = ctx.input(0);
    const Tensor* k = packed ? nullptr : &ctx.input(1);
    const Tensor* v = packed ? nullptr : &ctx.input(2);
    const Tensor* add_mask = ctx.has_input(3) ? &ctx.input(3) : nullptr;
    const Tensor* bool_mask = ctx.has_input(4) ? &ctx.input(4) : nullptr;
    RunGeometry run;
    KILN_ASSIGN_OR_RETURN(run.g, attention_geometry(at_.layout, q, k, v));
    const AttentionGeometry& g = run.g;
    if (add_mask) {
      KILN_ASSIGN_OR_RETURN(run.add, place_attention_mask(*add_mask, "additive mask", g));
    }
    if (bool_mask) {
      KILN_ASSIGN_OR_RETURN(run.keep, place_attention_mask(*bool_mask, "bool mask", g));
    }
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
    const float* base = q.data<float>();
    const Operands op{base,
                      packed ? base : k->data<float>(),
                      packed ? base : v->data<float>(),
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
      if (!at_.layout.k_transposed && s.kt.size() < static_cast<size_t>(g.d * g.sk)) s.kt.resize(g.d * g.sk);
      s.kt_batch = -1;  // the K of an earlier run may have moved
#pragma omp for schedule(static)
      for (int64_t t = 0; t < tasks; ++t) {
        const int64_t bi = t / blocks;
        const int64_t r0 = (t % blocks) * kRowBlock;
        attend_rows(at_, run, op, bi, r0, std::min(g.sq, r0 + kRowBlock), s);
      }
    }
    return Status::ok();
  }

 private:
  AttentionAttrs at_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_attention(const KernelInit& init) {
  const Node& node = init.node;
  if (node.inputs.size() < 1 || node.inputs.size() > 5) {
    return invalid_model(node.describe() + ": Attention takes Q, K, V and up to two masks, got " +
                         std::to_string(node.inputs.size()) + " inputs");
  }
  if (!has_attr(node, "scale")) return invalid_model(node.describe() + ": Attention needs attribute 'scale'");
  AttentionAttrs at;
  KILN_ASSIGN_OR_RETURN(at.scale, attr_float(node, "scale", 1.0f));
  KILN_ASSIGN_OR_RETURN(int64_t causal, attr_int(node, "causal", 0));
  KILN_ASSIGN_OR_RETURN(int64_t k_transposed, attr_int(node, "k_transposed", 0));
  KILN_ASSIGN_OR_RETURN(int64_t seq_major, attr_int(node, "seq_major", 0));
  KILN_ASSIGN_OR_RETURN(at.layout.packed_heads, attr_int(node, "num_heads", 0));
  KILN_ASSIGN_OR_RETURN(at.mask_fill, attr_float(node, "mask_fill", 0.0f));
  KILN_ASSIGN_OR_RETURN(int64_t keeps, attr_int(node, "bool_mask_keeps", 1));
  const std::pair<const char*, int64_t> flags[] = {
      {"causal", causal}, {"k_transposed", k_transposed}, {"seq_major", seq_major}, {"bool_mask_keeps", keeps}};
  for (const auto& [name, value] : flags) {
    if (value != 0 && value != 1) {
      return invalid_model(node.describe() + ": attribute '" + name + "' must be 0 or 1, got " + std::to_string(value));
    }
  }
  if (at.layout.packed_heads < 0 || (at.layout.packed_heads > 0 && seq_major != 1)) {
    return invalid_model(node.describe() + ": num_heads (packed QKV) must be positive and needs seq_major = 1, got " +
                         std::to_string(at.layout.packed_heads));
  }
  if (seq_major == 1 && k_transposed == 1) {
    return invalid_model(node.describe() + ": a sequence-major Attention reads K as [..., Sk, H, D]: k_transposed "
                         "must be 0");
  }
  if (node.inputs.size() < 3 && at.layout.packed_heads == 0) {
    return invalid_model(node.describe() + ": Attention takes Q, K and V (or one packed input with num_heads), got " +
                         std::to_string(node.inputs.size()) + " inputs");
  }
  at.causal = causal == 1;
  at.layout.k_transposed = k_transposed == 1;
  at.layout.seq_major = seq_major == 1;
  at.bool_mask_keeps = keeps == 1;
  return std::unique_ptr<OpKernel>(std::make_unique<AttentionKernel>(at));
}

}  // namespace kiln
