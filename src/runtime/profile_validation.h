// Build-time checks of optimization profiles against the model's inputs, so a bad
// profile fails when the engine is built, naming the input, the dim and the values.
#pragma once

#include "ir/graph.h"
#include "kiln/build_options.h"
#include "kiln/status.h"

namespace kiln {

Status validate_profiles(const Graph& graph, const BuildOptions& options);

}  // namespace kiln
