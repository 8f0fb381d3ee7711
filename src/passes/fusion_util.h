// The rewrite both producer-consumer fusions share: the producer node becomes a kiln
// fused op that also does its only consumer's work and writes the consumer's output.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln {

// The node reading `producer`'s single output when that output has exactly one reader
// and is not a graph output; -1 otherwise.
int sole_consumer(const Graph& graph, const std::vector<std::vector<int>>& consumers, int producer);

// Adds `absorbed`'s ONNX node name to `node`'s source_nodes (layer info), starting the
// list with `node`'s own name; a node that absorbs several keeps them all.
void record_source_nodes(Node& node, const Node& absorbed);

// Turns node `producer` into kiln::`fused_op_type`, takes over `consumer`'s output, records
// both ONNX node names for layer info, and marks `consumer` dead.
void absorb_consumer(Graph& graph, int producer, int consumer, const std::string& fused_op_type,
                     std::vector<bool>& dead);

// Adds constant `t` under a fresh name derived from `base` (ONNX names are SSA, so a
// taken name gets a numbered suffix) and returns its value id.
int add_constant(Graph& graph, const std::string& base, Tensor t);

// Drops the absorbed nodes and declares the kiln domain the fused ops live in.
void finish_fusion(Graph& graph, const std::vector<bool>& dead);

}  // namespace kiln
