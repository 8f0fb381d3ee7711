#include "ops/nn/pool_geometry.h"

#include <algorithm>

#include "ops/op_util.h"

namespace kiln {
namespace {

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

std::string list_to_string(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

Result<PoolAttrs> parse_pool_attrs(const Node& node, bool allow_dilations, bool allow_ceil_mode) {
  PoolAttrs a;
  if (!has_attr(node, "kernel_shape")) {
    return invalid_model(node.describe() + ": required attribute 'kernel_shape' is missing");
  }
  KILN_ASSIGN_OR_RETURN(a.kernel, attr_ints(node, "kernel_shape"));
  const size_t n = a.kernel.size();
  if (n == 0) return invalid_model(node.describe() + ": attribute 'kernel_shape' is empty");
  KILN_ASSIGN_OR_RETURN(a.strides, attr_ints(node, "strides", std::vector<int64_t>(n, 1)));
  KILN_ASSIGN_OR_RETURN(a.pads, attr_ints(node, "pads", std::vector<int64_t>(2 * n, 0)));
  a.dilations.assign(n, 1);
  if (allow_dilations) {
    KILN_ASSIGN_OR_RETURN(a.dilations, attr_ints(node, "dilations", std::vector<int64_t>(n, 1)));
  }
  if (allow_ceil_mode) {
    KILN_ASSIGN_OR_RETURN(int64_t ceil_mode, attr_int(node, "ceil_mode", 0));
    a.ceil_mode = ceil_mode != 0;
  }
  // Empty lists mean "default" in some exporters.
  if (a.strides.empty()) a.strides.assign(n, 1);
  if (a.dilations.empty()) a.dilations.assign(n, 1);
  if (a.pads.empty()) a.pads.assign(2 * n, 0);
  // The upper bound keeps all window arithmetic far from int64 overflow.
  constexpr int64_t kMaxAttr = int64_t{1} << 31;
  auto check = [&](const char* name, const std::vector<int64_t>& v, size_t size, int64_t min) -> Status {
    bool ok = v.size() == size;
    for (int64_t x : v) ok = ok && x >= min && x <= kMaxAttr;
    if (ok) return Status::ok();
    return invalid_model(node.describe() + ": attribute '" + name + "' is " + list_to_string(v) + " (expected " +
                         std::to_string(size) + " values in [" + std::to_string(min) + ", 2^31])");
  };
  KILN_RETURN_IF_ERROR(check("kernel_shape", a.kernel, n, 1));
  KILN_RETURN_IF_ERROR(check("strides", a.strides, n, 1));
  KILN_RETURN_IF_ERROR(check("dilations", a.dilations, n, 1));
  KILN_RETURN_IF_ERROR(check("pads", a.pads, 2 * n, 0));
  KILN_ASSIGN_OR_RETURN(std::string auto_pad, attr_string(node, "auto_pad", "NOTSET"));
  if (auto_pad == "NOTSET" || auto_pad.empty()) a.auto_pad = AutoPad::kNotSet;
  else if (auto_pad == "VALID") a.auto_pad = AutoPad::kValid;
  else if (auto_pad == "SAME_UPPER") a.auto_pad = AutoPad::kSameUpper;
  else if (auto_pad == "SAME_LOWER") a.auto_pad = AutoPad::kSameLower;
  else {
    return invalid_model(node.describe() + ": attribute 'auto_pad' is '" + auto_pad +
                         "' (expected NOTSET, VALID, SAME_UPPER or SAME_LOWER)");
  }
  return a;
}

Result<PoolAxis> pool_axis(const PoolAttrs& a, size_t i, int64_t in) {
  PoolAxis p;
  p.in = in;
  p.kernel = a.kernel[i];
  p.stride = a.strides[i];
  p.dilation = a.dilations[i];
  const int64_t extent = (p.kernel - 1) * p.dilation + 1;
  switch (a.auto_pad) {
    case AutoPad::kNotSet: {
      p.pad_begin = a.pads[i];
      p.pad_end = a.pads[i + a.spatial_rank()];
      const int64_t span = in + p.pad_begin + p.pad_end - extent;
      if (a.ceil_mode) {
        p.out = ceil_div(span, p.stride) + 1;
        // A last window that would start inside the end padding is dropped.
        if ((p.out - 1) * p.stride >= in + p.pad_begin) --p.out;
      } else {
        p.out = floor_div(span, p.stride) + 1;
      }
      break;
    }
    case AutoPad::kValid:
      p.out = floor_div(in - extent, p.stride) + 1;
      break;
    case AutoPad::kSameUpper:
    case AutoPad::kSameLower: {
      p.out = ceil_div(in, p.stride);
      const int64_t total = std::max<int64_t>(0, (p.out - 1) * p.stride + extent - in);
      p.pad_begin = a.auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
      p.pad_end = total - p.pad_begin;
      break;
    }
  }
  if (p.out < 1) {
    return invalid_argument("spatial dim " + std::to_string(i) + " of size " + std::to_string(in) +
                            " (padded by " + std::to_string(p.pad_begin) + "+" + std::to_string(p.pad_end) +
                            ") is smaller than the pooling window of " + std::to_string(extent));
  }
  return p;
}

Result<SymShape> pool_output_shape(const PoolAttrs& a, const SymShape& in, const std::string& input_name) {
  if (in.size() != a.spatial_rank() + 2) {
    return invalid_argument("input '" + input_name + "' has shape " + sym_shape_to_string(in) + " (expected rank " +
                            std::to_string(a.spatial_rank() + 2) + ": N, C and " +
                            std::to_string(a.spatial_rank()) + " spatial dims, as kernel_shape says)");
  }
  SymShape out = in;
  for (size_t i = 0; i < a.spatial_rank(); ++i) {
    if (!in[i + 2].known()) {
      out[i + 2] = Dim::unknown();
      continue;
    }
    KILN_ASSIGN_OR_RETURN(PoolAxis p, pool_axis(a, i, in[i + 2].value));
    out[i + 2] = Dim(p.out);
  }
  return out;
}

AxisTaps axis_taps(const PoolAxis& a) {
  AxisTaps t;
  t.axis = a;
  const size_t n = static_cast<size_t>(a.out);
  t.base.resize(n);
  t.j0.resize(n);
  t.j1.resize(n);
  t.padded.resize(n);
  for (int64_t o = 0; o < a.out; ++o) {
    const int64_t base = o * a.stride - a.pad_begin;
    t.base[o] = base;
    t.j0[o] = base >= 0 ? 0 : std::min(a.kernel, ceil_div(-base, a.dilation));
    t.j1[o] = std::clamp<int64_t>(ceil_div(a.in - base, a.dilation), t.j0[o], a.kernel);
    t.padded[o] = std::clamp<int64_t>(ceil_div(a.in + a.pad_end - base, a.dilation), 0, a.kernel);
  }
  return t;
}

Result<std::vector<AxisTaps>> pool_taps_3d(const PoolAttrs& a, const Shape& in, const std::string& input_name) {
  KILN_ASSIGN_OR_RETURN(SymShape checked, pool_output_shape(a, to_sym_shape(in), input_name));
  (void)checked;
  const size_t sr = a.spatial_rank();
  if (sr > 3) {
    return unsupported("pooling over " + std::to_string(sr) + " spatial dims (kiln supports 1 to 3)");
  }
  std::vector<AxisTaps> taps;
  for (size_t i = sr; i < 3; ++i) taps.push_back(axis_taps(PoolAxis{}));
  for (size_t i = 0; i < sr; ++i) {
    KILN_ASSIGN_OR_RETURN(PoolAxis p, pool_axis(a, i, in[i + 2]));
    taps.push_back(axis_taps(p));
  }
  return taps;
}

}  // namespace kiln
