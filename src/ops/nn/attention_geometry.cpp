#include "ops/nn/attention_geometry.h"

#include "ops/op_util.h"

namespace kiln {
namespace {

std::string dims_text(const Shape& s) { return shape_to_string(s); }

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

Result<AttentionGeometry> heads_first(bool k_transposed, const Tensor& q, const Tensor& k, const Tensor& v) {
  const size_t r = q.rank();
  if (r < 3 || k.rank() != r || v.rank() != r) {
    return invalid_argument("Attention needs Q, K and V of one rank >= 3, got " + dims_text(q.shape()) + ", " +
                            dims_text(k.shape()) + ", " + dims_text(v.shape()));
  }
  AttentionGeometry g;
  g.sq = q.dim(r - 2);
  g.d = q.dim(r - 1);
  g.sk = k_transposed ? k.dim(r - 1) : k.dim(r - 2);
  g.dv = v.dim(r - 1);
  const int64_t k_depth = k_transposed ? k.dim(r - 2) : k.dim(r - 1);
  if (k_depth != g.d || v.dim(r - 2) != g.sk) {
    return invalid_argument("Attention operands disagree: Q " + dims_text(q.shape()) + ", K " + dims_text(k.shape()) +
                            (k_transposed ? " (transposed)" : "") + ", V " + dims_text(v.shape()));
  }
  Shape batch(q.shape().begin(), q.shape().end() - 2);
  for (const Tensor* t : {&k, &v}) {
    KILN_ASSIGN_OR_RETURN(batch, broadcast_shapes(batch, Shape(t->shape().begin(), t->shape().end() - 2)));
  }
  for (int64_t b : batch) g.batches *= b;
  g.batch = batch;
  g.q_off = batch_offsets(q.shape(), batch);
  g.k_off = batch_offsets(k.shape(), batch);
  g.v_off = batch_offsets(v.shape(), batch);
  g.out_off.resize(static_cast<size_t>(g.batches));
  for (int64_t i = 0; i < g.batches; ++i) g.out_off[static_cast<size_t>(i)] = i * g.sq * g.dv;
  g.q_ld = g.d;
  g.k_ld = k_transposed ? g.sk : g.d;
  g.v_ld = g.dv;
  g.out_ld = g.dv;
  g.out_shape = batch;
  g.out_shape.push_back(g.sq);
  g.out_shape.push_back(g.dv);
  return g;
}

// Sequence-major and packed: every (batch, head) is a column block of H*D-wide rows.
struct SeqMajorParts {
  Shape lead;  // the batch dims before the sequence
  int64_t sq, sk, heads, d, dv;
  int64_t q_ld, k_ld, v_ld;
  int64_t k_base, v_base;  // where K and V start within their tensors' rows
};

AttentionGeometry seq_major(const SeqMajorParts& p) {
  AttentionGeometry g;
  g.sq = p.sq;
  g.sk = p.sk;
  g.d = p.d;
  g.dv = p.dv;
  g.batch = p.lead;
  g.batch.push_back(p.heads);
  for (int64_t b : g.batch) g.batches *= b;
  g.q_ld = p.q_ld;
  g.k_ld = p.k_ld;
  g.v_ld = p.v_ld;
  g.out_ld = p.heads * p.dv;
  const size_t n = static_cast<size_t>(g.batches);
  g.q_off.resize(n);
  g.k_off.resize(n);
  g.v_off.resize(n);
  g.out_off.resize(n);
  for (int64_t i = 0; i < g.batches; ++i) {
    const int64_t b = i / p.heads, h = i % p.heads;
    const size_t at = static_cast<size_t>(i);
    g.q_off[at] = b * p.sq * p.q_ld + h * p.d;
    g.k_off[at] = b * p.sk * p.k_ld + p.k_base + h * p.d;
    g.v_off[at] = b * p.sk * p.v_ld + p.v_base + h * p.dv;
    g.out_off[at] = b * p.sq * g.out_ld + h * p.dv;
  }
  g.out_shape = p.lead;
  g.out_shape.insert(g.out_shape.end(), {p.sq, p.heads, p.dv});
  return g;
}

Result<AttentionGeometry> packed(int64_t heads, const Tensor& x) {
  const size_t r = x.rank();
  if (r < 2 || x.dim(r - 1) % (3 * heads) != 0) {
    return invalid_argument("packed Attention input X has shape " + dims_text(x.shape()) +
                            ", expected [..., S, 3 * " + std::to_string(heads) + " * head size]");
  }
  const int64_t width = x.dim(r - 1), d = width / (3 * heads);
  SeqMajorParts p{Shape(x.shape().begin(), x.shape().end() - 2), x.dim(r - 2), x.dim(r - 2), heads, d, d,
                  width, width, width, heads * d, 2 * heads * d};
  return seq_major(p);
}

Result<AttentionGeometry> separate(const Tensor& q, const Tensor& k, const Tensor& v) {
  const size_t r = q.rank();
  const auto disagree = [&] {
    return invalid_argument("sequence-major Attention needs Q [..., Sq, H, D], K [..., Sk, H, D] and V [..., Sk, H, Dv]"
                            " with the same leading dims, got Q " + dims_text(q.shape()) + ", K " +
                            dims_text(k.shape()) + ", V " + dims_text(v.shape()));
  };
  if (r < 3 || k.rank() != r || v.rank() != r) return disagree();
  for (size_t i = 0; i + 3 < r; ++i) {
    if (k.dim(i) != q.dim(i) || v.dim(i) != q.dim(i)) return disagree();
  }
  const int64_t heads = q.dim(r - 2), d = q.dim(r - 1), sk = k.dim(r - 3), dv = v.dim(r - 1);
  if (k.dim(r - 2) != heads || v.dim(r - 2) != heads || k.dim(r - 1) != d || v.dim(r - 3) != sk) return disagree();
  SeqMajorParts p{Shape(q.shape().begin(), q.shape().end() - 3), q.dim(r - 3), sk, heads, d, dv,
                  heads * d, heads * d, heads * dv, 0, 0};
  return seq_major(p);
}

Status disagree_sym(const SymShape& q, const SymShape* k, const SymShape* v, const std::string& expected) {
  return invalid_argument("Attention operands disagree (expected " + expected + "): " + sym_shape_to_string(q) +
                          (k ? ", " + sym_shape_to_string(*k) : "") + (v ? ", " + sym_shape_to_string(*v) : ""));
}

bool may_equal(const Dim& a, const Dim& b) { return !a.known() || !b.known() || a.value == b.value; }

}  // namespace

Result<AttentionGeometry> attention_geometry(const AttentionLayout& layout, const Tensor& q, const Tensor* k,
                                             const Tensor* v) {
  if (layout.packed_heads > 0) return packed(layout.packed_heads, q);
  if (!k || !v) return invalid_argument("Attention needs inputs K and V unless Q is packed (num_heads)");
  if (layout.seq_major) return separate(q, *k, *v);
  return heads_first(layout.k_transposed, q, *k, *v);
}

Result<MaskPlacement> place_attention_mask(const Tensor& mask, const std::string& what, const AttentionGeometry& g) {
  Shape scores = g.batch;
  scores.push_back(g.sq);
  scores.push_back(g.sk);
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
  MaskPlacement m;
  m.offsets = batch_offsets(full, g.batch);
  const std::vector<int64_t> strides = broadcast_strides(full, scores);
  m.row_stride = strides[strides.size() - 2];
  m.col_stride = strides.back();
  return m;
}

Result<SymShape> attention_output_shape(const AttentionLayout& layout, const SymShape& q, const SymShape* k,
                                        const SymShape* v) {
  const size_t r = q.size();
  if (layout.packed_heads > 0) {
    const int64_t heads = layout.packed_heads;
    if (r < 2 || (q[r - 1].known() && q[r - 1].value % (3 * heads) != 0)) {
      return disagree_sym(q, nullptr, nullptr, "X [..., S, 3 * " + std::to_string(heads) + " * head size]");
    }
    SymShape out(q.begin(), q.end() - 1);
    out.push_back(heads);
    out.push_back(q[r - 1].known() ? Dim(q[r - 1].value / (3 * heads)) : Dim::unknown());
    return out;
  }
  if (!k || !v) return invalid_argument("Attention needs inputs K and V unless Q is packed (num_heads)");
  if (r < 3 || k->size() != r || v->size() != r) return disagree_sym(q, k, v, "Q, K and V of one rank >= 3");
  if (layout.seq_major) {
    bool fits = may_equal((*k)[r - 2], q[r - 2]) && may_equal((*v)[r - 2], q[r - 2]) &&
                may_equal((*k)[r - 1], q[r - 1]) && may_equal((*v)[r - 3], (*k)[r - 3]);
    for (size_t i = 0; i + 3 < r; ++i) fits = fits && may_equal((*k)[i], q[i]) && may_equal((*v)[i], q[i]);
    if (!fits) return disagree_sym(q, k, v, "Q [..., Sq, H, D], K [..., Sk, H, D], V [..., Sk, H, Dv]");
    SymShape out(q.begin(), q.end() - 1);
    out.push_back((*v)[r - 1]);
    return out;
  }
  const Dim& k_depth = layout.k_transposed ? (*k)[r - 2] : (*k)[r - 1];
  const Dim& k_len = layout.k_transposed ? (*k)[r - 1] : (*k)[r - 2];
  if (!may_equal(q[r - 1], k_depth) || !may_equal(k_len, (*v)[r - 2])) {
    return disagree_sym(q, k, v, layout.k_transposed ? "K transposed [..., D, Sk]" : "K [..., Sk, D]");
  }
  SymShape batch(q.begin(), q.end() - 2);
  for (const SymShape* other : {k, v}) {
    KILN_ASSIGN_OR_RETURN(batch, broadcast_sym_shapes(batch, SymShape(other->begin(), other->end() - 2)));
  }
  batch.push_back(q[r - 2]);
  batch.push_back((*v)[r - 1]);
  return batch;
}

}  // namespace kiln
