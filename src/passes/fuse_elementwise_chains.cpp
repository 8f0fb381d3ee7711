// Runs of float32 elementwise nodes become one kiln::ElementwiseChain node (program format
// in ops/elementwise/chain.h): one pass over memory instead of one per op, and one node
// to schedule instead of several. What the fusions before this pass leave are mostly
// short chains such as BERT's and GPT-2's attention-mask arithmetic
// (Cast -> Sub from 1 -> Mul by -10000) and activations the GEMM/conv fusions could not
// take; models with Swish, HardSwish or bias + activation chains get more.
//
// A chain is a tree: each node inside it but the last has one reader, the next node of
// the chain, and is not a graph output. Its leaves read the chain's external inputs,
// which may be read several times (x * sigmoid(x)). A Cast to float32 can be a leaf; the
// kernel converts that input on load. So that the fused kernel does no more work than
// the nodes it replaces, every node of a chain must have the chain output's shape: a
// node joins its reader only if the reader's other operands broadcast into it (a bias
// row, a scalar), and no node may be an outer product of its operands.
#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <optional>

#include "ir/graph_edit.h"
#include "ops/elementwise/chain.h"
#include "passes/fusion_util.h"
#include "passes/pass.h"

namespace kiln {
namespace {

using elementwise::ChainOp;

// What a node does inside a chain: its op, the values it computes on, and parameters
// that become immediates.
struct Member {
  ChainOp op = ChainOp::kAdd;
  bool cast = false;       // a Cast to float32: no instruction, its input is loaded converted
  std::vector<int> data;   // value ids, in operand order
  std::vector<float> params;
};

bool is_float32(const Graph& g, int value) {
  return value != kNoValue && g.values[value].type.dtype == DType::kFloat32;
}

// The value of a float32 constant with one element.
std::optional<float> scalar_constant(const Graph& g, int value) {
  if (value == kNoValue) return std::nullopt;
  const Tensor& t = g.values[value].constant;
  if (!t.defined() || t.dtype() != DType::kFloat32 || t.numel() != 1) return std::nullopt;
  return t.data<float>()[0];
}

std::optional<float> float_attribute(const Node& node, const char* name, float default_value) {
  const Attribute* a = node.find_attribute(name);
  if (!a) return default_value;
  if (a->kind != Attribute::Kind::kFloat) return std::nullopt;
  return a->f;
}

const std::map<std::string, ChainOp>& plain_unary_ops() {
  static const std::map<std::string, ChainOp> kOps = {
      {"Relu", ChainOp::kRelu},     {"Sigmoid", ChainOp::kSigmoid},       {"Tanh", ChainOp::kTanh},
      {"Exp", ChainOp::kExp},       {"Log", ChainOp::kLog},               {"Neg", ChainOp::kNeg},
      {"Abs", ChainOp::kAbs},       {"Sqrt", ChainOp::kSqrt},             {"Erf", ChainOp::kErf},
      {"Floor", ChainOp::kFloor},   {"Reciprocal", ChainOp::kReciprocal}, {"Ceil", ChainOp::kCeil},
      {"Softsign", ChainOp::kSoftsign}, {"HardSwish", ChainOp::kHardSwish},
  };
  return kOps;
}

const std::map<std::string, ChainOp>& binary_ops() {
  static const std::map<std::string, ChainOp> kOps = {
      {"Add", ChainOp::kAdd}, {"Sub", ChainOp::kSub}, {"Mul", ChainOp::kMul}, {"Div", ChainOp::kDiv},
      {"Pow", ChainOp::kPow}, {"Max", ChainOp::kMax}, {"Min", ChainOp::kMin},
  };
  return kOps;
}

// Clip's bounds: attributes before opset 11, optional constant inputs since.
std::optional<Member> describe_clip(const Graph& g, const Node& node) {
  Member m{ChainOp::kClip, false, {node.inputs[0]}, {}};
  const float inf = std::numeric_limits<float>::infinity();
  if (g.opset() < 11) {
    if (node.inputs.size() != 1) return std::nullopt;
    const std::optional<float> lo = float_attribute(node, "min", -inf), hi = float_attribute(node, "max", inf);
    if (!lo || !hi) return std::nullopt;
    m.params = {*lo, *hi};
    return m;
  }
  if (node.inputs.size() > 3) return std::nullopt;
  for (size_t i : {size_t{1}, size_t{2}}) {
    const bool given = i < node.inputs.size() && node.inputs[i] != kNoValue;
    const std::optional<float> bound = given ? scalar_constant(g, node.inputs[i]) : (i == 1 ? -inf : inf);
    if (!bound) return std::nullopt;
    m.params.push_back(*bound);
  }
  return m;
}

// The node as a chain member; nullopt when it cannot be one.
std::optional<Member> describe(const Graph& g, const Node& node) {
  if (node.outputs.size() != 1 || !is_float32(g, node.outputs[0])) return std::nullopt;
  if (node.inputs.empty() || node.inputs[0] == kNoValue) return std::nullopt;
  const std::string& op = node.op_type;
  const int x = node.inputs[0];
  if (node.domain == "kiln" || (node.domain.empty() && op == "Gelu")) {
    if (op != "Gelu" || node.inputs.size() != 1 || !is_float32(g, x)) return std::nullopt;
    const Attribute* a = node.find_attribute("approximate");
    const std::string approximate = a && a->kind == Attribute::Kind::kString ? a->s : "none";
    if (approximate != "none" && approximate != "tanh") return std::nullopt;
    return Member{approximate == "none" ? ChainOp::kGeluErf : ChainOp::kGeluTanh, false, {x}, {}};
  }
  if (!node.domain.empty()) return std::nullopt;
  if (op == "Cast") {
    const Attribute* to = node.find_attribute("to");
    const bool to_float = to && to->kind == Attribute::Kind::kInt && to->i == static_cast<int64_t>(DType::kFloat32);
    if (!to_float || node.inputs.size() != 1 || !elementwise::chain_loads_dtype(g.values[x].type.dtype)) {
      return std::nullopt;
    }
    return Member{ChainOp::kAdd, true, {x}, {}};
  }
  if (!is_float32(g, x)) return std::nullopt;
  if (auto it = plain_unary_ops().find(op); it != plain_unary_ops().end()) {
    if (node.inputs.size() != 1) return std::nullopt;
    return Member{it->second, false, {x}, {}};
  }
  if (op == "Clip") return describe_clip(g, node);
  if (op == "LeakyRelu" || op == "HardSigmoid") {
    if (node.inputs.size() != 1) return std::nullopt;
    const bool leaky = op == "LeakyRelu";
    const std::optional<float> alpha = float_attribute(node, "alpha", leaky ? 0.01f : 0.2f);
    const std::optional<float> beta = float_attribute(node, "beta", 0.5f);
    if (!alpha || !beta) return std::nullopt;
    if (leaky) return Member{ChainOp::kLeakyRelu, false, {x}, {*alpha}};
    return Member{ChainOp::kHardSigmoid, false, {x}, {*alpha, *beta}};
  }
  auto it = binary_ops().find(op);
  if (it == binary_ops().end() || node.inputs.size() != 2 || !is_float32(g, node.inputs[1])) return std::nullopt;
  // Opset < 7 broadcasting by `axis` is not numpy's; such graphs are rare enough to skip.
  if (g.opset() < 7 && (node.find_attribute("broadcast") || node.find_attribute("axis"))) return std::nullopt;
  // Pow's exponent must be a constant, which then becomes an immediate.
  if (it->second == ChainOp::kPow && !scalar_constant(g, node.inputs[1])) return std::nullopt;
  return Member{it->second, false, {x, node.inputs[1]}, {}};
}

// Whether `q` broadcast against `p` leaves p's shape unchanged: q's rank is not larger
// and each of its dims is 1 or p's dim (equal numbers or the same symbol).
bool broadcasts_into(const Graph& g, int q, int p) {
  const std::optional<SymShape>& qs = g.values[q].type.shape;
  const std::optional<SymShape>& ps = g.values[p].type.shape;
  if (!qs || !ps || qs->size() > ps->size()) return false;
  const size_t offset = ps->size() - qs->size();
  for (size_t d = 0; d < qs->size(); ++d) {
    const Dim& dim = (*qs)[d];
    if (!(dim.known() && dim.value == 1) && !(dim == (*ps)[d + offset])) return false;
  }
  return true;
}

// Whether the node's output has the shape of one of its operands (no outer product).
bool keeps_an_operand_shape(const Graph& g, const Member& m) {
  if (m.data.size() == 1) return true;
  return broadcasts_into(g, m.data[1], m.data[0]) || broadcasts_into(g, m.data[0], m.data[1]);
}

class ChainBuilder {
 public:
  ChainBuilder(const Graph& g, const std::vector<std::optional<Member>>& members,
               const std::vector<std::vector<int>>& children)
      : g_(g), members_(members), children_(children) {}

  // The fused node replacing the tree under `root`; nullopt when its program would break
  // a limit of the kernel (parse_chain_program is the judge, as at kernel creation).
  std::optional<Node> build(int root) {
    if (exceeds(root, 2 * elementwise::kMaxChainInstructions)) return std::nullopt;  // before recursing into it
    visit(root);
    if (!place_externals()) return std::nullopt;
    Node fused;
    fused.name = g_.nodes[root].name;
    fused.op_type = "ElementwiseChain";
    fused.domain = "kiln";
    fused.outputs = g_.nodes[root].outputs;
    fused.inputs = inputs_;
    Attribute program, immediates, sources;
    program.kind = Attribute::Kind::kInts;
    for (const Instruction& ins : code_) {
      for (const Operand& o : ins) program.ints.push_back(word(o));
    }
    immediates.kind = Attribute::Kind::kFloats;
    immediates.floats = immediates_;
    sources.kind = Attribute::Kind::kStrings;
    sources.strings = sources_;
    fused.attributes = {{"program", program}, {"immediates", immediates}, {"source_nodes", sources}};
    if (!elementwise::parse_chain_program(fused).is_ok()) return std::nullopt;
    return fused;
  }

 private:
  // An instruction word before the inputs are numbered: a literal (opcode, immediate,
  // unused 0), an external value, or an earlier instruction's result.
  struct Operand {
    enum class Kind { kLiteral, kExternal, kResult } kind = Kind::kLiteral;
    int64_t index = 0;  // the literal, the index into externals_, or the instruction
  };
  using Instruction = std::vector<Operand>;

  int64_t word(const Operand& o) const {
    switch (o.kind) {
      case Operand::Kind::kLiteral: return o.index;
      case Operand::Kind::kExternal: return slot_of_external_[o.index];
      case Operand::Kind::kResult: return static_cast<int64_t>(inputs_.size()) + o.index;
    }
    return 0;
  }

  Operand immediate(float v) {
    for (size_t i = 0; i < immediates_.size(); ++i) {
      if (std::memcmp(&immediates_[i], &v, sizeof v) == 0) return {Operand::Kind::kLiteral, elementwise::chain_immediate(i)};
    }
    immediates_.push_back(v);
    return {Operand::Kind::kLiteral, elementwise::chain_immediate(immediates_.size() - 1)};
  }

  Operand external(int value) {
    auto it = std::find(externals_.begin(), externals_.end(), value);
    if (it == externals_.end()) it = externals_.insert(externals_.end(), value);
    return {Operand::Kind::kExternal, it - externals_.begin()};
  }

  // Whether the tree under `n` has more than `limit` nodes (a loop: the tree may be deep).
  bool exceeds(int n, size_t limit) const {
    std::vector<int> stack{n};
    size_t count = 0;
    while (!stack.empty() && count <= limit) {
      const int k = stack.back();
      stack.pop_back();
      ++count;
      stack.insert(stack.end(), children_[k].begin(), children_[k].end());
    }
    return count > limit;
  }

  int tree_size(int n) const {
    int size = 1;
    for (int c : children_[n]) size += tree_size(c);
    return size;
  }

  // Emits the node's subtree in post-order, larger subtrees first so fewer results are
  // alive at once; returns the operand that reads the node's result.
  Operand visit(int n) {
    const Member& m = *members_[n];
    const Node& node = g_.nodes[n];
    std::vector<std::pair<int, int>> kids;  // (size, node)
    for (int c : children_[n]) kids.emplace_back(tree_size(c), c);
    std::stable_sort(kids.begin(), kids.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::map<int, Operand> from_child;  // a child's output value -> its result
    for (const auto& [size, c] : kids) from_child[g_.nodes[c].outputs[0]] = visit(c);
    if (m.cast) {
      sources_.push_back(node.name);
      return external(m.data[0]);
    }
    Instruction ins(elementwise::kInstructionWidth);
    ins[0] = {Operand::Kind::kLiteral, static_cast<int64_t>(m.op)};
    size_t j = 1;
    for (int v : m.data) {
      auto it = from_child.find(v);
      ins[j++] = it != from_child.end() ? it->second : external(v);
    }
    for (float p : m.params) ins[j++] = immediate(p);
    code_.push_back(std::move(ins));
    if (const Attribute* s = node.find_attribute("source_nodes"); s && s->kind == Attribute::Kind::kStrings) {
      sources_.insert(sources_.end(), s->strings.begin(), s->strings.end());  // kiln::Gelu's nodes
    } else {
      sources_.push_back(node.name);
    }
    return {Operand::Kind::kResult, static_cast<int64_t>(code_.size() - 1)};
  }

  // One-element float32 constants become immediates where that cannot change the
  // output's rank (it is the largest rank of the remaining inputs); the other externals
  // are the fused node's inputs, in order of first use.
  bool place_externals() {
    size_t max_rank = 0;
    std::vector<bool> scalar(externals_.size());
    for (size_t i = 0; i < externals_.size(); ++i) {
      scalar[i] = scalar_constant(g_, externals_[i]).has_value();
      const std::optional<SymShape>& shape = g_.values[externals_[i]].type.shape;
      if (!scalar[i] && shape) max_rank = std::max(max_rank, shape->size());
    }
    slot_of_external_.assign(externals_.size(), 0);
    for (size_t i = 0; i < externals_.size(); ++i) {
      const Tensor& c = g_.values[externals_[i]].constant;
      if (scalar[i] && c.rank() <= max_rank) {
        slot_of_external_[i] = immediate(c.data<float>()[0]).index;
      } else {
        slot_of_external_[i] = static_cast<int64_t>(inputs_.size());
        inputs_.push_back(externals_[i]);
      }
    }
    return !inputs_.empty() && inputs_.size() <= elementwise::kMaxChainInputs;
  }

  const Graph& g_;
  const std::vector<std::optional<Member>>& members_;
  const std::vector<std::vector<int>>& children_;
  std::vector<Instruction> code_;
  std::vector<float> immediates_;
  std::vector<int> externals_;  // value ids, in order of first use
  std::vector<int64_t> slot_of_external_;
  std::vector<int> inputs_;
  std::vector<std::string> sources_;
};

}  // namespace

Result<bool> fuse_elementwise_chains(Graph& graph, PassContext&) {
  const size_t n = graph.nodes.size();
  const auto consumers = value_consumers(graph);
  std::vector<std::optional<Member>> members(n);
  for (size_t i = 0; i < n; ++i) {
    members[i] = describe(graph, graph.nodes[i]);
    if (members[i] && !keeps_an_operand_shape(graph, *members[i])) members[i].reset();
  }
  // The reader each member joins, when it is a member too and keeps the member's shape.
  std::vector<int> parent(n, -1);
  std::vector<std::vector<int>> children(n);
  for (size_t i = 0; i < n; ++i) {
    if (!members[i]) continue;
    const int out = graph.nodes[i].outputs[0];
    if (consumers[out].size() != 1 || is_graph_output(graph, out)) continue;
    const int c = consumers[out][0];
    if (!members[c] || members[c]->cast) continue;
    const std::vector<int>& operands = members[c]->data;
    if (std::find(operands.begin(), operands.end(), out) == operands.end()) continue;
    bool keeps_shape = true;
    for (int q : operands) keeps_shape = keeps_shape && (q == out || broadcasts_into(graph, q, out));
    if (!keeps_shape) continue;
    parent[i] = c;
    children[c].push_back(static_cast<int>(i));
  }
  std::vector<bool> dead(n, false);
  bool changed = false;
  for (size_t root = 0; root < n; ++root) {
    if (!members[root] || members[root]->cast || parent[root] >= 0 || children[root].empty()) continue;
    std::optional<Node> fused = ChainBuilder(graph, members, children).build(static_cast<int>(root));
    if (!fused) continue;
    std::vector<int> stack = children[root];
    while (!stack.empty()) {
      const int k = stack.back();
      stack.pop_back();
      dead[k] = true;
      stack.insert(stack.end(), children[k].begin(), children[k].end());
    }
    graph.nodes[root] = std::move(*fused);
    changed = true;
  }
  if (changed) finish_fusion(graph, dead);
  return changed;
}

}  // namespace kiln
