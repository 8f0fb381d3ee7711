// Kernels for a whole graph: the check that a backend supports every node, kernel
// creation, and static type inference. Shared by the engine builder and the graph
// passes (which need kernels to fold constants and types to check rewrites).
#pragma once

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "ir/graph.h"
#include "ops/kernel.h"

namespace kiln {

using GraphKernels = std::vector<std::unique_ptr<OpKernel>>;  // indexed like graph.nodes

// One error listing every node `backend` cannot run (name, op type, domain, opset).
Status check_supported(const Graph& graph, const Backend& backend);
// `packed` (indexed like graph.nodes, may be shorter) are weights a plan carries already
// packed; each node's kernel gets its own (KernelInit::packed_weights).
Result<GraphKernels> create_kernels(const Graph& graph, const Backend& backend,
                                    const std::vector<std::vector<PackedWeight>>& packed = {});
// Per value: whether a node reads it or it is a graph output.
std::vector<bool> consumed_values(const Graph& graph);
// Static shape inference in `schedule` order; values keep the model's declared type where
// a kernel cannot tell more (data-dependent shapes).
Status infer_static_types(Graph& graph, const GraphKernels& kernels, const std::vector<int>& schedule);

}  // namespace kiln
