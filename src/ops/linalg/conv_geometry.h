// Convolution geometry from ONNX attributes: kernel, strides, dilations and the padding
// that auto_pad implies, resolved against a concrete input size.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/sym_shape.h"
#include "kiln/status.h"

namespace kiln {

struct ConvAttributes {
  std::string auto_pad = "NOTSET";  // NOTSET, SAME_UPPER, SAME_LOWER, VALID
  std::vector<int64_t> kernel_shape;  // empty: taken from the weights
  std::vector<int64_t> strides, dilations, pads;  // pads: begins then ends
  int64_t group = 1;
  // kiln's FusedConv: an activation applied to the output (oneDNN post-op), so the
  // activation costs no extra pass over memory. "" (none), "Relu" or "Clip".
  std::string activation;
  float clip_min = 0, clip_max = 0;
  // kiln's FusedConv in a channels-last chain (pass convert_convs_to_channels_last): X, R
  // and Y are [N, spatial..., C]; W stays [O, I/G, k...].
  bool channels_last = false;
  // The output is written over the residual input R (pass write_residual_in_place).
  bool residual_in_place = false;
  // kiln's FusedConv: computed with Winograd's minimal filtering (pass
  // select_winograd_convolutions), where the backend has it for the shape.
  bool winograd = false;

  static Result<ConvAttributes> parse(const Node& node);
};

struct ConvGeometry {
  std::vector<int64_t> kernel, strides, dilations, pad_begin, pad_end, out;
};

// `in` and `kernel` are the spatial sizes. Errors name the dim that does not fit.
Result<ConvGeometry> resolve_conv_geometry(const ConvAttributes& attrs, const std::vector<int64_t>& in,
                                           const std::vector<int64_t>& kernel);

}  // namespace kiln
