// Resize (opsets 10-19) and the deprecated Upsample (7, 9), any rank, any numeric dtype.
//
// The output is computed one resized axis at a time (resize_map.h): a pass maps
// [outer, in, inner] to [outer, out, inner] with each output row a weighted sum of a few
// input rows, so the inner loops run over contiguous memory. Nearest passes copy
// elements of the input type; interpolating passes accumulate in float (double for
// double) and round-and-saturate into integer outputs, as the reference does.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/nn/nn_common.h"
#include "ops/nn/nn_ops.h"
#include "ops/nn/resize_map.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

enum class AspectPolicy { kStretch, kNotLarger, kNotSmaller };

struct ResizeConfig {
  ResizeOptions opt;
  double extrapolation_value = 0;
  AspectPolicy policy = AspectPolicy::kStretch;
  std::vector<int64_t> axes;   // attribute (opset 18+); empty: all axes
  std::vector<float> scales;   // Upsample-7's attribute
  int roi_input = -1, scales_input = -1, sizes_input = -1;
};

// Output shape, per-axis scales and rois of one call. Unknown input dims are -1 and give
// unknown (-1) output dims where the output depends on them.
struct ResizePlan {
  Shape out;
  std::vector<double> scale, roi_start, roi_end;
};

template <typename T, typename C>
T saturate_store(C v) {
  if constexpr (std::is_integral_v<T>) {
    const C r = std::nearbyint(v);
    if (!(r > static_cast<C>(std::numeric_limits<T>::lowest()))) return std::numeric_limits<T>::lowest();
    if (!(r < static_cast<C>(std::numeric_limits<T>::max()))) return std::numeric_limits<T>::max();
    return static_cast<T>(r);
  } else {
    return store_as<T>(v);
  }
}

// One pass along an axis: src [outer, m.in, inner] -> dst [outer, m.out, inner].
template <typename S, typename D, typename C, bool kNearest>
void resize_pass(const S* src, D* dst, int64_t outer, int64_t inner, const ResizeAxisMap& m, double extrap) {
  const D fill = kNearest ? store_as<D>(static_cast<C>(extrap)) : saturate_store<D, C>(static_cast<C>(extrap));
  std::vector<C> acc(static_cast<size_t>(inner));
  std::vector<C> w(m.weight.begin(), m.weight.end());
  for (int64_t o = 0; o < outer; ++o) {
    const S* s = src + o * m.in * inner;
    D* d = dst + o * m.out * inner;
    for (int64_t k = 0; k < m.out; ++k) {
      D* drow = d + k * inner;
      if (m.extrapolate[k]) {
        std::fill(drow, drow + inner, fill);
        continue;
      }
      const int64_t* idx = m.index.data() + k * m.taps;
      if constexpr (kNearest) {
        std::copy(s + idx[0] * inner, s + (idx[0] + 1) * inner, drow);
      } else {
        const C* wk = w.data() + k * m.taps;
        if (inner == 1) {
          C sum = 0;
          for (int t = 0; t < m.taps; ++t) sum += wk[t] * load_as<C>(s[idx[t]]);
          drow[0] = saturate_store<D, C>(sum);
          continue;
        }
        std::fill(acc.begin(), acc.end(), C(0));
        for (int t = 0; t < m.taps; ++t) {
          if (wk[t] == 0) continue;
          const S* srow = s + idx[t] * inner;
          const C wt = wk[t];
          for (int64_t j = 0; j < inner; ++j) acc[j] += wt * load_as<C>(srow[j]);
        }
        for (int64_t j = 0; j < inner; ++j) drow[j] = saturate_store<D, C>(acc[j]);
      }
    }
  }
}

template <typename T>
void resize_typed(const Tensor& x, Tensor& y, const std::vector<ResizeAxisMap>& maps, const ResizeConfig& cfg) {
  using C = CalcType<T>;
  std::vector<size_t> active;
  for (size_t a = 0; a < maps.size(); ++a) {
    if (!maps[a].identity) active.push_back(a);
  }
  // Shrinking axes first: less work for later passes, and no intermediate is larger than
  // the input or the output.
  std::stable_sort(active.begin(), active.end(), [&](size_t a, size_t b) {
    return static_cast<double>(maps[a].out) / static_cast<double>(maps[a].in) <
           static_cast<double>(maps[b].out) / static_cast<double>(maps[b].in);
  });
  if (active.empty()) {
    std::copy(x.data<T>(), x.data<T>() + x.numel(), y.data<T>());
    return;
  }
  const bool nearest = cfg.opt.mode == ResizeMode::kNearest;
  Shape cur = x.shape();
  // Two ping-pong buffers of the intermediate type: T for nearest (copies must stay
  // exact for int64), C otherwise.
  std::vector<T> tbuf[2];
  std::vector<C> cbuf[2];
  for (size_t p = 0; p < active.size(); ++p) {
    const size_t a = active[p];
    const ResizeAxisMap& m = maps[a];
    int64_t outer = 1, inner = 1;
    for (size_t i = 0; i < cur.size(); ++i) {
      if (i < a) outer *= cur[i];
      if (i > a) inner *= cur[i];
    }
    cur[a] = m.out;
    const bool first = p == 0;
    const bool last = p + 1 == active.size();
    int64_t n = 1;
    for (int64_t d : cur) n *= d;
    if (nearest) {
      const T* s = first ? x.data<T>() : tbuf[(p + 1) % 2].data();
      T* d = last ? y.data<T>() : (tbuf[p % 2].resize(static_cast<size_t>(n)), tbuf[p % 2].data());
      resize_pass<T, T, C, true>(s, d, outer, inner, m, cfg.extrapolation_value);
      continue;
    }
    C* cd = last ? nullptr : (cbuf[p % 2].resize(static_cast<size_t>(n)), cbuf[p % 2].data());
    const C* cs = first ? nullptr : cbuf[(p + 1) % 2].data();
    if (first && last) resize_pass<T, T, C, false>(x.data<T>(), y.data<T>(), outer, inner, m, cfg.extrapolation_value);
    else if (first) resize_pass<T, C, C, false>(x.data<T>(), cd, outer, inner, m, cfg.extrapolation_value);
    else if (last) resize_pass<C, T, C, false>(cs, y.data<T>(), outer, inner, m, cfg.extrapolation_value);
    else resize_pass<C, C, C, false>(cs, cd, outer, inner, m, cfg.extrapolation_value);
  }
}

// A scales / sizes / roi input: absent (omitted or empty), present with a value, or
// present but unknown (static inference only).
struct OptionalInput {
  bool present = false;
  const Tensor* value = nullptr;
};

class ResizeKernel final : public OpKernel {
 public:
  explicit ResizeKernel(ResizeConfig cfg) : cfg_(std::move(cfg)) {}

  Status infer(InferContext& ctx) const override {
    const DType dt = ctx.input_dtype(0);
    KILN_RETURN_IF_ERROR(expect_numeric_dtype("X", dt));
    const SymShape* in = ctx.input_shape(0);
    if (!in) {
      ctx.set_output(0, dt, std::nullopt);
      return Status::ok();
    }
    auto get = [&](int i) {
      OptionalInput r;
      if (i < 0 || !ctx.has_input(static_cast<size_t>(i))) return r;
      const SymShape* s = ctx.input_shape(static_cast<size_t>(i));
      const bool empty = s && s->size() == 1 && (*s)[0].known() && (*s)[0].value == 0;
      r.present = !empty;
      r.value = ctx.input_value(static_cast<size_t>(i));
      return r;
    };
    const OptionalInput scales = get(cfg_.scales_input), sizes = get(cfg_.sizes_input), roi = get(cfg_.roi_input);
    SymShape out(in->size(), Dim::unknown());
    if ((scales.present && !scales.value) || (sizes.present && !sizes.value)) {
      // Values unknown: only the dims the op does not resize are known.
      if (!cfg_.axes.empty()) {
        KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, normalized_axes(static_cast<int64_t>(in->size())));
        out = *in;
        for (int64_t a : axes) out[a] = Dim::unknown();
      }
      ctx.set_output(0, dt, out);
      return Status::ok();
    }
    Shape in_dims;
    for (const Dim& d : *in) in_dims.push_back(d.known() ? d.value : -1);
    // The roi never changes the shape; an unknown one is checked at run time.
    KILN_ASSIGN_OR_RETURN(ResizePlan plan, make_plan(in_dims, scales, sizes, roi.value ? roi : OptionalInput{}));
    for (size_t i = 0; i < out.size(); ++i) {
      if (plan.out[i] >= 0) out[i] = Dim(plan.out[i]);
      else if (plan.scale[i] == 1.0) out[i] = (*in)[i];  // an unresized symbolic dim keeps its name
    }
    ctx.set_output(0, dt, out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    auto get = [&](int i) {
      OptionalInput r;
      if (i < 0 || !ctx.has_input(static_cast<size_t>(i))) return r;
      r.value = &ctx.input(static_cast<size_t>(i));
      r.present = r.value->numel() > 0;
      return r;
    };
    KILN_ASSIGN_OR_RETURN(ResizePlan plan, make_plan(x.shape(), get(cfg_.scales_input), get(cfg_.sizes_input),
                                                     get(cfg_.roi_input)));
    Tensor& y = ctx.output(0);
    if (y.shape() != plan.out) {
      return internal_error("output shape " + shape_to_string(y.shape()) + " != planned " + shape_to_string(plan.out));
    }
    if (y.numel() == 0) return Status::ok();
    std::vector<ResizeAxisMap> maps;
    for (size_t a = 0; a < x.rank(); ++a) {
      maps.push_back(build_resize_axis_map(cfg_.opt, x.dim(a), plan.out[a], plan.scale[a], plan.roi_start[a],
                                           plan.roi_end[a]));
    }
    return dispatch_numeric(x.dtype(), [&](auto tag) -> Status {
      resize_typed<typename decltype(tag)::type>(x, y, maps, cfg_);
      return Status::ok();
    });
  }

 private:
  Result<std::vector<int64_t>> normalized_axes(int64_t rank) const {
    std::vector<int64_t> axes;
    if (cfg_.axes.empty()) {
      for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
      return axes;
    }
    for (int64_t a : cfg_.axes) {
      KILN_ASSIGN_OR_RETURN(int64_t n, normalize_axis(a, rank, "attribute 'axes'"));
      if (std::find(axes.begin(), axes.end(), n) != axes.end()) {
        return invalid_argument("attribute 'axes' lists axis " + std::to_string(a) + " twice");
      }
      axes.push_back(n);
    }
    return axes;
  }

  Result<ResizePlan> make_plan(const Shape& in, const OptionalInput& scales, const OptionalInput& sizes,
                               const OptionalInput& roi) const {
    KILN_ASSIGN_OR_RETURN(ResizePlan p, make_plan_unchecked(in, scales, sizes, roi));
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] == 0 && p.out[i] > 0) {
        return invalid_argument("input 'X' has shape " + shape_to_string(in) + ": empty dim " + std::to_string(i) +
                                " cannot be resized to " + std::to_string(p.out[i]));
      }
    }
    return p;
  }

  Result<ResizePlan> make_plan_unchecked(const Shape& in, const OptionalInput& scales, const OptionalInput& sizes,
                                         const OptionalInput& roi) const {
    const int64_t rank = static_cast<int64_t>(in.size());
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, normalized_axes(rank));
    const size_t na = axes.size();
    ResizePlan p;
    p.out = in;
    p.scale.assign(static_cast<size_t>(rank), 1.0);
    p.roi_start.assign(static_cast<size_t>(rank), 0.0);
    p.roi_end.assign(static_cast<size_t>(rank), 1.0);
    const bool have_attr_scales = !cfg_.scales.empty();
    if (have_attr_scales + scales.present + sizes.present != 1) {
      return invalid_argument("exactly one of 'scales' and 'sizes' must be given (non-empty)");
    }
    if (roi.present && cfg_.opt.coord == CoordMode::kTfCropAndResize) {
      const Tensor& r = *roi.value;
      if (!is_float_dtype(r.dtype()) || r.numel() != static_cast<int64_t>(2 * na)) {
        return invalid_argument("input 'roi' has shape " + shape_to_string(r.shape()) + " (expected " +
                                std::to_string(2 * na) + " float values: starts then ends)");
      }
      const std::vector<double> v = tensor_to_doubles(r);
      for (size_t i = 0; i < na; ++i) {
        p.roi_start[axes[i]] = v[i];
        p.roi_end[axes[i]] = v[na + i];
      }
    }
    if (sizes.present) {
      const Tensor& s = *sizes.value;
      if (s.dtype() != DType::kInt64 || s.numel() != static_cast<int64_t>(na)) {
        return invalid_argument("input 'sizes' has dtype " + dtype_name(s.dtype()) + " and shape " +
                                shape_to_string(s.shape()) + " (expected " + std::to_string(na) + " int64 values)");
      }
      const int64_t* v = s.data<int64_t>();
      for (size_t i = 0; i < na; ++i) {
        if (v[i] < 0) return invalid_argument("input 'sizes' has a negative value " + std::to_string(v[i]));
      }
      if (cfg_.policy == AspectPolicy::kStretch) {
        for (size_t i = 0; i < na; ++i) {
          const int64_t a = axes[i];
          p.out[a] = v[i];
          p.scale[a] = in[a] > 0 ? static_cast<double>(v[i]) / static_cast<double>(in[a]) : 1.0;
        }
        return p;
      }
      // keep_aspect_ratio_policy: one scale for all axes, the smallest or largest ratio.
      double scale = cfg_.policy == AspectPolicy::kNotLarger ? std::numeric_limits<double>::infinity() : 0.0;
      bool known = true;
      for (size_t i = 0; i < na; ++i) {
        if (in[axes[i]] <= 0) {
          known = false;
          continue;
        }
        const double r = static_cast<double>(v[i]) / static_cast<double>(in[axes[i]]);
        scale = cfg_.policy == AspectPolicy::kNotLarger ? std::min(scale, r) : std::max(scale, r);
      }
      for (int64_t a : axes) {
        const double out = scale * static_cast<double>(in[a]) + 0.5;
        if (known && out > static_cast<double>(int64_t{1} << 48)) {
          return invalid_argument("input 'sizes' makes dim " + std::to_string(a) + " too large");
        }
        p.scale[a] = known ? scale : -1;
        p.out[a] = known ? static_cast<int64_t>(out) : -1;
      }
      return p;
    }
    std::vector<double> sv;
    if (have_attr_scales) {
      sv.assign(cfg_.scales.begin(), cfg_.scales.end());
    } else {
      const Tensor& s = *scales.value;
      if (!is_float_dtype(s.dtype())) {
        return invalid_argument("input 'scales' has dtype " + dtype_name(s.dtype()) + " (expected float)");
      }
      sv = tensor_to_doubles(s);
    }
    if (sv.size() != na) {
      return invalid_argument("'scales' has " + std::to_string(sv.size()) + " values (expected " +
                              std::to_string(na) + ", one per resized axis)");
    }
    for (size_t i = 0; i < na; ++i) {
      if (!(sv[i] > 0) || !std::isfinite(sv[i])) {
        return invalid_argument("'scales' has the value " + std::to_string(sv[i]) + " (expected > 0)");
      }
      const int64_t a = axes[i];
      const double out = std::floor(sv[i] * static_cast<double>(in[a]));
      if (out > static_cast<double>(int64_t{1} << 48)) {
        return invalid_argument("'scales' value " + std::to_string(sv[i]) + " makes dim " + std::to_string(a) +
                                " of size " + std::to_string(in[a]) + " too large");
      }
      p.scale[a] = sv[i];
      p.out[a] = in[a] < 0 ? -1 : static_cast<int64_t>(out);
    }
    return p;
  }

  ResizeConfig cfg_;
};

Result<ResizeMode> parse_mode(const Node& node) {
  KILN_ASSIGN_OR_RETURN(std::string mode, attr_string(node, "mode", "nearest"));
  if (mode == "nearest") return ResizeMode::kNearest;
  if (mode == "linear" || mode == "bilinear") return ResizeMode::kLinear;
  if (mode == "cubic") return ResizeMode::kCubic;
  return invalid_model(node.describe() + ": attribute 'mode' is '" + mode + "' (expected nearest, linear or cubic)");
}

}  // namespace

Result<std::unique_ptr<OpKernel>> make_resize(const KernelInit& init) {
  const Node& node = init.node;
  ResizeConfig cfg;
  KILN_ASSIGN_OR_RETURN(cfg.opt.mode, parse_mode(node));
  if (init.opset < 11) {
    // Resize-10 samples like Upsample: asymmetric coordinates, floor/ceil nearest.
    if (cfg.opt.mode == ResizeMode::kCubic) return invalid_model(node.describe() + ": Resize-10 has no cubic mode");
    cfg.opt.coord = CoordMode::kAsymmetric;
    cfg.opt.nearest = NearestMode::kSimple;
    cfg.scales_input = 1;
    return std::unique_ptr<OpKernel>(std::make_unique<ResizeKernel>(std::move(cfg)));
  }
  cfg.roi_input = 1;
  cfg.scales_input = 2;
  cfg.sizes_input = 3;
  KILN_ASSIGN_OR_RETURN(std::string coord, attr_string(node, "coordinate_transformation_mode", "half_pixel"));
  if (coord == "half_pixel") cfg.opt.coord = CoordMode::kHalfPixel;
  else if (coord == "half_pixel_symmetric") cfg.opt.coord = CoordMode::kHalfPixelSymmetric;
  else if (coord == "pytorch_half_pixel") cfg.opt.coord = CoordMode::kPytorchHalfPixel;
  else if (coord == "align_corners") cfg.opt.coord = CoordMode::kAlignCorners;
  else if (coord == "asymmetric") cfg.opt.coord = CoordMode::kAsymmetric;
  else if (coord == "tf_crop_and_resize") cfg.opt.coord = CoordMode::kTfCropAndResize;
  else if (coord == "tf_half_pixel_for_nn") {
    return unsupported(node.describe() + ": coordinate_transformation_mode 'tf_half_pixel_for_nn'");
  } else {
    return invalid_model(node.describe() + ": attribute 'coordinate_transformation_mode' is '" + coord + "'");
  }
  KILN_ASSIGN_OR_RETURN(std::string nearest, attr_string(node, "nearest_mode", "round_prefer_floor"));
  if (nearest == "round_prefer_floor") cfg.opt.nearest = NearestMode::kRoundPreferFloor;
  else if (nearest == "round_prefer_ceil") cfg.opt.nearest = NearestMode::kRoundPreferCeil;
  else if (nearest == "floor") cfg.opt.nearest = NearestMode::kFloor;
  else if (nearest == "ceil") cfg.opt.nearest = NearestMode::kCeil;
  else return invalid_model(node.describe() + ": attribute 'nearest_mode' is '" + nearest + "'");
  KILN_ASSIGN_OR_RETURN(float a, attr_float(node, "cubic_coeff_a", -0.75f));
  cfg.opt.cubic_a = a;
  KILN_ASSIGN_OR_RETURN(int64_t exclude, attr_int(node, "exclude_outside", 0));
  cfg.opt.exclude_outside = exclude != 0;
  KILN_ASSIGN_OR_RETURN(float extrap, attr_float(node, "extrapolation_value", 0.0f));
  cfg.extrapolation_value = extrap;
  KILN_ASSIGN_OR_RETURN(int64_t antialias, attr_int(node, "antialias", 0));
  cfg.opt.antialias = antialias != 0 && cfg.opt.mode != ResizeMode::kNearest;
  KILN_ASSIGN_OR_RETURN(cfg.axes, attr_ints(node, "axes", {}));
  KILN_ASSIGN_OR_RETURN(std::string policy, attr_string(node, "keep_aspect_ratio_policy", "stretch"));
  if (policy == "stretch") cfg.policy = AspectPolicy::kStretch;
  else if (policy == "not_larger") cfg.policy = AspectPolicy::kNotLarger;
  else if (policy == "not_smaller") cfg.policy = AspectPolicy::kNotSmaller;
  else return invalid_model(node.describe() + ": attribute 'keep_aspect_ratio_policy' is '" + policy + "'");
  return std::unique_ptr<OpKernel>(std::make_unique<ResizeKernel>(std::move(cfg)));
}

Result<std::unique_ptr<OpKernel>> make_upsample(const KernelInit& init) {
  const Node& node = init.node;
  ResizeConfig cfg;
  KILN_ASSIGN_OR_RETURN(cfg.opt.mode, parse_mode(node));
  if (cfg.opt.mode == ResizeMode::kCubic) return invalid_model(node.describe() + ": Upsample has no cubic mode");
  cfg.opt.coord = CoordMode::kAsymmetric;
  cfg.opt.nearest = NearestMode::kSimple;
  if (init.opset < 9) {
    KILN_ASSIGN_OR_RETURN(cfg.scales, attr_floats(node, "scales"));
    if (cfg.scales.empty()) return invalid_model(node.describe() + ": required attribute 'scales' is missing");
  } else {
    cfg.scales_input = 1;
  }
  return std::unique_ptr<OpKernel>(std::make_unique<ResizeKernel>(std::move(cfg)));
}

}  // namespace kiln
