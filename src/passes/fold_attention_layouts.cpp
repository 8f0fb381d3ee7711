// Lets each kiln::Attention read its operands where the projections wrote them and write
// its output where the output projection reads it (layouts: ops/nn/attention_geometry.h).
//
// 1. Head transposes. Exports split heads with Reshape [.., S, H*D] -> [.., S, H, D] and a
//    Transpose to [.., H, S, D] (K^T: [.., H, D, S]), and merge them back with the inverse
//    Transpose. Each Transpose copies the whole activation: BERT-base spends 4.9 of 130
//    ms in its 48. When all four are there, the Attention becomes sequence major and reads
//    the Reshapes' outputs (views) instead.
// 2. Packed QKV. GPT-2 and torch's MultiheadAttention (ViT) compute Q, K and V with one
//    GEMM and cut its [.., S, 3*H*D] output with a Split or three Slices (copies); then
//    the Attention reads the GEMM's output itself (num_heads = H).
// 3. Separate projections. BERT computes Q, K and V with three GEMMs of [E, H*D] on the
//    same input; one GEMM of [E, 3*H*D] does the same work at a better rate (2304 columns
//    instead of 768) and writes the packed layout of 2.
#include <algorithm>
#include <optional>

#include "ir/graph_edit.h"
#include "passes/fusion_util.h"
#include "passes/pass.h"

namespace kiln {
namespace {

Attribute int_attr(int64_t i) {
  Attribute a;
  a.kind = Attribute::Kind::kInt;
  a.i = i;
  return a;
}

bool is_attention(const Node& n) { return n.op_type == "Attention" && n.domain == "kiln"; }

int64_t int_attr_or(const Node& n, const char* name, int64_t fallback) {
  const Attribute* a = n.find_attribute(name);
  return a ? a->i : fallback;
}

const SymShape* shape_of(const Graph& g, int value) {
  if (value == kNoValue || !g.values[value].type.shape) return nullptr;
  return &*g.values[value].type.shape;
}

// The identity permutation of `rank` axes with the sequence and head axes (rank-3, rank-2)
// swapped: [.., S, H, D] <-> [.., H, S, D].
std::vector<int64_t> head_swap(size_t rank) {
  std::vector<int64_t> p(rank);
  for (size_t i = 0; i < rank; ++i) p[i] = static_cast<int64_t>(i);
  std::swap(p[rank - 3], p[rank - 2]);
  return p;
}

// [.., S, H, D] -> [.., H, D, S]: K^T per head.
std::vector<int64_t> head_key_transpose(size_t rank) {
  std::vector<int64_t> p(rank);
  for (size_t i = 0; i + 3 < rank; ++i) p[i] = static_cast<int64_t>(i);
  p[rank - 3] = static_cast<int64_t>(rank - 2);
  p[rank - 2] = static_cast<int64_t>(rank - 1);
  p[rank - 1] = static_cast<int64_t>(rank - 3);
  return p;
}

class LayoutFolder {
 public:
  explicit LayoutFolder(Graph& g) : g_(g), readers_(value_consumers(g)), dead_(g.nodes.size(), false) {}

  bool fold_transposes(int n);
  bool fold_packed_input(int n);
  bool changed() const { return changed_; }
  void finish() {
    if (changed_) finish_fusion(g_, dead_);
  }

 private:
  // The producer of `value` when it is a live node of `op_type` (ONNX domain).
  const Node* producer(int value, const char* op_type) const {
    if (value == kNoValue || g_.values[value].producer < 0 || dead_[g_.values[value].producer]) return nullptr;
    const Node& n = g_.nodes[g_.values[value].producer];
    return n.domain.empty() && n.op_type == op_type ? &n : nullptr;
  }

  // The input of the Transpose producing `value` with permutation `perm`, else kNoValue.
  int transposed_from(int value, const std::vector<int64_t>& perm) const {
    const Node* t = producer(value, "Transpose");
    if (!t || t->inputs.empty()) return kNoValue;
    const Attribute* p = t->find_attribute("perm");
    return p && p->ints == perm ? t->inputs[0] : kNoValue;
  }

  std::optional<int> packed_source(const std::vector<int>& parts, int64_t width) const;
  std::optional<int> merged_projections(int attention, const std::vector<int>& parts,
                                        const std::optional<SymShape>& lead);
  bool is_head_split(const Node& reshape, int64_t heads, int64_t depth) const;
  int static_reshape(int value, const Shape& to, const std::string& name);

  Graph& g_;
  const std::vector<std::vector<int>> readers_;
  std::vector<bool> dead_;
  bool changed_ = false;
};

bool LayoutFolder::fold_transposes(int n) {
  Node& node = g_.nodes[n];
  if (int_attr_or(node, "seq_major", 0) != 0 || node.inputs.size() < 3 || node.outputs.size() != 1) return false;
  const SymShape* q_shape = shape_of(g_, node.inputs[0]);
  if (!q_shape || q_shape->size() < 3) return false;
  const size_t rank = q_shape->size();
  const int out = node.outputs[0];
  if (is_graph_output(g_, out) || readers_[out].size() != 1) return false;
  const int out_reader = readers_[out][0];
  Node& back = g_.nodes[out_reader];
  const Attribute* back_perm = back.find_attribute("perm");
  if (back.op_type != "Transpose" || !back.domain.empty() || !back_perm || back_perm->ints != head_swap(rank)) {
    return false;
  }
  const bool k_transposed = int_attr_or(node, "k_transposed", 0) == 1;
  const int q = transposed_from(node.inputs[0], head_swap(rank));
  const int k = transposed_from(node.inputs[1], k_transposed ? head_key_transpose(rank) : head_swap(rank));
  const int v = transposed_from(node.inputs[2], head_swap(rank));
  if (q == kNoValue || k == kNoValue || v == kNoValue) return false;
  // Sequence major reads one (batch, head) grid from all three: leading dims must agree
  // (heads first, they could broadcast).
  const SymShape *qs = shape_of(g_, q), *ks = shape_of(g_, k), *vs = shape_of(g_, v);
  if (!qs || !ks || !vs || qs->size() != rank || ks->size() != rank || vs->size() != rank) return false;
  for (size_t i = 0; i + 3 < rank; ++i) {
    if (!((*ks)[i] == (*qs)[i]) || !((*vs)[i] == (*qs)[i])) return false;
  }
  if (!((*ks)[rank - 2] == (*qs)[rank - 2]) || !((*vs)[rank - 2] == (*qs)[rank - 2])) return false;

  // The input Transposes (and below, the Split or Slices) are left to dead-code
  // elimination: another node may still read them.
  node.inputs[0] = q;
  node.inputs[1] = k;
  node.inputs[2] = v;
  node.attributes["seq_major"] = int_attr(1);
  node.attributes["k_transposed"] = int_attr(0);
  record_source_nodes(node, back);
  node.outputs[0] = back.outputs[0];
  g_.values[back.outputs[0]].producer = n;
  dead_[out_reader] = true;
  changed_ = true;
  return true;
}

// When `parts` (Q, K and V before their head Reshapes) are the three equal last-axis
// pieces of one value X of `width` = 3 * part columns, cut by a Split or by Slices, X.
std::optional<int> LayoutFolder::packed_source(const std::vector<int>& parts, int64_t width) const {
  // One Split into three equal parts along the last axis.
  if (const Node* split = producer(parts[0], "Split")) {
    const SymShape* xs = shape_of(g_, split->inputs[0]);
    if (!xs || split->outputs.size() != 3) return std::nullopt;
    for (size_t i = 0; i < 3; ++i) {
      if (split->outputs[i] != parts[i]) return std::nullopt;
    }
    const int64_t rank = static_cast<int64_t>(xs->size());
    const int64_t axis = int_attr_or(*split, "axis", 0);
    if (axis != rank - 1 && axis != -1) return std::nullopt;
    // Sizes from the attribute (opset < 13) or input 1; equal parts when absent.
    std::vector<int64_t> sizes;
    if (const Attribute* a = split->find_attribute("split")) sizes = a->ints;
    if (split->inputs.size() > 1 && split->inputs[1] != kNoValue) {
      const Value& s = g_.values[split->inputs[1]];
      if (!s.is_constant()) return std::nullopt;
      for (int64_t i = 0; i < s.constant.numel(); ++i) sizes.push_back(static_cast<int64_t>(s.constant.get_as_double(i)));
    }
    if (!sizes.empty() && (sizes.size() != 3 || sizes[0] != width / 3 || sizes[1] != sizes[0] || sizes[2] != sizes[0])) {
      return std::nullopt;
    }
    return split->inputs[0];
  }
  // Three Slices of one X along the last axis: [0, P), [P, 2P), [2P, 3P), step 1.
  int source = kNoValue;
  const int64_t part = width / 3;
  for (size_t i = 0; i < 3; ++i) {
    const Node* slice = producer(parts[i], "Slice");
    if (!slice || slice->inputs.size() < 4) return std::nullopt;
    if (source != kNoValue && slice->inputs[0] != source) return std::nullopt;
    source = slice->inputs[0];
    const SymShape* xs = shape_of(g_, source);
    if (!xs) return std::nullopt;
    const int64_t rank = static_cast<int64_t>(xs->size());
    auto scalar = [&](size_t slot, int64_t& out) {
      if (slot >= slice->inputs.size() || slice->inputs[slot] == kNoValue) return false;
      const Value& c = g_.values[slice->inputs[slot]];
      if (!c.is_constant() || c.constant.numel() != 1) return false;
      out = static_cast<int64_t>(c.constant.get_as_double(0));
      return true;
    };
    int64_t start = 0, end = 0, axis = 0, step = 1;
    if (!scalar(1, start) || !scalar(2, end) || !scalar(3, axis)) return std::nullopt;
    if (slice->inputs.size() > 4 && slice->inputs[4] != kNoValue && (!scalar(4, step) || step != 1)) return std::nullopt;
    const int64_t want = static_cast<int64_t>(i) * part;
    if ((axis != rank - 1 && axis != -1) || start != want || end != want + part) return std::nullopt;
  }
  return source;
}

bool LayoutFolder::fold_packed_input(int n) {
  {
    const Node& node = g_.nodes[n];
    if (int_attr_or(node, "seq_major", 0) != 1 || int_attr_or(node, "num_heads", 0) != 0 || node.inputs.size() < 3) {
      return false;
    }
  }
  // Q, K and V must be head Reshapes [.., S, H*D] -> [.., S, H, D] of equal shapes. (Copies:
  // adding values below may move the graph's vectors.)
  const SymShape* q_shape = shape_of(g_, g_.nodes[n].inputs[0]);
  if (!q_shape || q_shape->size() < 3) return false;
  const SymShape qs = *q_shape;
  if (!qs[qs.size() - 1].known() || !qs[qs.size() - 2].known()) return false;
  const int64_t heads = qs[qs.size() - 2].value, d = qs[qs.size() - 1].value, width = 3 * heads * d;
  const SymShape lead(qs.begin(), qs.end() - 2);
  // Equal shapes, or (dynamic profiles, where a dim may be "?") three Reshapes that all
  // copy every leading dim of their input and split the last into [H, D].
  std::vector<int> parts;
  bool all_head_splits = true, all_equal = true;
  for (size_t i = 0; i < 3; ++i) {
    const int value = g_.nodes[n].inputs[i];
    const SymShape* s = shape_of(g_, value);
    const Node* reshape = producer(value, "Reshape");
    if (!s || !reshape || reshape->inputs.size() < 2) return false;
    all_equal = all_equal && *s == qs;
    all_head_splits = all_head_splits && is_head_split(*reshape, heads, d);
    parts.push_back(reshape->inputs[0]);
  }
  if (!all_equal && !all_head_splits) return false;
  std::optional<int> x = packed_source(parts, width);
  if (x && all_head_splits) {
    // The parts are X's last-axis pieces with X's leading dims, which the Reshapes copy.
    const SymShape* x_shape = shape_of(g_, *x);
    if (!x_shape || x_shape->size() + 1 != qs.size() || !(x_shape->back() == Dim(width))) return false;
  } else if (x) {
    // X must be [lead..., 3 * H * D] with Q's [lead..., H, D] leads, so that row r of X
    // holds row r of each part (the head Reshapes only split the last axis). torch's
    // MultiheadAttention gives X [S, B, 3E] for Q [S, B*H, D]: the same rows when B = 1
    // and all is static, so X is reshaped (a view) to [S, 3E].
    const SymShape* x_shape = shape_of(g_, *x);
    if (!x_shape || x_shape->empty() || !(x_shape->back() == Dim(width))) return false;
    const SymShape xs = *x_shape;
    if (SymShape(xs.begin(), xs.end() - 1) != lead) {
      if (!is_concrete(xs) || !is_concrete(lead)) return false;
      int64_t x_rows = 1, q_rows = 1;
      for (size_t i = 0; i + 1 < xs.size(); ++i) x_rows *= xs[i].value;
      for (const Dim& dim : lead) q_rows *= dim.value;
      if (x_rows != q_rows) return false;
      Shape to = to_concrete(lead);
      to.push_back(width);
      const std::string name = g_.nodes[n].name + "/packed_qkv";
      x = static_reshape(*x, to, name);
    }
  } else {
    x = merged_projections(n, parts, all_head_splits ? std::nullopt : std::optional<SymShape>(lead));
    if (!x) return false;
  }
  Node& node = g_.nodes[n];
  node.inputs[0] = *x;
  node.inputs[1] = node.inputs[2] = kNoValue;
  node.attributes["num_heads"] = int_attr(heads);
  changed_ = true;
  return true;
}

// Whether `reshape` has a constant target [0, ..., 0, heads, depth] one longer than its
// input's rank: it copies every leading dim and splits the last into heads x depth.
bool LayoutFolder::is_head_split(const Node& reshape, int64_t heads, int64_t depth) const {
  const Value& target = g_.values[reshape.inputs[1]];
  const SymShape* in = shape_of(g_, reshape.inputs[0]);
  if (!target.is_constant() || !in || target.constant.rank() != 1) return false;
  if (const Attribute* a = reshape.find_attribute("allowzero"); a && a->i != 0) return false;
  const std::vector<int64_t> t = target.constant.to_int64_vector();
  if (t.size() != in->size() + 1 || t.size() < 2 || t[t.size() - 2] != heads || t.back() != depth) return false;
  for (size_t i = 0; i + 2 < t.size(); ++i) {
    if (t[i] != 0) return false;
  }
  return true;
}

// A Reshape of `value` to the static shape `to`, added at the end of the node list (the
// graph is ordered topologically when it is compacted).
int LayoutFolder::static_reshape(int value, const Shape& to, const std::string& name) {
  std::vector<int64_t> dims(to.begin(), to.end());
  const int shape = add_constant(g_, name + "_shape", Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims));
  int out = g_.add_value(name);
  for (int k = 1; out < 0; ++k) out = g_.add_value(name + "_" + std::to_string(k));
  g_.values[out].type.dtype = g_.values[value].type.dtype;
  g_.values[out].type.shape = to_sym_shape(to);
  Node reshape;
  reshape.name = name;
  reshape.op_type = "Reshape";
  reshape.inputs = {value, shape};
  reshape.outputs = {out};
  g_.values[out].producer = static_cast<int>(g_.nodes.size());
  g_.nodes.push_back(std::move(reshape));
  dead_.push_back(false);
  return out;
}

// BERT's Q, K and V: three FusedMatMuls (MatMul + bias) of one input A by constant [E_in, E]
// weights, each read only by its head Reshape. They become one FusedMatMul by the
// concatenated [E_in, 3E] weights and [3E] bias, whose output is the packed X.
std::optional<int> LayoutFolder::merged_projections(int attention, const std::vector<int>& parts,
                                                    const std::optional<SymShape>& lead) {
  std::vector<int> gemms;
  for (int part : parts) {
    const int p = g_.values[part].producer;
    if (p < 0 || dead_[p] || is_graph_output(g_, part) || readers_[part].size() != 1) return std::nullopt;
    const Node& m = g_.nodes[p];
    if (m.op_type != "FusedMatMul" || m.domain != "kiln" || m.inputs.size() != 3 || m.outputs.size() != 1) {
      return std::nullopt;
    }
    for (const auto& [name, attr] : m.attributes) {
      if (name != "source_nodes") return std::nullopt;  // an activation: not a plain projection
    }
    gemms.push_back(p);
  }
  const Node& first = g_.nodes[gemms[0]];
  // The merged output is [A's lead..., 3E]: its rows must be Q's rows (given when the
  // head Reshapes copy the leading dims: `lead` is then nullopt).
  const SymShape* a_shape = shape_of(g_, first.inputs[0]);
  if (!a_shape || a_shape->empty()) return std::nullopt;
  const SymShape a_lead(a_shape->begin(), a_shape->end() - 1);
  if (lead && a_lead != *lead) return std::nullopt;
  const Tensor* w[3];
  const Tensor* b[3];
  for (size_t i = 0; i < 3; ++i) {
    const Node& m = g_.nodes[gemms[i]];
    const Value& wv = g_.values[m.inputs[1]];
    const Value& bv = g_.values[m.inputs[2]];
    if (m.inputs[0] != first.inputs[0] || !wv.is_constant() || !bv.is_constant()) return std::nullopt;
    w[i] = &wv.constant;
    b[i] = &bv.constant;
    if (w[i]->dtype() != DType::kFloat32 || w[i]->rank() != 2 || b[i]->dtype() != DType::kFloat32 ||
        w[i]->shape() != w[0]->shape() || b[i]->numel() != w[i]->dim(1)) {
      return std::nullopt;
    }
  }
  const int64_t in = w[0]->dim(0), cols = w[0]->dim(1);
  std::vector<float> weights(static_cast<size_t>(in * 3 * cols)), bias(static_cast<size_t>(3 * cols));
  for (size_t i = 0; i < 3; ++i) {
    const float* wp = w[i]->data<float>();
    for (int64_t r = 0; r < in; ++r) {
      std::copy(wp + r * cols, wp + (r + 1) * cols, weights.begin() + r * 3 * cols + static_cast<int64_t>(i) * cols);
    }
    std::copy(b[i]->data<float>(), b[i]->data<float>() + cols, bias.begin() + static_cast<int64_t>(i) * cols);
  }
  const std::string base = g_.nodes[attention].name + "/qkv";
  const int w_id = add_constant(g_, base + "_weights", Tensor::from_vector<float>({in, 3 * cols}, weights));
  const int b_id = add_constant(g_, base + "_bias", Tensor::from_vector<float>({3 * cols}, bias));
  int out = g_.add_value(base);
  for (int k = 1; out < 0; ++k) out = g_.add_value(base + "_" + std::to_string(k));
  g_.values[out].type.dtype = DType::kFloat32;
  // The projections and the head Reshapes reading them go; the first projection's node
  // becomes the merged one (it precedes the Attention, as its input A does).
  Node& merged = g_.nodes[gemms[0]];
  for (size_t i = 0; i < 3; ++i) {
    const int reshape = readers_[parts[i]][0];
    record_source_nodes(merged, g_.nodes[reshape]);
    dead_[reshape] = true;
    if (i > 0) {
      record_source_nodes(merged, g_.nodes[gemms[i]]);
      dead_[gemms[i]] = true;
    }
  }
  merged.inputs = {merged.inputs[0], w_id, b_id};
  merged.outputs = {out};
  g_.values[out].producer = gemms[0];
  SymShape shape = a_lead;
  shape.push_back(3 * cols);
  g_.values[out].type.shape = shape;
  return out;
}

}  // namespace

Result<bool> fold_attention_layouts(Graph& graph, PassContext&) {
  LayoutFolder folder(graph);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (!is_attention(graph.nodes[n])) continue;
    folder.fold_transposes(static_cast<int>(n));
    folder.fold_packed_input(static_cast<int>(n));
  }
  folder.finish();
  return folder.changed();
}

}  // namespace kiln
