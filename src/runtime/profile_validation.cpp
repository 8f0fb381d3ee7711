#include "runtime/profile_validation.h"

namespace kiln {
namespace {

Status check_input_profile(const Value& input, size_t profile, const ShapeProfile& p) {
  const std::string where = "profile " + std::to_string(profile) + ", input '" + input.name + "'";
  auto lo = p.min.find(input.name), opt = p.opt.find(input.name), hi = p.max.find(input.name);
  const bool any = lo != p.min.end() || opt != p.opt.end() || hi != p.max.end();
  if (!any) return Status::ok();
  if (lo == p.min.end() || opt == p.opt.end() || hi == p.max.end()) {
    return invalid_argument(where + ": min, opt and max shapes must all be given");
  }
  const Shape &mn = lo->second, &op = opt->second, &mx = hi->second;
  if (mn.size() != op.size() || op.size() != mx.size()) {
    return invalid_argument(where + ": min " + shape_to_string(mn) + ", opt " + shape_to_string(op) + " and max " +
                            shape_to_string(mx) + " differ in rank");
  }
  if (input.type.shape && input.type.shape->size() != mn.size()) {
    return invalid_argument(where + ": the model's input has rank " + std::to_string(input.type.shape->size()) +
                            ", the profile gives rank " + std::to_string(mn.size()));
  }
  for (size_t d = 0; d < mn.size(); ++d) {
    if (mn[d] < 0 || !(mn[d] <= op[d] && op[d] <= mx[d])) {
      return invalid_argument(where + ": dim " + std::to_string(d) + " needs 0 <= min <= opt <= max, got min " +
                              std::to_string(mn[d]) + ", opt " + std::to_string(op[d]) + ", max " +
                              std::to_string(mx[d]));
    }
    if (input.type.shape && (*input.type.shape)[d].known()) {
      const int64_t fixed = (*input.type.shape)[d].value;
      if (mn[d] != fixed || mx[d] != fixed) {
        return invalid_argument(where + ": dim " + std::to_string(d) + " is fixed to " + std::to_string(fixed) +
                                " by the model, the profile gives [" + std::to_string(mn[d]) + ", " +
                                std::to_string(mx[d]) + "]");
      }
    }
  }
  return Status::ok();
}

}  // namespace

Status validate_profiles(const Graph& graph, const BuildOptions& options) {
  for (size_t i = 0; i < options.profiles.size(); ++i) {
    const ShapeProfile& p = options.profiles[i];
    for (const auto* shapes : {&p.min, &p.opt, &p.max}) {
      for (const auto& [name, shape] : *shapes) {
        bool found = false;
        for (int in : graph.inputs) found |= graph.values[in].name == name;
        if (!found) {
          std::string names;
          for (int in : graph.inputs) names += (names.empty() ? "" : ", ") + graph.values[in].name;
          return invalid_argument("profile " + std::to_string(i) + " names input '" + name +
                                  "', which the model does not have (its inputs: " + names + ")");
        }
      }
    }
    for (int in : graph.inputs) KILN_RETURN_IF_ERROR(check_input_profile(graph.values[in], i, p));
  }
  return Status::ok();
}

}  // namespace kiln
