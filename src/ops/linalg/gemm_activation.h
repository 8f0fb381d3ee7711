// The `activation` attribute of kiln::FusedMatMul and kiln::FusedGemm (set by the
// fuse_matmul_activation pass): parsed once per node, run by oneDNN as a post-op, and
// applied here on the paths that do not reach oneDNN (K = 0, C added after the GEMM).
#pragma once

#include <cstdint>

#include "backend/cpu/matmul_primitive.h"
#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln {

// "" (none), "Relu", "Gelu" (erf form) or "GeluTanh"; an error names any other value.
Result<cpu::MatmulActivation> parse_gemm_activation(const Node& node);

// y[i] = act(y[i]) for float32 data.
void apply_gemm_activation(cpu::MatmulActivation activation, float* y, int64_t n);

}  // namespace kiln
