// Puts "node 'name' (OpType)" in front of an error, unless the kernel already named it.
#pragma once

#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln {

inline Status in_node(const Status& s, const Node& node) {
  const std::string prefix = node.describe();
  if (s.is_ok() || s.message().find(prefix) != std::string::npos) return s;
  return s.with_context(prefix);
}

}  // namespace kiln
