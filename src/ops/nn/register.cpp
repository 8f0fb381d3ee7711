#include "ops/nn/nn_ops.h"
#include "ops/registry.h"

namespace kiln {

// One entry per opset where an op's inputs or semantics changed; factories read
// init.opset for attribute differences within an entry.
std::span<const OpRegistration> nn_ops() {
  static const OpRegistration kOps[] = {
      // spatial attribute before 9; training_mode (rejected when 1) from 14.
      {"", "BatchNormalization", 1, make_batch_normalization},
      {"", "BatchNormalization", 6, make_batch_normalization},
      {"", "BatchNormalization", 9, make_batch_normalization},
      {"", "BatchNormalization", 14, make_batch_normalization},
      {"", "BatchNormalization", 15, make_batch_normalization},
      {"", "InstanceNormalization", 1, make_instance_normalization},
      {"", "InstanceNormalization", 6, make_instance_normalization},
      // Scale and bias per group in 18, per channel from 21.
      {"", "GroupNormalization", 18, make_group_normalization},
      {"", "GroupNormalization", 21, make_group_normalization},
      {"", "LayerNormalization", 17, make_layer_normalization},
      {"", "RMSNormalization", 23, make_rms_normalization},
      {"", "LpNormalization", 1, make_lp_normalization},
      {"", "MeanVarianceNormalization", 9, make_mean_variance_normalization},
      {"", "LRN", 1, make_lrn},
      // Pools read every attribute any opset has (absent ones default); dilations and
      // ceil_mode arrive in MaxPool-10, AveragePool-10/19, LpPool-18.
      {"", "MaxPool", 1, make_max_pool},
      {"", "MaxPool", 8, make_max_pool},
      {"", "MaxPool", 10, make_max_pool},
      {"", "MaxPool", 12, make_max_pool},
      {"", "AveragePool", 1, make_average_pool},
      {"", "AveragePool", 10, make_average_pool},
      {"", "AveragePool", 19, make_average_pool},
      {"", "LpPool", 2, make_lp_pool},
      {"", "LpPool", 18, make_lp_pool},
      {"", "MaxUnpool", 9, make_max_unpool},
      {"", "GlobalAveragePool", 1, make_global_average_pool},
      {"", "GlobalMaxPool", 1, make_global_max_pool},
      {"", "GlobalLpPool", 2, make_global_lp_pool},
      // Before 13: coerced to 2-D at axis (default 1); from 13: one axis (default -1).
      {"", "Softmax", 1, make_softmax},
      {"", "Softmax", 13, make_softmax},
      {"", "LogSoftmax", 1, make_log_softmax},
      {"", "LogSoftmax", 13, make_log_softmax},
      {"", "Hardmax", 1, make_hardmax},
      {"", "Hardmax", 13, make_hardmax},
      // Resize-10: (X, scales), asymmetric; 11: roi, sizes, coordinate modes; 13: optional
      // roi/scales; 18: axes, antialias, keep_aspect_ratio_policy; 19: half_pixel_symmetric.
      {"", "Resize", 10, make_resize},
      {"", "Resize", 11, make_resize},
      {"", "Resize", 13, make_resize},
      {"", "Resize", 18, make_resize},
      {"", "Resize", 19, make_resize},
      // Upsample-7: scales attribute; 9: scales input. Deprecated from 10.
      {"", "Upsample", 7, make_upsample},
      {"", "Upsample", 9, make_upsample},
      // kiln's own ops, made by graph passes: LayerNormalization-17 under a name that
      // opset-14 graphs can hold (fuse_layer_norm), and residual Add + LayerNorm.
      {"kiln", "LayerNorm", 1, make_layer_normalization},
      {"kiln", "SkipLayerNorm", 1, make_skip_layer_norm},
      // softmax(scale * Q K^T, masked) V in one pass per row block (fuse_attention).
      {"kiln", "Attention", 1, make_attention},
      {"kiln", "ChannelsLastPool", 1, make_channels_last_pool},  // pools in NHWC conv chains
  };
  return kOps;
}

}  // namespace kiln
