// Factories of the nn family, listed in nn/register.cpp.
#pragma once

#include <memory>

#include "ops/kernel.h"

namespace kiln {

Result<std::unique_ptr<OpKernel>> make_batch_normalization(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_instance_normalization(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_group_normalization(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_layer_normalization(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_mean_variance_normalization(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_rms_normalization(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_skip_layer_norm(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_lp_normalization(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_lrn(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_max_pool(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_average_pool(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_lp_pool(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_max_unpool(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_global_average_pool(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_global_max_pool(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_global_lp_pool(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_softmax(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_log_softmax(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_hardmax(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_attention(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_channels_last_pool(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_resize(const KernelInit& init);
Result<std::unique_ptr<OpKernel>> make_upsample(const KernelInit& init);

}  // namespace kiln
