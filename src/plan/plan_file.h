// Plan files: the build phase's output, loaded by the runtime phase without the ONNX
// model. A plan holds the optimized graph, its weights (64-byte aligned, so they can be
// mapped rather than copied), the build options and profiles, the kiln version and
// format version, and the CPU features it needs, under a checksum that is verified
// before anything is parsed. Writes are atomic: a temporary file, then a rename.
// plan_format.h has the byte layout; plan.proto the metadata schema.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/build_options.h"
#include "kiln/status.h"
#include "ops/packed_weight.h"
#include "plan/cpu_features.h"
#include "plan/plan_format.h"

namespace kiln {

// Weights the kernels hold packed in their backend's layouts (OpKernel::packed_weights).
struct PlanPackedWeights {
  std::string format;  // Backend::packed_weights_format() of the kernels that packed them
  std::vector<std::vector<PackedWeight>> per_node;  // indexed like graph.nodes; may be shorter
  size_t count() const;
  uint64_t bytes() const;
};

struct PlanContents {
  Graph graph;  // constants point into the file's read-only mapping
  BuildOptions options;
  PlanPackedWeights packed_weights;  // their bytes point into the mapping too
  std::string kiln_version;   // of the kiln that wrote the plan
  std::string source_model;   // the ONNX file it was built from
  uint64_t file_size = 0;
};

// What a plan records about the machine and format. Only tests change these (to write a
// plan from a "future" format version or one that needs a CPU feature nothing has).
struct PlanWriteOptions {
  std::vector<std::string> cpu_features = compiled_cpu_features();
  uint32_t format_version = kPlanFormatVersion;
};

// Writes `path` atomically: `path.tmp.<pid>` is written in full, fsynced and renamed
// over `path`; on any failure the temporary file is removed and `path` is untouched.
// `packed` blobs are stored 64-byte aligned like every tensor, after the graph's. The
// caller adds the CPU features their layouts need to `write_options`.
Status write_plan_file(const std::string& path, const Graph& graph, const BuildOptions& options,
                       const PlanWriteOptions& write_options = {}, const PlanPackedWeights& packed = {});

// Checks the header and checksum, maps the file read-only and rebuilds the graph with
// its constants pointing into the mapping (unmapped when the last of them goes). Every
// failure is a Status naming the file and the problem.
Result<PlanContents> read_plan_file(const std::string& path);

}  // namespace kiln
