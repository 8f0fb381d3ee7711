// A dynamic input dim that every profile pins to one value (min == max) is static for
// this plan: writing it into the input's type lets shape queries fold. A pinned dim with
// a symbolic name ("sequence") pins that symbol in every input, since inputs sharing a
// symbol must agree (trtexec's --shapes=input_ids:1x128 fixes the mask's length too).
#include <map>

#include "passes/pass.h"

namespace kiln {
namespace {

// The value every profile gives input `name`'s dim `d` as both min and max; -1 if none.
int64_t pinned_value(const std::vector<ShapeProfile>& profiles, const std::string& name, size_t rank, size_t d) {
  int64_t pinned = -1;
  for (const ShapeProfile& p : profiles) {
    auto lo = p.min.find(name);
    auto hi = p.max.find(name);
    if (lo == p.min.end() || hi == p.max.end() || lo->second.size() != rank || hi->second.size() != rank ||
        lo->second[d] != hi->second[d] || (pinned >= 0 && pinned != lo->second[d])) {
      return -1;
    }
    pinned = lo->second[d];
  }
  return pinned;
}

}  // namespace

Result<bool> specialize_input_shapes(Graph& graph, PassContext& ctx) {
  const auto& profiles = ctx.options.profiles;
  if (profiles.empty()) return false;
  constexpr int64_t kConflict = -2;
  std::map<std::string, int64_t> symbols;  // symbol -> pinned value, kConflict when inputs disagree
  bool changed = false;
  for (int in : graph.inputs) {
    Value& v = graph.values[in];
    if (!v.type.shape) continue;
    SymShape& shape = *v.type.shape;
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d].known()) continue;
      const int64_t pinned = pinned_value(profiles, v.name, shape.size(), d);
      if (pinned < 0) continue;
      if (!shape[d].symbol.empty()) {
        auto [it, inserted] = symbols.emplace(shape[d].symbol, pinned);
        if (!inserted && it->second != pinned) it->second = kConflict;
      }
      shape[d] = Dim(pinned);
      changed = true;
    }
  }
  for (int in : graph.inputs) {
    Value& v = graph.values[in];
    if (!v.type.shape) continue;
    for (Dim& dim : *v.type.shape) {
      if (dim.known() || dim.symbol.empty()) continue;
      auto it = symbols.find(dim.symbol);
      if (it == symbols.end() || it->second == kConflict) continue;
      dim = Dim(it->second);
      changed = true;
    }
  }
  return changed;
}

}  // namespace kiln
