// The scaled-dot-product core of transformer exports becomes one kiln::Attention node
// (ops/nn/attention.cpp), which never writes the [B, H, Sq, Sk] scores to memory:
//
//   [Div|Mul(Q, c)] -> MatMul(Q, K^T) -> [Div|Mul by c] -> [Where(mask, ., fill)]
//     -> [Add(., additive mask)] -> Softmax(last axis) -> MatMul(., V)
//
// with no-op Casts (float -> float, GPT-2) allowed between the steps, and after the
// Softmax a Where that provably passes the weights through. The forms seen:
//   BERT, ViT:   MatMul, Div (or Q pre-scaled), Add of (1 - mask) * -10000, Softmax
//   DistilBERT:  Q pre-scaled, Where(Expand(mask == 0, Shape(scores)), min, scores)
//   GPT-2:       Div by sqrt(head dim) computed from V's shape, Where(causal slice,
//                scores, min), Add of the padding mask
//   ONNX Attention-23 expanded: Q and K^T each scaled, Add of the mask, Softmax, Where
//                zeroing all-masked rows
// K^T is either a Transpose swapping K's last two axes (absorbed, k_transposed = 0) or
// any other [.., D, Sk] value, read as is (k_transposed = 1).
//
// A Where whose condition is a lower-triangular constant, or Slices of one starting at row
// key_length - query_length (proved with SymbolicDims), becomes causal = 1 and its mask
// subgraph is left to dead-code elimination; any other condition is passed as the bool
// mask input. Every value inside the chain must be read by the chain alone.
#include <algorithm>
#include <optional>
#include <set>

#include "ir/graph_edit.h"
#include "passes/fusion_util.h"
#include "passes/pass.h"
#include "passes/symbolic_dims.h"

namespace kiln {
namespace {

struct AttentionMatch {
  int q = kNoValue, k = kNoValue, v = kNoValue, add_mask = kNoValue, bool_mask = kNoValue;
  float scale = 1.0f;
  bool k_transposed = true;
  bool has_where = false, causal = false, keeps = true;
  float fill = 0.0f;
  std::vector<int> nodes;            // absorbed nodes; the last is the PV MatMul
  int scores_matmul = -1;            // MatMul(Q, K^T)
  std::vector<int> inner_values;     // values only the chain may read
  std::set<int> bypassed;            // Shape, Expand and CastLike nodes that die with the chain
};

class AttentionMatcher {
 public:
  explicit AttentionMatcher(const Graph& g) : g_(g), dims_(g), readers_(value_consumers(g)) {}

  std::optional<AttentionMatch> match(int softmax) const;

 private:
  const Node* producer(int value, const char* op_type) const {
    if (value == kNoValue || g_.values[value].producer < 0) return nullptr;
    const Node& n = g_.nodes[g_.values[value].producer];
    return n.domain.empty() && n.op_type == op_type && n.outputs.size() == 1 ? &n : nullptr;
  }
  int index_of(const Node* n) const { return static_cast<int>(n - g_.nodes.data()); }
  bool is_float32(int value) const { return value != kNoValue && g_.values[value].type.dtype == DType::kFloat32; }
  // A float -> float Cast, which GPT-2 exports around its scores.
  bool is_noop_cast(const Node& n) const {
    const Attribute* to = n.find_attribute("to");
    return n.op_type == "Cast" && n.domain.empty() && n.inputs.size() == 1 && n.inputs[0] != kNoValue &&
           n.outputs.size() == 1 && to &&
           static_cast<DType>(to->i) == g_.values[n.inputs[0]].type.dtype;
  }
  // The only reader of `value` (graph outputs have an outside reader); -1 otherwise.
  int sole_reader(int value) const {
    if (value == kNoValue || is_graph_output(g_, value) || readers_[value].size() != 1) return -1;
    return readers_[value][0];
  }
  // Steps back over no-op Casts, recording them in `m`.
  int skip_casts_back(int value, AttentionMatch& m) const {
    while (value != kNoValue && g_.values[value].producer >= 0 && is_noop_cast(g_.nodes[g_.values[value].producer])) {
      m.nodes.push_back(g_.values[value].producer);
      m.inner_values.push_back(value);
      value = g_.nodes[g_.values[value].producer].inputs[0];
    }
    return value;
  }
  // A one-element float constant (or build-time computable value) that cannot widen a
  // rank-`rank` tensor it is broadcast with.
  std::optional<float> scalar(int value, int64_t rank) const {
    const int64_t r = dims_.rank(value);
    if (r < 0 || r > rank) return std::nullopt;
    return dims_.float_scalar(value);
  }
  // For Div(x, c) and Mul(x, c) / Mul(c, x) reading x: the factor x is multiplied by.
  std::optional<float> scale_factor(const Node& n, int x, int64_t rank) const {
    if (n.inputs.size() != 2) return std::nullopt;
    if (n.op_type == "Div" && n.inputs[0] == x && n.inputs[1] != x) {
      std::optional<float> c = scalar(n.inputs[1], rank);
      return c && *c != 0.0f ? std::optional<float>(1.0f / *c) : std::nullopt;
    }
    if (n.op_type == "Mul") {
      const int other = n.inputs[0] == x ? n.inputs[1] : n.inputs[0];
      if (other == x) return std::nullopt;
      return scalar(other, rank);
    }
    return std::nullopt;
  }

  int absorb_prescale(int operand, int matmul, int64_t rank, AttentionMatch& m) const;
  bool is_noop_where(const Node& where, int weights, int64_t rank) const;
  int next_reader(int p, int& castlike) const;
  bool match_scores(int value, int64_t rank, AttentionMatch& m) const;
  bool match_where(const Node& where, int64_t rank, AttentionMatch& m) const;
  bool match_masked_scores(int value, int64_t rank, AttentionMatch& m) const;
  int strip_expand(int cond, int scores_side, AttentionMatch& m) const;
  bool is_causal(int cond, int sq_from, int sk_from, int64_t rank) const;
  bool is_lower_triangular(const Tensor& c, int64_t offset) const;

  const Graph& g_;
  SymbolicDims dims_;
  std::vector<std::vector<int>> readers_;
};

// `operand` of the scores MatMul when it is Div/Mul(x, scalar) read by that MatMul only:
// the factor goes into m.scale and x is returned; otherwise `operand` itself.
int AttentionMatcher::absorb_prescale(int operand, int matmul, int64_t rank, AttentionMatch& m) const {
  const int p = g_.values[operand].producer;
  if (p < 0 || sole_reader(operand) != matmul) return operand;
  const Node& pre = g_.nodes[p];
  if (!pre.domain.empty() || pre.outputs.size() != 1) return operand;
  for (size_t side = 0; side < pre.inputs.size() && side < 2; ++side) {
    std::optional<float> f = scale_factor(pre, pre.inputs[side], rank);
    if (!f) continue;
    m.scale *= *f;
    m.nodes.push_back(p);
    m.inner_values.push_back(operand);
    return pre.inputs[side];
  }
  return operand;
}

// MatMul(Q, K^T) with optional scalings on the scores and on Q, ending at `value`.
bool AttentionMatcher::match_scores(int value, int64_t rank, AttentionMatch& m) const {
  value = skip_casts_back(value, m);
  if (value == kNoValue || g_.values[value].producer < 0) return false;
  const Node& post = g_.nodes[g_.values[value].producer];
  if (post.domain.empty() && post.outputs.size() == 1 && (post.op_type == "Div" || post.op_type == "Mul")) {
    // The scores are the operand that is not the scalar (for Div, the dividend).
    const int sides = post.op_type == "Div" ? 1 : 2;
    for (int side = 0; side < sides && side < static_cast<int>(post.inputs.size()); ++side) {
      std::optional<float> f = scale_factor(post, post.inputs[side], rank);
      if (!f) continue;
      m.scale *= *f;
      m.nodes.push_back(index_of(&post));
      m.inner_values.push_back(value);
      value = skip_casts_back(post.inputs[side], m);
      break;
    }
  }
  const Node* mm = producer(value, "MatMul");
  if (!mm || mm->inputs.size() != 2 || !is_float32(value) || dims_.rank(value) != rank) return false;
  m.nodes.push_back(index_of(mm));
  m.scores_matmul = index_of(mm);
  m.inner_values.push_back(value);
  int a = mm->inputs[0];
  int b = mm->inputs[1];
  if (a == kNoValue || b == kNoValue) return false;
  // Q pre-scaled (DistilBERT, ViT), and K^T too (ONNX's Attention function scales both
  // by sqrt(scale)): absorbed when the scaled operand has no other reader.
  a = absorb_prescale(a, index_of(mm), rank, m);
  b = absorb_prescale(b, index_of(mm), rank, m);
  // K^T as Transpose(K) over the last two axes: read K itself.
  m.k = b;
  if (const Node* t = producer(b, "Transpose"); t && sole_reader(b) == index_of(mm)) {
    const Attribute* perm = t->find_attribute("perm");
    bool swaps_last_two = perm && static_cast<int64_t>(perm->ints.size()) == rank;
    for (int64_t i = 0; swaps_last_two && i < rank; ++i) {
      const int64_t want = i == rank - 2 ? rank - 1 : i == rank - 1 ? rank - 2 : i;
      swaps_last_two = perm->ints[i] == want;
    }
    if (swaps_last_two) {
      m.nodes.push_back(index_of(t));
      m.inner_values.push_back(b);
      m.k = t->inputs[0];
      m.k_transposed = false;
    }
  }
  m.q = a;
  return true;
}

// Where(cond, scores, fill) or Where(cond, fill, scores) over the scores below it.
bool AttentionMatcher::match_where(const Node& where, int64_t rank, AttentionMatch& m) const {
  if (where.inputs.size() != 3) return false;
  for (int side : {1, 2}) {
    const int fill_side = side == 1 ? 2 : 1;
    std::optional<float> fill = scalar(where.inputs[fill_side], rank);
    if (!fill || !is_float32(where.inputs[fill_side])) continue;
    AttentionMatch trial = m;
    if (!match_scores(where.inputs[side], rank, trial)) continue;
    trial.has_where = true;
    trial.keeps = side == 1;
    trial.fill = *fill;
    const int cond = strip_expand(where.inputs[0], where.inputs[side], trial);
    const int64_t cond_rank = dims_.rank(cond);
    if (cond_rank < 0 || cond_rank > rank || g_.values[cond].type.dtype != DType::kBool) continue;
    // Sq and Sk from the scores MatMul's inputs: Q as it reads it, and K^T.
    const Node& scores = g_.nodes[trial.scores_matmul];
    if (trial.keeps && is_causal(cond, scores.inputs[0], scores.inputs[1], rank)) {
      trial.causal = true;  // the condition, and an Expand of it, go unread
    } else {
      trial.bool_mask = cond;
    }
    m = std::move(trial);
    return true;
  }
  return false;
}

// [no-op Casts] then a Where over the scores, or the scores themselves.
bool AttentionMatcher::match_masked_scores(int value, int64_t rank, AttentionMatch& m) const {
  const int below = skip_casts_back(value, m);
  const Node* where = producer(below, "Where");
  if (!where) return match_scores(below, rank, m);
  m.inner_values.push_back(below);
  if (!match_where(*where, rank, m)) return false;
  m.nodes.push_back(index_of(where));
  return true;
}

// DistilBERT expands its [B, 1, 1, Sk] condition to Shape(scores) first; Where broadcasts
// anyway, so the fused node reads the small condition and the Shape and Expand die.
int AttentionMatcher::strip_expand(int cond, int scores_side, AttentionMatch& m) const {
  std::vector<int> casts;
  int c = cond;
  if (c == kNoValue) return cond;
  while (g_.values[c].producer >= 0 && is_noop_cast(g_.nodes[g_.values[c].producer]) && sole_reader(c) >= 0) {
    casts.push_back(g_.values[c].producer);
    c = g_.nodes[g_.values[c].producer].inputs[0];
  }
  const Node* expand = producer(c, "Expand");
  if (!expand || expand->inputs.size() != 2 || sole_reader(c) < 0) return cond;
  const Node* shape = producer(expand->inputs[1], "Shape");
  if (!shape || shape->find_attribute("start") || shape->find_attribute("end") ||
      sole_reader(expand->inputs[1]) != index_of(expand)) {
    return cond;
  }
  // The shape must be the scores' own: some value of the chain below the Where.
  std::vector<int> chain_values = m.inner_values;
  chain_values.push_back(scores_side);
  if (std::find(chain_values.begin(), chain_values.end(), shape->inputs[0]) == chain_values.end()) return cond;
  m.bypassed.insert(casts.begin(), casts.end());
  m.bypassed.insert(index_of(expand));
  m.bypassed.insert(index_of(shape));
  return expand->inputs[0];
}

// C[i][j] == (j <= i + offset) over the last two dims, all leading dims 1.
bool AttentionMatcher::is_lower_triangular(const Tensor& c, int64_t offset) const {
  if (c.dtype() != DType::kBool || c.rank() < 2) return false;
  for (size_t d = 0; d + 2 < c.rank(); ++d) {
    if (c.dim(d) != 1) return false;
  }
  const int64_t rows = c.dim(c.rank() - 2), cols = c.dim(c.rank() - 1);
  const uint8_t* p = c.data<uint8_t>();
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      if ((p[i * cols + j] != 0) != (j <= i + offset)) return false;
    }
  }
  return true;
}

// Whether `cond` keeps exactly keys k <= q + Sk - Sq: a lower-triangular constant of the
// scores' static size, or rows [Sk - Sq, Sk) and columns [0, Sk) sliced out of a
// lower-triangular constant (GPT-2's `bias[:, :, k - q : k, :k]`).
bool AttentionMatcher::is_causal(int cond, int q_side, int kt_side, int64_t rank) const {
  std::optional<DimExpr> sq = dims_.dim(q_side, rank - 2);
  std::optional<DimExpr> sk = dims_.dim(kt_side, rank - 1);
  if (!sq || !sk) return false;
  std::map<int64_t, std::pair<DimExpr, DimExpr>> ranges;  // axis -> [start, end)
  int v = cond;
  while (const Node* slice = producer(v, "Slice")) {
    const int data = slice->inputs[0];
    const int64_t r = dims_.rank(data);
    if (slice->inputs.size() < 3 || r < 2) return false;
    std::vector<int64_t> axes, steps;
    if (slice->inputs.size() > 3 && slice->inputs[3] != kNoValue) {
      const Value& a = g_.values[slice->inputs[3]];
      if (!a.is_constant()) return false;
      axes = a.constant.to_int64_vector();
    } else {
      for (int64_t i = 0; i < dims_.numel(slice->inputs[1]); ++i) axes.push_back(i);
    }
    if (slice->inputs.size() > 4 && slice->inputs[4] != kNoValue) {
      const Value& s = g_.values[slice->inputs[4]];
      if (!s.is_constant()) return false;
      steps = s.constant.to_int64_vector();
      if (std::any_of(steps.begin(), steps.end(), [](int64_t x) { return x != 1; })) return false;
    }
    if (axes.empty() || dims_.numel(slice->inputs[1]) != static_cast<int64_t>(axes.size())) return false;
    for (size_t i = 0; i < axes.size(); ++i) {
      const int64_t axis = axes[i] < 0 ? axes[i] + r : axes[i];
      if (axis < r - 2 || axis >= r || ranges.count(axis)) return false;  // only the last two, once
      std::optional<DimExpr> start = dims_.int_element(slice->inputs[1], static_cast<int64_t>(i));
      std::optional<DimExpr> end = dims_.int_element(slice->inputs[2], static_cast<int64_t>(i));
      if (!start || !end || (start->is_constant() && start->constant < 0) ||
          (end->is_constant() && end->constant < 0)) {
        return false;
      }
      ranges.emplace(axis, std::make_pair(*start, *end));
    }
    v = data;
  }
  const Value& base = g_.values[v];
  if (!base.is_constant() || base.constant.rank() < 2 || static_cast<int64_t>(base.constant.rank()) > rank) return false;
  const int64_t r = static_cast<int64_t>(base.constant.rank());
  const int64_t rows = base.constant.dim(r - 2), cols = base.constant.dim(r - 1);
  if (ranges.empty()) {  // the whole constant is the mask: the scores must have its size
    return sq->is_constant() && sk->is_constant() && sq->constant == rows && sk->constant == cols &&
           cols >= rows && is_lower_triangular(base.constant, cols - rows);
  }
  if (!is_lower_triangular(base.constant, 0)) return false;
  // An end past the dim is clamped to it.
  auto bounds = [&](int64_t axis, int64_t size) {
    auto it = ranges.find(axis);
    if (it == ranges.end()) return std::make_pair(DimExpr::of(0), DimExpr::of(size));
    DimExpr end = it->second.second;
    if (end.is_constant() && end.constant > size) end = DimExpr::of(size);
    return std::make_pair(it->second.first, end);
  };
  const auto [row_start, row_end] = bounds(r - 2, rows);
  const auto [col_start, col_end] = bounds(r - 1, cols);
  // mask[q][k] = C[q + row_start][k + col_start] = (k <= q + row_start - col_start).
  return row_start - col_start == *sk - *sq && row_end - row_start == *sq && col_end - col_start == *sk;
}

// The one node reading the weights `p`. ONNX's Attention function has a second reader,
// CastLike(0, weights), making the scalar of the Where that reads them next: then that
// Where is returned and the CastLike in `castlike` (it dies with the chain).
int AttentionMatcher::next_reader(int p, int& castlike) const {
  castlike = -1;
  if (p == kNoValue || is_graph_output(g_, p)) return -1;
  const std::vector<int>& readers = readers_[p];
  if (readers.size() == 1) return readers[0];
  if (readers.size() != 2) return -1;
  for (int i : {0, 1}) {
    const Node& c = g_.nodes[readers[i]];
    const Node& w = g_.nodes[readers[1 - i]];
    if (c.op_type == "CastLike" && c.domain.empty() && c.inputs.size() == 2 && c.inputs[1] == p &&
        c.inputs[0] != p && c.outputs.size() == 1 && w.op_type == "Where" && w.inputs.size() == 3 &&
        w.inputs[1] == c.outputs[0] && sole_reader(c.outputs[0]) == readers[1 - i]) {
      castlike = readers[i];
      return readers[1 - i];
    }
  }
  return -1;
}

// ONNX's Attention function zeroes rows whose keys are all masked after the softmax:
// Where(row_all_masked, 0, weights). With a constant all-false condition (no such row) it
// passes the weights through; the other operand is a scalar and the condition no wider
// than the weights' static shape, so it cannot broadcast them bigger.
bool AttentionMatcher::is_noop_where(const Node& where, int weights, int64_t rank) const {
  if (where.op_type != "Where" || !where.domain.empty() || where.inputs.size() != 3 || where.inputs[0] == kNoValue ||
      where.outputs.size() != 1) {
    return false;
  }
  const Value& cond = g_.values[where.inputs[0]];
  if (!cond.is_constant() || cond.constant.dtype() != DType::kBool || static_cast<int64_t>(cond.constant.rank()) > rank) {
    return false;
  }
  const uint8_t* c = cond.constant.data<uint8_t>();
  if (std::any_of(c, c + cond.constant.numel(), [](uint8_t x) { return x != 0; })) return false;
  if (where.inputs[2] != weights || where.inputs[1] == weights) return false;
  const int64_t other_rank = dims_.rank(where.inputs[1]);
  if (dims_.numel(where.inputs[1]) != 1 || other_rank < 0 || other_rank > rank) return false;
  const auto& shape = g_.values[weights].type.shape;
  if (!shape) return false;
  const size_t lead = shape->size() - cond.constant.rank();
  for (size_t i = 0; i < cond.constant.rank(); ++i) {
    const Dim& d = (*shape)[lead + i];
    if (cond.constant.dim(i) != 1 && !(d.known() && d.value == cond.constant.dim(i))) return false;
  }
  return true;
}

std::optional<AttentionMatch> AttentionMatcher::match(int softmax) const {
  const Node& sm = g_.nodes[softmax];
  if (sm.op_type != "Softmax" || !sm.domain.empty() || sm.inputs.size() != 1 || sm.outputs.size() != 1 ||
      sm.inputs[0] == kNoValue || sm.outputs[0] == kNoValue) {
    return std::nullopt;
  }
  const int64_t rank = dims_.rank(sm.inputs[0]);
  if (rank < 3 || !is_float32(sm.inputs[0])) return std::nullopt;
  const Attribute* axis_attr = sm.find_attribute("axis");
  int64_t axis = axis_attr ? axis_attr->i : (g_.opset() < 13 ? 1 : -1);
  if (axis < 0) axis += rank;
  if (axis != rank - 1) return std::nullopt;  // before opset 13 the 2-D view at rank-1 is the same

  AttentionMatch m;
  // Forward: no-op Casts and Wheres, then MatMul(weights, V).
  std::vector<int> tail{softmax};
  std::vector<int> tail_values;
  int p = sm.outputs[0];
  int castlike = -1;
  int reader = next_reader(p, castlike);
  while (reader >= 0 && (is_noop_cast(g_.nodes[reader]) || is_noop_where(g_.nodes[reader], p, rank))) {
    if (castlike >= 0) m.bypassed.insert(castlike);
    tail_values.push_back(p);
    tail.push_back(reader);
    p = g_.nodes[reader].outputs[0];
    reader = next_reader(p, castlike);
  }
  if (castlike >= 0) return std::nullopt;  // the CastLike fed something else than a no-op Where
  if (reader < 0) return std::nullopt;
  const Node& pv = g_.nodes[reader];
  if (pv.op_type != "MatMul" || !pv.domain.empty() || pv.inputs.size() != 2 || pv.inputs[0] != p || pv.inputs[1] == p) {
    return std::nullopt;
  }
  tail_values.push_back(p);
  tail.push_back(reader);
  m.v = pv.inputs[1];

  // Backward from the softmax input: [Add mask] <- [Where] <- scores.
  const int x = skip_casts_back(sm.inputs[0], m);
  m.inner_values.push_back(sm.inputs[0]);
  m.inner_values.push_back(x);
  std::optional<AttentionMatch> found;
  if (const Node* add = producer(x, "Add"); add && add->inputs.size() == 2) {
    for (int side : {0, 1}) {
      const int chain = add->inputs[side], mask = add->inputs[1 - side];
      if (chain == mask || !is_float32(mask) || dims_.rank(mask) < 0 || dims_.rank(mask) > rank) continue;
      AttentionMatch trial = m;
      trial.nodes.push_back(index_of(add));
      trial.inner_values.push_back(chain);
      if (!match_masked_scores(chain, rank, trial)) continue;
      trial.add_mask = mask;
      found = std::move(trial);
      break;
    }
  }
  if (!found) {
    found = m;
    if (!match_masked_scores(x, rank, *found)) return std::nullopt;
  }
  m = std::move(*found);
  // Types and ranks the kernel needs (the verifier rechecks the rewritten graph).
  for (int value : {m.q, m.k, m.v}) {
    if (!is_float32(value) || dims_.rank(value) != rank) return std::nullopt;
  }
  // The fused node's inputs come from outside the chain (V = the scores would be a cycle).
  for (int value : {m.q, m.k, m.v, m.add_mask, m.bool_mask}) {
    if (value != kNoValue && std::find(m.inner_values.begin(), m.inner_values.end(), value) != m.inner_values.end()) {
      return std::nullopt;
    }
  }
  // Every value inside the chain is read by the chain alone (the bypassed Shape may read one).
  m.nodes.insert(m.nodes.end(), tail.begin(), tail.end());
  m.inner_values.insert(m.inner_values.end(), tail_values.begin(), tail_values.end());
  const std::set<int> members(m.nodes.begin(), m.nodes.end());
  for (int value : m.inner_values) {
    if (is_graph_output(g_, value)) return std::nullopt;
    for (int r : readers_[value]) {
      if (!members.count(r) && !m.bypassed.count(r)) return std::nullopt;
    }
  }
  return m;
}

Attribute float_attr(float f) {
  Attribute a;
  a.kind = Attribute::Kind::kFloat;
  a.f = f;
  return a;
}

Attribute int_attr(int64_t i) {
  Attribute a;
  a.kind = Attribute::Kind::kInt;
  a.i = i;
  return a;
}

}  // namespace

Result<bool> fuse_attention(Graph& graph, PassContext&) {
  const AttentionMatcher matcher(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  bool changed = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    std::optional<AttentionMatch> m = matcher.match(static_cast<int>(n));
    if (!m) continue;
    if (std::any_of(m->nodes.begin(), m->nodes.end(), [&](int i) { return dead[i]; }) ||
        std::any_of(m->bypassed.begin(), m->bypassed.end(), [&](int i) { return dead[i]; })) {
      continue;
    }
    // The PV MatMul, last in the chain and after every input in graph order, becomes the
    // Attention node and keeps its output value.
    std::vector<int> order = m->nodes;
    std::sort(order.begin(), order.end());
    order.erase(std::unique(order.begin(), order.end()), order.end());
    const int root = m->nodes.back();
    Attribute sources;
    sources.kind = Attribute::Kind::kStrings;
    for (int i : order) sources.strings.push_back(graph.nodes[i].name);
    Node& node = graph.nodes[root];
    node.name = graph.nodes[m->scores_matmul].name;
    node.op_type = "Attention";
    node.domain = "kiln";
    node.inputs = {m->q, m->k, m->v, m->add_mask, m->bool_mask};
    while (node.inputs.back() == kNoValue) node.inputs.pop_back();
    node.attributes = {{"scale", float_attr(m->scale)},
                       {"causal", int_attr(m->causal ? 1 : 0)},
                       {"k_transposed", int_attr(m->k_transposed ? 1 : 0)},
                       {"source_nodes", sources}};
    if (m->has_where) node.attributes["mask_fill"] = float_attr(m->fill);
    if (m->bool_mask != kNoValue) node.attributes["bool_mask_keeps"] = int_attr(m->keeps ? 1 : 0);
    for (int i : order) {
      if (i != root) dead[i] = true;
    }
    for (int i : m->bypassed) dead[i] = true;
    changed = true;
  }
  if (changed) finish_fusion(graph, dead);
  return changed;
}

}  // namespace kiln
