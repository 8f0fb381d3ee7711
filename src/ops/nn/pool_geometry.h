// Window geometry shared by MaxPool, AveragePool and LpPool: attribute parsing and, per
// spatial axis, the output size, the effective padding, and for every output position
// the range of kernel taps that land inside the input (so kernels never test bounds
// per element).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/sym_shape.h"
#include "kiln/status.h"

namespace kiln {

enum class AutoPad { kNotSet, kValid, kSameUpper, kSameLower };

struct PoolAttrs {
  std::vector<int64_t> kernel;     // one per spatial axis
  std::vector<int64_t> strides;    // defaults to 1s
  std::vector<int64_t> dilations;  // defaults to 1s
  std::vector<int64_t> pads;       // begins then ends; defaults to 0s
  AutoPad auto_pad = AutoPad::kNotSet;
  bool ceil_mode = false;
  size_t spatial_rank() const { return kernel.size(); }
};

// Reads kernel_shape, strides, pads, auto_pad, and (when the opset has them) dilations
// and ceil_mode; errors name the node and the attribute.
Result<PoolAttrs> parse_pool_attrs(const Node& node, bool allow_dilations, bool allow_ceil_mode);

struct PoolAxis {
  int64_t in = 1, out = 1, kernel = 1, stride = 1, dilation = 1, pad_begin = 0, pad_end = 0;
};

// Output size and effective padding of one axis; invalid_argument when the window does
// not fit (out < 1).
Result<PoolAxis> pool_axis(const PoolAttrs& a, size_t i, int64_t in);

// Static output shape [N, C, out...] (unknown spatial dims stay unknown). Checks rank.
Result<SymShape> pool_output_shape(const PoolAttrs& a, const SymShape& in, const std::string& input_name);

// Per output position of one axis: first input index of the window, valid taps [j0, j1)
// and the number of taps inside the padded extent (AveragePool's count_include_pad).
struct AxisTaps {
  PoolAxis axis;
  std::vector<int64_t> base, j0, j1, padded;
};
AxisTaps axis_taps(const PoolAxis& a);

// The taps of an input of rank 2 + spatial, canonicalized to exactly three spatial axes
// (leading axes of size 1 are added) so kernels need one loop nest.
Result<std::vector<AxisTaps>> pool_taps_3d(const PoolAttrs& a, const Shape& in, const std::string& input_name);

}  // namespace kiln
