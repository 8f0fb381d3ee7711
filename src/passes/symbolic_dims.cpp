#include "passes/symbolic_dims.h"

#include <cmath>

namespace kiln {
namespace {

// Deep enough for Shape -> Slice -> Squeeze -> Sub -> Unsqueeze -> Slice chains with
// Transposes and Reshapes in between; bounds the walk on pathological graphs.
constexpr int kMaxDepth = 24;

const Node* producer(const Graph& g, int value) {
  if (value == kNoValue) return nullptr;
  const int p = g.values[value].producer;
  if (p < 0) return nullptr;
  const Node& n = g.nodes[p];
  return n.domain.empty() ? &n : nullptr;
}

std::optional<int64_t> constant_element(const Graph& g, int value, int64_t i) {
  if (value == kNoValue) return std::nullopt;
  const Value& v = g.values[value];
  if (!v.is_constant() || !is_integer_dtype(v.constant.dtype()) || i < 0 || i >= v.constant.numel()) {
    return std::nullopt;
  }
  return v.constant.get_as_int64(i);
}

// An optional Slice input (axes, steps) as constant integers; an absent input is empty.
std::optional<std::vector<int64_t>> constant_list(const Graph& g, const Node& n, size_t input) {
  if (input >= n.inputs.size() || n.inputs[input] == kNoValue) return std::vector<int64_t>{};
  const Value& v = g.values[n.inputs[input]];
  if (!v.is_constant() || !is_integer_dtype(v.constant.dtype())) return std::nullopt;
  return v.constant.to_int64_vector();
}

bool is_int_cast(const Graph& g, const Node& n) {
  if (n.op_type != "Cast" || n.inputs.empty() || n.inputs[0] == kNoValue) return false;
  const Attribute* to = n.find_attribute("to");
  return to && is_integer_dtype(static_cast<DType>(to->i)) &&
         is_integer_dtype(g.values[n.inputs[0]].type.dtype);
}

}  // namespace

DimExpr DimExpr::of(int64_t c) {
  DimExpr e;
  e.constant = c;
  return e;
}

DimExpr DimExpr::dim(int value, int64_t axis) {
  DimExpr e;
  e.terms[{value, axis}] = 1;
  return e;
}

DimExpr DimExpr::operator+(const DimExpr& o) const {
  DimExpr r = *this;
  r.constant += o.constant;
  for (const auto& [key, coeff] : o.terms) {
    if ((r.terms[key] += coeff) == 0) r.terms.erase(key);
  }
  return r;
}

DimExpr DimExpr::operator-(const DimExpr& o) const { return *this + o.times(-1); }

DimExpr DimExpr::times(int64_t f) const {
  if (f == 0) return of(0);
  DimExpr r = *this;
  r.constant *= f;
  for (auto& [key, coeff] : r.terms) coeff *= f;
  return r;
}

int64_t SymbolicDims::rank(int value) const {
  if (value == kNoValue) return -1;
  const Value& v = g_.values[value];
  if (v.is_constant()) return static_cast<int64_t>(v.constant.rank());
  return v.type.shape ? static_cast<int64_t>(v.type.shape->size()) : -1;
}

int64_t SymbolicDims::numel(int value) const {
  if (value == kNoValue) return -1;
  const Value& v = g_.values[value];
  if (v.is_constant()) return v.constant.numel();
  if (!v.type.shape) return -1;
  int64_t n = 1;
  for (const Dim& d : *v.type.shape) {
    if (!d.known()) return -1;
    n *= d.value;
  }
  return n;
}

std::optional<DimExpr> SymbolicDims::dim(int value, int64_t axis, int depth) const {
  const int64_t r = rank(value);
  if (r < 0 || depth > kMaxDepth) return std::nullopt;
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return std::nullopt;
  const Value& v = g_.values[value];
  if (v.is_constant()) return DimExpr::of(v.constant.dim(static_cast<size_t>(axis)));
  if (v.type.shape && (*v.type.shape)[axis].known()) return DimExpr::of((*v.type.shape)[axis].value);
  if (const Node* p = producer(g_, value)) {
    if (p->op_type == "Transpose" && !p->inputs.empty()) {
      const Attribute* perm = p->find_attribute("perm");
      if (perm && static_cast<int64_t>(perm->ints.size()) == r) return dim(p->inputs[0], perm->ints[axis], depth + 1);
      if (!perm) return dim(p->inputs[0], r - 1 - axis, depth + 1);  // default: reversed dims
    } else if (p->op_type == "Reshape" && p->inputs.size() == 2) {
      if (std::optional<DimExpr> d = reshape_dim(*p, axis, depth)) return d;
    } else if (p->op_type == "Cast" || ((p->op_type == "Div" || p->op_type == "Mul") && p->inputs.size() == 2 &&
                                        numel(p->inputs[1]) == 1 && rank(p->inputs[0]) == r)) {
      return dim(p->inputs[0], axis, depth + 1);  // same shape as the first input (Q / scale)
    }
  }
  return DimExpr::dim(value, axis);
}

// Reshape's output dim is the target element when that is positive; 0 copies the input
// dim (unless allowzero). A run-time element is taken when it provably equals the input's
// dim at the same axis (batch and sequence in [B, S, hidden] -> [B, S, H, D]), since then
// a 0 would copy the same number.
std::optional<DimExpr> SymbolicDims::reshape_dim(const Node& reshape, int64_t axis, int depth) const {
  std::optional<DimExpr> e = int_element(reshape.inputs[1], axis, depth + 1);
  if (!e) return std::nullopt;
  const Attribute* allowzero = reshape.find_attribute("allowzero");
  const bool zero_is_zero = allowzero && allowzero->i != 0;
  if (e->is_constant()) {
    if (e->constant > 0 || (e->constant == 0 && zero_is_zero)) return e;
    if (e->constant == 0) return dim(reshape.inputs[0], axis, depth + 1);
    return std::nullopt;  // -1: inferred from the element count
  }
  if (zero_is_zero) return e;
  std::optional<DimExpr> copied = dim(reshape.inputs[0], axis, depth + 1);
  if (copied && *copied == *e) return e;
  return std::nullopt;
}

std::optional<DimExpr> SymbolicDims::int_element(int value, int64_t i, int depth) const {
  if (value == kNoValue || depth > kMaxDepth || i < 0) return std::nullopt;
  if (!is_integer_dtype(g_.values[value].type.dtype) && !g_.values[value].is_constant()) return std::nullopt;
  if (std::optional<int64_t> c = constant_element(g_, value, i)) return DimExpr::of(*c);
  const Node* p = producer(g_, value);
  if (!p || p->inputs.empty()) return std::nullopt;
  const std::string& op = p->op_type;
  if (op == "Shape") {
    const int64_t r = rank(p->inputs[0]);
    if (r < 0) return std::nullopt;
    auto clamp = [r](int64_t x) { return std::min(r, std::max<int64_t>(0, x < 0 ? x + r : x)); };
    const Attribute* start = p->find_attribute("start");
    const Attribute* end = p->find_attribute("end");
    const int64_t begin = start ? clamp(start->i) : 0;
    const int64_t stop = end ? clamp(end->i) : r;
    if (begin + i >= stop) return std::nullopt;
    return dim(p->inputs[0], begin + i, depth + 1);
  }
  if (op == "Squeeze" || op == "Unsqueeze" || op == "Reshape" || op == "Identity" || op == "Flatten" ||
      is_int_cast(g_, *p)) {
    return int_element(p->inputs[0], i, depth + 1);  // row-major order is unchanged
  }
  if (op == "Gather") {
    const Attribute* axis = p->find_attribute("axis");
    if ((axis && axis->i != 0) || p->inputs.size() != 2 || rank(p->inputs[0]) != 1) return std::nullopt;
    std::optional<int64_t> index = constant_element(g_, p->inputs[1], i);
    const int64_t n = numel(p->inputs[0]);
    if (!index || n < 0) return std::nullopt;
    const int64_t at = *index < 0 ? *index + n : *index;
    return at >= 0 && at < n ? int_element(p->inputs[0], at, depth + 1) : std::nullopt;
  }
  if (op == "Slice") return slice_element(*p, i, depth);
  if (op == "Concat") {
    const Attribute* axis = p->find_attribute("axis");
    if (!axis || (axis->i != 0 && axis->i != -1) || rank(value) != 1) return std::nullopt;
    int64_t offset = i;
    for (int piece : p->inputs) {
      const int64_t n = numel(piece);
      if (n < 0) return std::nullopt;
      if (offset < n) return int_element(piece, offset, depth + 1);
      offset -= n;
    }
    return std::nullopt;
  }
  // Elementwise arithmetic on one-element values (sizes: key_length - query_length).
  if (i != 0 || numel(value) != 1) return std::nullopt;
  if (op == "Neg") {
    std::optional<DimExpr> a = int_element(p->inputs[0], 0, depth + 1);
    return a ? std::optional<DimExpr>(a->times(-1)) : std::nullopt;
  }
  if ((op == "Add" || op == "Sub" || op == "Mul") && p->inputs.size() == 2 && numel(p->inputs[0]) == 1 &&
      numel(p->inputs[1]) == 1) {
    std::optional<DimExpr> a = int_element(p->inputs[0], 0, depth + 1);
    std::optional<DimExpr> b = int_element(p->inputs[1], 0, depth + 1);
    if (!a || !b) return std::nullopt;
    if (op == "Add") return *a + *b;
    if (op == "Sub") return *a - *b;
    if (b->is_constant()) return a->times(b->constant);
    if (a->is_constant()) return b->times(a->constant);
  }
  return std::nullopt;
}

// Element i of a step-1 Slice of a 1-D value with constant bounds (Shape(x)[-2:-1]).
std::optional<DimExpr> SymbolicDims::slice_element(const Node& slice, int64_t i, int depth) const {
  if (slice.inputs.size() < 3 || rank(slice.inputs[0]) != 1) return std::nullopt;
  const int64_t n = numel(slice.inputs[0]);
  std::optional<int64_t> start = constant_element(g_, slice.inputs[1], 0);
  std::optional<int64_t> end = constant_element(g_, slice.inputs[2], 0);
  std::optional<std::vector<int64_t>> axes = constant_list(g_, slice, 3);
  std::optional<std::vector<int64_t>> steps = constant_list(g_, slice, 4);
  if (n < 0 || !start || !end || !axes || !steps) return std::nullopt;
  if (!(axes->empty() || (axes->size() == 1 && ((*axes)[0] == 0 || (*axes)[0] == -1)))) return std::nullopt;
  if (!(steps->empty() || (steps->size() == 1 && (*steps)[0] == 1))) return std::nullopt;
  auto clamp = [n](int64_t x) { return std::min(n, std::max<int64_t>(0, x < 0 ? x + n : x)); };
  const int64_t begin = clamp(*start);
  if (begin + i >= clamp(*end)) return std::nullopt;
  return int_element(slice.inputs[0], begin + i, depth + 1);
}

std::optional<float> SymbolicDims::float_scalar(int value, int depth) const {
  if (value == kNoValue || depth > kMaxDepth || numel(value) != 1) return std::nullopt;
  const Value& v = g_.values[value];
  if (v.is_constant()) {
    if (!is_float_dtype(v.constant.dtype()) && !is_integer_dtype(v.constant.dtype())) return std::nullopt;
    return static_cast<float>(v.constant.get_as_double(0));
  }
  if (is_integer_dtype(v.type.dtype)) {
    std::optional<DimExpr> e = int_element(value, 0, depth + 1);
    if (e && e->is_constant()) return static_cast<float>(e->constant);
    return std::nullopt;
  }
  const Node* p = producer(g_, value);
  if (!p || p->inputs.empty()) return std::nullopt;
  const std::string& op = p->op_type;
  if (op == "Cast" || op == "Identity" || op == "Squeeze" || op == "Unsqueeze" || op == "Reshape") {
    return float_scalar(p->inputs[0], depth + 1);
  }
  std::optional<float> a = float_scalar(p->inputs[0], depth + 1);
  if (!a) return std::nullopt;
  if (op == "Sqrt") return std::sqrt(*a);
  if (op == "Neg") return -*a;
  if (op == "Reciprocal") return 1.0f / *a;
  if (p->inputs.size() != 2) return std::nullopt;
  std::optional<float> b = float_scalar(p->inputs[1], depth + 1);
  if (!b) return std::nullopt;
  if (op == "Add") return *a + *b;
  if (op == "Sub") return *a - *b;
  if (op == "Mul") return *a * *b;
  if (op == "Div") return *a / *b;
  if (op == "Pow") return std::pow(*a, *b);
  return std::nullopt;
}

}  // namespace kiln
