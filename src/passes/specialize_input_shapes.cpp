// A dynamic input dim that every profile pins to one value (min == max) is static for
// this plan: writing it into the input's type lets shape queries fold.
#include "passes/pass.h"

namespace kiln {

Result<bool> specialize_input_shapes(Graph& graph, PassContext& ctx) {
  const auto& profiles = ctx.options.profiles;
  if (profiles.empty()) return false;
  bool changed = false;
  for (int in : graph.inputs) {
    Value& v = graph.values[in];
    if (!v.type.shape) continue;
    SymShape& shape = *v.type.shape;
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d].known()) continue;
      int64_t pinned = -1;
      bool same = true;
      for (const ShapeProfile& p : profiles) {
        auto lo = p.min.find(v.name);
        auto hi = p.max.find(v.name);
        if (lo == p.min.end() || hi == p.max.end() || lo->second.size() != shape.size() ||
            hi->second.size() != shape.size() || lo->second[d] != hi->second[d] ||
            (pinned >= 0 && pinned != lo->second[d])) {
          same = false;
          break;
        }
        pinned = lo->second[d];
      }
      if (same && pinned >= 0) {
        shape[d] = Dim(pinned);
        changed = true;
      }
    }
  }
  return changed;
}

}  // namespace kiln
