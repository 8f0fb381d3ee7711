// Shape rules of numpy matmul shared by MatMul and its reference kernel.
#pragma once

#include "ir/sym_shape.h"
#include "kiln/status.h"

namespace kiln {

// Output shape of matmul(a, b) with numpy semantics (1-D operands promoted and the
// promoted dim dropped again, batch dims broadcast).
Result<SymShape> matmul_output_shape(const SymShape& a, const SymShape& b);

// Operands promoted to the same rank R >= 2: [batch..., M, K] x [batch..., K, N].
struct MatmulDims {
  Shape a, b, c;  // rank R each; batch dims broadcast in c
  int64_t m = 0, k = 0, n = 0;
};
Result<MatmulDims> matmul_dims(const Shape& a, const Shape& b);

}  // namespace kiln
