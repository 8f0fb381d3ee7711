// Factories of the linear-algebra family (oneDNN-backed): MatMul, Gemm, Conv.
#pragma once

#include "ops/kernel.h"

namespace kiln {

Result<std::unique_ptr<OpKernel>> make_matmul(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_gemm(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_conv(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_layout_reorder(const KernelInit& init);

}  // namespace kiln
