// Factories of the reduction family, listed in reduce/register.cpp.
#pragma once

#include <memory>

#include "ops/kernel.h"

namespace kiln {

Result<std::unique_ptr<OpKernel>> make_reduce_sum(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_reduce_mean(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_reduce_max(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_reduce_min(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_reduce_prod(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_reduce_l1(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_reduce_l2(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_reduce_log_sum(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_reduce_log_sum_exp(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_reduce_sum_square(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_arg_max(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_arg_min(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_top_k(const KernelInit& init);

}  // namespace kiln
