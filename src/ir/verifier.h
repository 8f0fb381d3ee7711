// Structural checks on an imported graph and its execution order. Kernel-specific checks
// (attributes, input counts, dtypes) belong to each op's factory and infer().
#pragma once

#include <vector>

#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln {

// A topological order of graph.nodes; an error names a node on a cycle.
Result<std::vector<int>> topological_order(const Graph& graph);

// Checks that value references are in range, every graph output is defined, there is at
// least one output, and the graph is acyclic. Returns the schedule.
Result<std::vector<int>> verify_graph(const Graph& graph);

}  // namespace kiln
