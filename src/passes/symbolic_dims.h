// Build-time arithmetic over tensor dims that static shapes leave unknown. Exports compute
// sizes at run time (Shape -> Gather/Slice -> Sub -> Unsqueeze -> Slice start), and a
// fusion may only drop such a subgraph when it can prove what it computes: e.g. that a
// causal-mask Slice starts at key_length - query_length. Dims are followed back through
// Transpose and Reshape to the dim they copy, so two paths to the same size compare
// equal even when the shapes on the way are all "?".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <utility>

#include "ir/graph.h"

namespace kiln {

// constant + sum of coefficient * dim(value, axis), a linear expression in dims.
struct DimExpr {
  int64_t constant = 0;
  std::map<std::pair<int, int64_t>, int64_t> terms;  // (value id, axis) -> coefficient, never 0

  static DimExpr of(int64_t c);
  static DimExpr dim(int value, int64_t axis);
  bool is_constant() const { return terms.empty(); }
  DimExpr operator+(const DimExpr& o) const;
  DimExpr operator-(const DimExpr& o) const;
  DimExpr times(int64_t f) const;
  bool operator==(const DimExpr& o) const { return constant == o.constant && terms == o.terms; }
};

class SymbolicDims {
 public:
  explicit SymbolicDims(const Graph& graph) : g_(graph) {}

  // Dim `axis` of `value` (negative counts from the back); nullopt when the rank is unknown
  // or the axis out of range. A dim nothing more is known of is its own term.
  std::optional<DimExpr> dim(int value, int64_t axis, int depth = 0) const;
  // Element i (row-major) of an integer value: a constant, a Shape, Gather or Slice of
  // one, a Concat of pieces, elementwise Add/Sub/Mul/Neg of one-element values.
  std::optional<DimExpr> int_element(int value, int64_t i, int depth = 0) const;
  // A one-element float32 value computable at build time (constants, Cast of a constant
  // integer expression, Sqrt, Pow, + - * /), evaluated in float as the graph would.
  std::optional<float> float_scalar(int value, int depth = 0) const;

  // Rank and element count from the static type (constants count as known); -1 when unknown.
  int64_t rank(int value) const;
  int64_t numel(int value) const;

 private:
  std::optional<DimExpr> reshape_dim(const Node& reshape, int64_t axis, int depth) const;
  std::optional<DimExpr> slice_element(const Node& slice, int64_t i, int depth) const;

  const Graph& g_;
};

}  // namespace kiln
