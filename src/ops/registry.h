// The explicit table of operators kiln implements. Each op family owns one table in its
// own folder (ops/<family>/register.cpp) and is listed in registry.cpp; there are no
// static initializers. An entry is valid from `since_version` until the next entry of the
// same op, so semantics that changed across opsets get their own entry.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "ops/kernel.h"

namespace kiln {

struct OpRegistration {
  const char* domain;     // "" for ai.onnx
  const char* op_type;
  int since_version;
  KernelFactory factory;
};

std::span<const OpRegistration> elementwise_ops();
std::span<const OpRegistration> tensor_ops();
std::span<const OpRegistration> nn_ops();
std::span<const OpRegistration> reduce_ops();
std::span<const OpRegistration> linalg_ops();

class OpRegistry {
 public:
  static const OpRegistry& builtin();
  // The newest entry with since_version <= opset; null when none.
  const OpRegistration* find(const std::string& domain, const std::string& op_type,
                             int64_t opset) const;
  // All (domain, op_type) pairs, sorted, for --help and the conformance report.
  std::vector<std::string> op_names() const;

 private:
  OpRegistry();
  std::vector<OpRegistration> entries_;
};

// "ai.onnx" and "" are the same domain in ONNX models.
std::string normalize_domain(const std::string& domain);

}  // namespace kiln
