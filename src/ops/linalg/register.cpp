#include "ops/linalg/linalg_ops.h"
#include "ops/registry.h"

namespace kiln {

std::span<const OpRegistration> linalg_ops() {
  static const OpRegistration kOps[] = {
      {"", "MatMul", 1, make_matmul},
      {"", "Gemm", 1, make_gemm},
      {"", "Conv", 1, make_conv},
      // kiln's own fused ops, made by graph passes (never by exporters).
      {"kiln", "FusedConv", 1, make_conv},
      {"kiln", "Reorder", 1, make_layout_reorder},  // channels-first <-> channels-last
      {"kiln", "FusedMatMul", 1, make_matmul},
      {"kiln", "FusedGemm", 1, make_gemm},
  };
  return kOps;
}

}  // namespace kiln
