// Runs one node on constant inputs at build time, with the backend's own kernel, so that
// folding computes exactly what inference would.
#pragma once

#include <vector>

#include "backend/backend.h"
#include "ir/graph.h"

namespace kiln {

// Outputs per node output (undefined for omitted outputs). Every input must be constant.
Result<std::vector<Tensor>> evaluate_node(const Graph& graph, const Node& node, const Backend& backend);

}  // namespace kiln
