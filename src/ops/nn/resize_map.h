// The 1-D sampling maps Resize is built from. Every interpolation mode Resize has
// (nearest, linear, cubic, with or without antialiasing) is separable: along one axis,
// output position k is a weighted sum of a few input positions. A ResizeAxisMap holds
// those taps; resize.cpp applies one map per resized axis.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

enum class ResizeMode { kNearest, kLinear, kCubic };
enum class CoordMode {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfCropAndResize,
};
enum class NearestMode {
  kRoundPreferFloor,
  kRoundPreferCeil,
  kFloor,
  kCeil,
  kSimple,  // Resize-10 / Upsample: floor when upsampling, ceil when downsampling
};

struct ResizeOptions {
  ResizeMode mode = ResizeMode::kNearest;
  CoordMode coord = CoordMode::kHalfPixel;
  NearestMode nearest = NearestMode::kRoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
};

struct ResizeAxisMap {
  int64_t in = 0;
  int64_t out = 0;
  int taps = 1;                  // taps per output position
  std::vector<int64_t> index;    // out * taps input positions, clamped into [0, in)
  std::vector<double> weight;    // out * taps
  std::vector<uint8_t> extrapolate;  // per output: tf_crop_and_resize sampled outside
  bool identity = false;         // output k is exactly input k
};

// `scale` is the axis' scale factor (given, or out / in for sizes); roi_start/roi_end
// matter only for tf_crop_and_resize. in >= 1.
ResizeAxisMap build_resize_axis_map(const ResizeOptions& opt, int64_t in, int64_t out, double scale,
                                    double roi_start, double roi_end);

}  // namespace kiln
