#include "ops/linalg/conv_geometry.h"

#include "ops/op_util.h"

namespace kiln {

Result<ConvAttributes> ConvAttributes::parse(const Node& node) {
  ConvAttributes a;
  KILN_ASSIGN_OR_RETURN(a.auto_pad, attr_string(node, "auto_pad", "NOTSET"));
  KILN_ASSIGN_OR_RETURN(a.kernel_shape, attr_ints(node, "kernel_shape"));
  KILN_ASSIGN_OR_RETURN(a.strides, attr_ints(node, "strides"));
  KILN_ASSIGN_OR_RETURN(a.dilations, attr_ints(node, "dilations"));
  KILN_ASSIGN_OR_RETURN(a.pads, attr_ints(node, "pads"));
  KILN_ASSIGN_OR_RETURN(a.group, attr_int(node, "group", 1));
  KILN_ASSIGN_OR_RETURN(a.activation, attr_string(node, "activation", ""));
  KILN_ASSIGN_OR_RETURN(a.clip_min, attr_float(node, "clip_min", 0.0f));
  KILN_ASSIGN_OR_RETURN(a.clip_max, attr_float(node, "clip_max", 0.0f));
  KILN_ASSIGN_OR_RETURN(int64_t channels_last, attr_int(node, "channels_last", 0));
  a.channels_last = channels_last != 0;
  KILN_ASSIGN_OR_RETURN(int64_t in_place, attr_int(node, "residual_in_place", 0));
  a.residual_in_place = in_place != 0;
  KILN_ASSIGN_OR_RETURN(std::string algorithm, attr_string(node, "algorithm", "direct"));
  if (algorithm != "direct" && algorithm != "winograd") {
    return invalid_model(node.describe() + ": unknown convolution algorithm '" + algorithm +
                         "', expected 'direct' or 'winograd'");
  }
  a.winograd = algorithm == "winograd";
  if (!a.activation.empty() && a.activation != "Relu" && a.activation != "Clip") {
    return invalid_model(node.describe() + ": unknown fused activation '" + a.activation + "'");
  }
  if (a.auto_pad != "NOTSET" && a.auto_pad != "SAME_UPPER" && a.auto_pad != "SAME_LOWER" && a.auto_pad != "VALID") {
    return invalid_model(node.describe() + ": unknown auto_pad '" + a.auto_pad + "'");
  }
  if (a.group < 1) return invalid_model(node.describe() + ": group must be >= 1, got " + std::to_string(a.group));
  for (int64_t s : a.strides) {
    if (s < 1) return invalid_model(node.describe() + ": strides must be >= 1");
  }
  for (int64_t d : a.dilations) {
    if (d < 1) return invalid_model(node.describe() + ": dilations must be >= 1");
  }
  for (int64_t p : a.pads) {
    if (p < 0) return invalid_model(node.describe() + ": pads must be >= 0");
  }
  return a;
}

Result<ConvGeometry> resolve_conv_geometry(const ConvAttributes& a, const std::vector<int64_t>& in,
                                           const std::vector<int64_t>& kernel) {
  const size_t r = in.size();
  auto sized = [&](const std::vector<int64_t>& v, size_t n, const char* name) -> Status {
    if (!v.empty() && v.size() != n) {
      return invalid_argument(std::string(name) + " has " + std::to_string(v.size()) + " values, expected " +
                              std::to_string(n) + " for " + std::to_string(r) + " spatial dims");
    }
    return Status::ok();
  };
  KILN_RETURN_IF_ERROR(sized(a.kernel_shape, r, "kernel_shape"));
  KILN_RETURN_IF_ERROR(sized(a.strides, r, "strides"));
  KILN_RETURN_IF_ERROR(sized(a.dilations, r, "dilations"));
  KILN_RETURN_IF_ERROR(sized(a.pads, 2 * r, "pads"));
  ConvGeometry g;
  g.kernel = a.kernel_shape.empty() ? kernel : a.kernel_shape;
  g.strides = a.strides.empty() ? std::vector<int64_t>(r, 1) : a.strides;
  g.dilations = a.dilations.empty() ? std::vector<int64_t>(r, 1) : a.dilations;
  g.pad_begin.assign(r, 0);
  g.pad_end.assign(r, 0);
  g.out.resize(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t extent = (g.kernel[i] - 1) * g.dilations[i] + 1;
    if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
      g.out[i] = (in[i] + g.strides[i] - 1) / g.strides[i];
      const int64_t total = std::max<int64_t>(0, (g.out[i] - 1) * g.strides[i] + extent - in[i]);
      const int64_t small = total / 2;
      g.pad_begin[i] = a.auto_pad == "SAME_UPPER" ? small : total - small;
      g.pad_end[i] = total - g.pad_begin[i];
      continue;
    }
    if (a.auto_pad == "NOTSET" && !a.pads.empty()) {
      g.pad_begin[i] = a.pads[i];
      g.pad_end[i] = a.pads[i + r];
    }
    const int64_t padded = in[i] + g.pad_begin[i] + g.pad_end[i];
    if (padded < extent) {
      return invalid_argument("spatial dim " + std::to_string(i) + ": input size " + std::to_string(in[i]) +
                              " plus padding is smaller than the kernel extent " + std::to_string(extent));
    }
    g.out[i] = (padded - extent) / g.strides[i] + 1;
  }
  return g;
}

}  // namespace kiln
