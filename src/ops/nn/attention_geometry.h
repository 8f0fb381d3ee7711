// Where kiln::Attention finds each (batch, head)'s Q, K and V rows and writes its output,
// for the three ways its operands can be laid out (ops/nn/attention.cpp has the op):
//
//   heads first (default): Q [..., Sq, D], K [..., Sk, D] or [..., D, Sk] (k_transposed),
//     V [..., Sk, Dv]; Y [..., Sq, Dv]. The leading dims broadcast like MatMul's.
//   sequence major (seq_major = 1): Q [..., Sq, H, D], K [..., Sk, H, D], V [..., Sk, H, Dv];
//     Y [..., Sq, H, Dv]. This is the [batch, sequence, hidden] layout the projections
//     produce and the output projection reads, so the head Transposes around the op go.
//   packed (seq_major = 1, num_heads = H, only input 0): X [..., S, 3 * H * D] holds Q, K
//     and V side by side, as one fused projection writes them; Y [..., S, H, D].
//
// Every layout is read through row strides, so none of them is copied.
#pragma once

#include <optional>
#include <vector>

#include "ir/sym_shape.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln {

struct AttentionLayout {
  bool k_transposed = false;
  bool seq_major = false;
  int64_t packed_heads = 0;  // > 0: packed QKV with this many heads
};

struct AttentionGeometry {
  Shape out_shape;
  Shape batch;  // the logical batch dims of the scores: [..., H] when sequence major
  int64_t batches = 1, sq = 0, sk = 0, d = 0, dv = 0;
  // Per flattened batch index: element offsets of its Q, K, V and output matrices.
  std::vector<int64_t> q_off, k_off, v_off, out_off;
  // Elements from one row (query, key or value position) to the next. With k_transposed,
  // k_ld is the stride between K^T's D rows instead.
  int64_t q_ld = 0, k_ld = 0, v_ld = 0, out_ld = 0;
};

// Where a mask's value for (batch index, query row, key) lies: offsets[batch] + row * row_stride
// + key * col_stride; strides are 0 along dims where the mask broadcasts.
struct MaskPlacement {
  std::vector<int64_t> offsets;
  int64_t row_stride = 0, col_stride = 0;
};

// Shapes and offsets for one run; `k`/`v` are null in the packed layout.
Result<AttentionGeometry> attention_geometry(const AttentionLayout& layout, const Tensor& q, const Tensor* k,
                                             const Tensor* v);

// Checks that `mask` broadcasts to the scores [batch..., Sq, Sk] and places it.
Result<MaskPlacement> place_attention_mask(const Tensor& mask, const std::string& what, const AttentionGeometry& g);

// The output shape as far as the input shapes are known; errors name the disagreement.
// `q` is X in the packed layout, and `k`/`v` are then null.
Result<SymShape> attention_output_shape(const AttentionLayout& layout, const SymShape& q, const SymShape* k,
                                        const SymShape* v);

}  // namespace kiln
