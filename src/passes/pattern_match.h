// Queries the multi-node pattern matchers (GELU, LayerNorm chains) share: who produces
// and who reads a value, and whether a constant holds the number a formula expects.
// A chain may only be collapsed when every value inside it is read by the chain alone,
// so "private" producers are the building block.
#pragma once

#include <vector>

#include "ir/graph.h"

namespace kiln {

class PatternMatcher {
 public:
  explicit PatternMatcher(const Graph& graph);

  // The default-domain node of `op_type` writing `value`; -1 when another op (or none).
  int producer(int value, const char* op_type) const;
  // The same, when `value` is also read by exactly one node and is not a graph output,
  // so the node disappears with the fusion without anyone else missing its result.
  int private_producer(int value, const char* op_type) const;
  // Number of input slots reading `value` (a node reading it twice counts twice).
  size_t num_reads(int value) const { return consumers_[value].size(); }
  bool is_graph_output(int value) const;
  // For a two-input node reading `value` once: the other input; kNoValue otherwise.
  int other_input(const Node& node, int value) const;
  // A constant with one element within a relative 1e-4 of `expected`, that cannot widen
  // the result of a broadcast with a tensor of rank `partner_rank` (-1: unknown rank).
  bool is_scalar(int value, double expected, int partner_rank) const;
  // A float32 constant with one element, whose value is written to `out`.
  bool scalar_value(int value, float& out, int partner_rank) const;
  // Rank of `value` when known, else -1.
  int rank(int value) const;

  const std::vector<std::vector<int>>& consumers() const { return consumers_; }

 private:
  const Graph& graph_;
  std::vector<std::vector<int>> consumers_;
};

}  // namespace kiln
