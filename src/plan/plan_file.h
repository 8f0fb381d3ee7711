// Plan files: the build phase's output, loaded by the runtime phase without the ONNX
// model. A plan holds the optimized graph, its weights (64-byte aligned, so they can be
// mapped rather than copied), the build options and profiles, the kiln version and
// format version, and the CPU features it needs, under a checksum that is verified
// before anything is parsed. Writes are atomic: a temporary file, then a rename.
#pragma once

#include <string>

#include "ir/graph.h"
#include "kiln/build_options.h"
#include "kiln/status.h"

namespace kiln {

struct PlanContents {
  Graph graph;
  BuildOptions options;
};

Status write_plan_file(const std::string& path, const Graph& graph, const BuildOptions& options);
Result<PlanContents> read_plan_file(const std::string& path);

}  // namespace kiln
