// The build phase's graph optimizations, run in one fixed, commented order
// (pipeline.cpp). Each pass can be turned off by name so a wrong rewrite can be found by
// bisection; the graph is verified after every pass that changed it.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/build_options.h"
#include "kiln/status.h"

namespace kiln {

// Names of all passes, in pipeline order.
std::vector<std::string> pass_names();
Status optimize_graph(Graph& graph, const BuildOptions& options);

}  // namespace kiln
