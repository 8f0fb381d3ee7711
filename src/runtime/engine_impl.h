// What an Engine holds once built: the verified graph, one kernel per node, the
// schedule and value lifetimes. Immutable after build_engine(); shared by contexts.
#pragma once

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "ir/graph.h"
#include "kiln/engine.h"
#include "ops/kernel.h"

namespace kiln {

class EngineImpl {
 public:
  Graph graph;
  std::vector<std::unique_ptr<OpKernel>> kernels;  // per node, indexed like graph.nodes
  std::vector<int> schedule;                       // node indices in execution order
  // Per value: the schedule position after which it is dead; -1 if never read,
  // kKeepAlive for graph outputs and constants.
  std::vector<int> last_use;
  std::vector<bool> consumed;                      // per value: read by a node or a graph output
  // Per value: a function of the input shapes alone (constants, Shape and Size outputs,
  // and what is computed only from those), so the same for every run with the same input
  // shapes. Shape inference that reads such values can be recorded once per shape.
  std::vector<bool> shape_derived;
  std::vector<TensorDesc> inputs;
  std::vector<TensorDesc> outputs;
  BuildOptions options;  // as built; saved into plans

  static constexpr int kKeepAlive = 1 << 30;
};

// Prepares an (already optimized) graph for execution on `backend`. `packed_weights`
// (per node, from a plan) seed the kernels' packed weights.
Result<std::unique_ptr<EngineImpl>> build_engine(Graph graph, const Backend& backend,
                                                 const BuildOptions& options = {},
                                                 const std::vector<std::vector<PackedWeight>>& packed_weights = {});

}  // namespace kiln
