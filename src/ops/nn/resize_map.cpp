#include "ops/nn/resize_map.h"

#include <algorithm>
#include <cmath>

namespace kiln {
namespace {

// Where output position y samples the input, in input coordinates.
double source_coord(const ResizeOptions& opt, double y, int64_t in, int64_t out, double scale, double roi_start,
                    double roi_end) {
  switch (opt.coord) {
    case CoordMode::kHalfPixel:
      return (y + 0.5) / scale - 0.5;
    case CoordMode::kHalfPixelSymmetric: {
      // Centers the sampled region when out is a rounded in * scale.
      const double adjustment = static_cast<double>(out) / (scale * static_cast<double>(in));
      const double center = static_cast<double>(in) / 2;
      return center * (1 - adjustment) + (y + 0.5) / scale - 0.5;
    }
    case CoordMode::kPytorchHalfPixel:
      return out > 1 ? (y + 0.5) / scale - 0.5 : 0.0;
    case CoordMode::kAlignCorners:
      // The reference divides by the unrounded output length in * scale.
      return out > 1 ? y * static_cast<double>(in - 1) / (scale * static_cast<double>(in) - 1) : 0.0;
    case CoordMode::kAsymmetric:
      return y / scale;
    case CoordMode::kTfCropAndResize:
      return scale * static_cast<double>(in) != 1.0
                 ? roi_start * static_cast<double>(in - 1) +
                           y * (roi_end - roi_start) * static_cast<double>(in - 1) / (scale * static_cast<double>(in) - 1)
                 : 0.5 * (roi_start + roi_end) * static_cast<double>(in - 1);
  }
  return 0;
}

int64_t nearest_index(NearestMode m, double x, double scale) {
  switch (m) {
    case NearestMode::kRoundPreferFloor: return static_cast<int64_t>(std::ceil(x - 0.5));
    case NearestMode::kRoundPreferCeil: return static_cast<int64_t>(std::floor(x + 0.5));
    case NearestMode::kFloor: return static_cast<int64_t>(std::floor(x));
    case NearestMode::kCeil: return static_cast<int64_t>(std::ceil(x));
    case NearestMode::kSimple: return static_cast<int64_t>(scale < 1 ? std::ceil(x) : std::floor(x));
  }
  return 0;
}

double cubic_kernel(double x, double a) {
  x = std::abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

// First tap offset relative to floor(x) and the number of taps. Antialiasing widens the
// filter by 1 / scale when downsampling.
void tap_window(const ResizeOptions& opt, double scale, int64_t* start, int* taps) {
  const double support = opt.mode == ResizeMode::kCubic ? 2.0 : 1.0;
  if (opt.antialias && scale < 1) {
    *start = static_cast<int64_t>(std::floor(-support / scale)) + 1;
  } else {
    *start = static_cast<int64_t>(1 - support);
  }
  *taps = static_cast<int>(2 - 2 * *start);
}

}  // namespace

ResizeAxisMap build_resize_axis_map(const ResizeOptions& opt, int64_t in, int64_t out, double scale,
                                    double roi_start, double roi_end) {
  ResizeAxisMap m;
  m.in = in;
  m.out = out;
  int64_t start = 0;
  if (opt.mode == ResizeMode::kNearest) {
    m.taps = 1;
  } else {
    tap_window(opt, scale, &start, &m.taps);
  }
  const double filter_scale = opt.antialias ? std::min(scale, 1.0) : 1.0;
  m.index.resize(static_cast<size_t>(out * m.taps));
  m.weight.resize(static_cast<size_t>(out * m.taps));
  m.extrapolate.assign(static_cast<size_t>(out), 0);
  std::vector<double> w(static_cast<size_t>(m.taps));
  for (int64_t k = 0; k < out; ++k) {
    const double x = source_coord(opt, static_cast<double>(k), in, out, scale, roi_start, roi_end);
    if (opt.coord == CoordMode::kTfCropAndResize && (x < 0 || x > static_cast<double>(in - 1))) {
      m.extrapolate[k] = 1;
    }
    int64_t* idx = m.index.data() + k * m.taps;
    double* wt = m.weight.data() + k * m.taps;
    if (opt.mode == ResizeMode::kNearest) {
      idx[0] = std::clamp<int64_t>(nearest_index(opt.nearest, x, scale), 0, in - 1);
      wt[0] = 1;
      continue;
    }
    // Taps sit at floor(x) + start + t; an integral x counts as ratio 1 from the point
    // below it (the reference's convention, which fixes where antialiased windows fall).
    int64_t x0 = static_cast<int64_t>(std::floor(x));
    double ratio = x - static_cast<double>(x0);
    if (ratio == 0) {
      x0 -= 1;
      ratio = 1;
    }
    double sum = 0;
    for (int t = 0; t < m.taps; ++t) {
      const double d = filter_scale * (static_cast<double>(start + t) - ratio);
      w[t] = opt.mode == ResizeMode::kLinear ? std::max(0.0, 1 - std::abs(d)) : cubic_kernel(d, opt.cubic_a);
      sum += w[t];
    }
    const bool normalize = opt.antialias;
    double kept = 0;
    for (int t = 0; t < m.taps; ++t) {
      const int64_t pos = x0 + start + t;
      double wv = normalize && sum != 0 ? w[t] / sum : w[t];
      if (opt.exclude_outside && (pos < 0 || pos >= in)) wv = 0;
      idx[t] = std::clamp<int64_t>(pos, 0, in - 1);
      wt[t] = wv;
      kept += wv;
    }
    if (opt.exclude_outside && kept != 0) {
      for (int t = 0; t < m.taps; ++t) wt[t] /= kept;
    }
  }
  m.identity = in == out;
  for (int64_t k = 0; m.identity && k < out; ++k) {
    if (m.extrapolate[k]) m.identity = false;
    for (int t = 0; m.identity && t < m.taps; ++t) {
      const double wv = m.weight[k * m.taps + t];
      const int64_t i = m.index[k * m.taps + t];
      if (wv != 0 && !(i == k && wv == 1)) m.identity = false;
    }
  }
  return m;
}

}  // namespace kiln
