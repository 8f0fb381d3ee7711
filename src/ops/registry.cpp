#include "ops/registry.h"

#include <algorithm>
#include <set>

namespace kiln {

std::string normalize_domain(const std::string& domain) {
  return domain == "ai.onnx" ? std::string() : domain;
}

const OpRegistry& OpRegistry::builtin() {
  static const OpRegistry registry;
  return registry;
}

OpRegistry::OpRegistry() {
  // Every op family, in one explicit list.
  for (auto family : {elementwise_ops(), tensor_ops(), nn_ops(), reduce_ops(), linalg_ops()}) {
    entries_.insert(entries_.end(), family.begin(), family.end());
  }
}

const OpRegistration* OpRegistry::find(const std::string& domain, const std::string& op_type,
                                       int64_t opset) const {
  const std::string d = normalize_domain(domain);
  const OpRegistration* best = nullptr;
  for (const OpRegistration& e : entries_) {
    if (op_type != e.op_type || d != e.domain || e.since_version > opset) continue;
    if (!best || e.since_version > best->since_version) best = &e;
  }
  return best;
}

std::vector<std::string> OpRegistry::op_names() const {
  std::set<std::string> names;
  for (const OpRegistration& e : entries_) {
    names.insert(std::string(*e.domain ? std::string(e.domain) + "::" : "") + e.op_type);
  }
  return {names.begin(), names.end()};
}

}  // namespace kiln
