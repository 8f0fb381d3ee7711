// Pad: constant, reflect, edge and wrap padding; negative pads crop. Opsets 1-10 take
// pads and the constant as attributes, 11+ as inputs, and 18+ add `axes`.
//
// Each axis gets a table from output coordinate to input coordinate (or -1 for the
// constant), so every mode is the same copy loop. Negative pads crop first; the modes
// then reflect, clamp or wrap within the cropped extent.
#include <cstring>

#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

// Input coordinate for each output coordinate of one axis of size `dim`.
Result<std::vector<int64_t>> axis_map(int64_t dim, int64_t begin, int64_t end, PadMode mode, size_t axis) {
  const int64_t out_dim = dim + begin + end;
  const int64_t lo = std::max<int64_t>(0, -begin), hi = dim - std::max<int64_t>(0, -end);
  const int64_t n = hi - lo;  // the extent left after cropping
  std::vector<int64_t> map(static_cast<size_t>(out_dim));
  if (n <= 0 && mode != PadMode::kConstant && out_dim > 0) {
    return invalid_argument("input 'data': axis " + std::to_string(axis) + " has nothing left to pad from in " +
                            "reflect, edge or wrap mode (size " + std::to_string(dim) + ")");
  }
  for (int64_t o = 0; o < out_dim; ++o) {
    const int64_t t = o - begin - lo;  // position relative to the cropped extent
    int64_t src;
    if (t >= 0 && t < n) {
      src = t;
    } else if (mode == PadMode::kConstant) {
      map[static_cast<size_t>(o)] = -1;
      continue;
    } else if (mode == PadMode::kEdge) {
      src = t < 0 ? 0 : n - 1;
    } else if (mode == PadMode::kWrap) {
      src = ((t % n) + n) % n;
    } else if (n == 1) {
      src = 0;
    } else {  // reflect about the end elements, bouncing as often as needed
      const int64_t period = 2 * (n - 1);
      int64_t r = ((t % period) + period) % period;
      src = r < n ? r : period - r;
    }
    map[static_cast<size_t>(o)] = src + lo;
  }
  return map;
}

class PadOp final : public OpKernel {
 public:
  PadOp(PadMode mode, bool inputs, std::vector<int64_t> attr_pads, float attr_value)
      : mode_(mode), inputs_(inputs), attr_pads_(std::move(attr_pads)), attr_value_(attr_value) {}

  Status infer(InferContext& ctx) const override {
    const SymShape* in = ctx.input_shape(0);
    const DType dtype = ctx.input_dtype(0);
    if (!in) {
      ctx.set_output(0, dtype, std::nullopt);
      return Status::ok();
    }
    std::optional<std::vector<int64_t>> pads = attr_pads_;
    std::optional<std::vector<int64_t>> axes;
    if (inputs_) {
      KILN_ASSIGN_OR_RETURN(pads, known_int_input(ctx, 1, "pads"));
      KILN_ASSIGN_OR_RETURN(axes, known_int_input(ctx, 3, "axes"));
      if (ctx.has_input(3) && !axes) pads.reset();
    }
    if (!pads) {
      ctx.set_output(0, dtype, unknown_dims(in->size()));
      return Status::ok();
    }
    KILN_ASSIGN_OR_RETURN(auto per_axis, resolve(*pads, axes, in->size()));
    SymShape out = *in;
    for (size_t d = 0; d < out.size(); ++d) {
      const int64_t add = per_axis[d] + per_axis[d + out.size()];
      if (out[d].known()) {
        out[d] = Dim(out[d].value + add);
        if (out[d].value < 0) return invalid_argument("input 'pads' crops axis " + std::to_string(d) + " below 0");
      } else if (add != 0) {
        out[d] = Dim::unknown();
      }
    }
    ctx.set_output(0, dtype, out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const size_t rank = x.rank();
    const size_t elem = dtype_size(x.dtype());
    std::vector<int64_t> pads = attr_pads_;
    std::optional<std::vector<int64_t>> axes;
    alignas(8) unsigned char value[8] = {};
    if (inputs_) {
      KILN_ASSIGN_OR_RETURN(pads, read_int_values(ctx.input(1), "pads"));
      if (ctx.has_input(3)) {
        KILN_ASSIGN_OR_RETURN(axes, read_int_values(ctx.input(3), "axes"));
      }
      if (ctx.has_input(2) && ctx.input(2).numel() > 0) {
        const Tensor& v = ctx.input(2);
        if (v.dtype() != x.dtype() || v.numel() != 1) {
          return invalid_argument("input 'constant_value' has shape " + shape_to_string(v.shape()) + " and dtype " +
                                  dtype_name(v.dtype()) + " (expected one " + dtype_name(x.dtype()) + ")");
        }
        std::memcpy(value, v.raw(), elem);
      }
    } else {
      KILN_RETURN_IF_ERROR(dispatch_all(x.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T v = store_as<T>(attr_value_);
        std::memcpy(value, &v, sizeof(T));
        return Status::ok();
      }));
    }
    KILN_ASSIGN_OR_RETURN(auto per_axis, resolve(pads, axes, rank));
    Shape out_shape(rank);
    std::vector<std::vector<int64_t>> maps(rank);
    for (size_t d = 0; d < rank; ++d) {
      out_shape[d] = x.dim(d) + per_axis[d] + per_axis[d + rank];
      if (out_shape[d] < 0) return invalid_argument("input 'pads' crops axis " + std::to_string(d) + " below 0");
      KILN_ASSIGN_OR_RETURN(maps[d], axis_map(x.dim(d), per_axis[d], per_axis[d + rank], mode_, d));
    }
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, x.dtype(), out_shape));
    if (y->numel() == 0) return Status::ok();
    if (rank == 0) {
      std::memcpy(y->raw(), x.raw(), elem);
      return Status::ok();
    }
    return dispatch_elem_size(elem, [&](auto tag) {
      using T = decltype(tag);
      T fill;
      std::memcpy(&fill, value, sizeof(T));
      copy_padded(x.data<T>(), y->data<T>(), contiguous_strides(x.shape()), out_shape, maps, fill);
      return Status::ok();
    });
  }

 private:
  // Pads for every axis, [begin_0.., end_0..], from pads given for `axes` (all when absent).
  static Result<std::vector<int64_t>> resolve(const std::vector<int64_t>& pads,
                                              const std::optional<std::vector<int64_t>>& axes, size_t rank) {
    std::vector<int64_t> all(2 * rank, 0);
    const size_t n = axes ? axes->size() : rank;
    if (pads.size() != 2 * n) {
      return invalid_argument("input 'pads' has " + std::to_string(pads.size()) + " values (expected " +
                              std::to_string(2 * n) + ", a begin and an end per axis)");
    }
    for (size_t i = 0; i < n; ++i) {
      int64_t a = static_cast<int64_t>(i);
      if (axes) {
        KILN_ASSIGN_OR_RETURN(a, normalize_axis((*axes)[i], static_cast<int64_t>(rank), "input 'axes': axis"));
      }
      all[static_cast<size_t>(a)] = pads[i];
      all[static_cast<size_t>(a) + rank] = pads[i + n];
    }
    return all;
  }

  // Fills each output row from the maps: rows whose outer coordinates hit padding are all
  // constant; within a row, the span that maps straight through is one memcpy.
  template <typename T>
  static void copy_padded(const T* src, T* dst, const std::vector<int64_t>& strides, const Shape& out_shape,
                          const std::vector<std::vector<int64_t>>& maps, T fill) {
    const size_t rank = out_shape.size();
    const std::vector<int64_t>& last = maps[rank - 1];
    const int64_t cols = out_shape[rank - 1];
    int64_t direct_begin = cols, direct_end = cols;
    // The straight-through span: where the map increases by one from the first in-range
    // element it finds; computed once for all rows.
    for (int64_t o = 0; o < cols; ++o) {
      if (last[static_cast<size_t>(o)] >= 0) {
        direct_begin = o;
        direct_end = o + 1;
        while (direct_end < cols && last[static_cast<size_t>(direct_end)] == last[static_cast<size_t>(direct_end - 1)] + 1) {
          ++direct_end;
        }
        break;
      }
    }
    int64_t rows = 1;
    for (size_t d = 0; d + 1 < rank; ++d) rows *= out_shape[d];
    std::vector<int64_t> coord(rank, 0);
    for (int64_t r = 0; r < rows; ++r, dst += cols) {
      int64_t base = 0;
      bool padded_row = false;
      for (size_t d = 0; d + 1 < rank; ++d) {
        const int64_t m = maps[d][static_cast<size_t>(coord[d])];
        if (m < 0) padded_row = true;
        base += m * strides[d];
      }
      if (padded_row) {
        std::fill(dst, dst + cols, fill);
      } else {
        for (int64_t o = 0; o < direct_begin; ++o) {
          const int64_t m = last[static_cast<size_t>(o)];
          dst[o] = m < 0 ? fill : src[base + m];
        }
        if (direct_end > direct_begin) {
          std::memcpy(dst + direct_begin, src + base + last[static_cast<size_t>(direct_begin)],
                      static_cast<size_t>(direct_end - direct_begin) * sizeof(T));
        }
        for (int64_t o = direct_end; o < cols; ++o) {
          const int64_t m = last[static_cast<size_t>(o)];
          dst[o] = m < 0 ? fill : src[base + m];
        }
      }
      for (size_t d = rank - 1; d-- > 0;) {
        if (++coord[d] < out_shape[d]) break;
        coord[d] = 0;
      }
    }
  }

  PadMode mode_;
  bool inputs_;
  std::vector<int64_t> attr_pads_;
  float attr_value_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_pad(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(std::string mode_name, attr_string(init.node, "mode", "constant"));
  PadMode mode;
  if (mode_name == "constant") mode = PadMode::kConstant;
  else if (mode_name == "reflect") mode = PadMode::kReflect;
  else if (mode_name == "edge") mode = PadMode::kEdge;
  else if (mode_name == "wrap") mode = PadMode::kWrap;
  else {
    return invalid_model(init.node.describe() + ": attribute 'mode' is '" + mode_name +
                         "' (expected constant, reflect, edge or wrap)");
  }
  if (init.opset >= 11) return std::unique_ptr<OpKernel>(new PadOp(mode, true, {}, 0.0f));
  const char* pads_name = init.opset < 2 ? "paddings" : "pads";
  if (!has_attr(init.node, pads_name)) {
    return invalid_model(init.node.describe() + ": required attribute '" + pads_name + "' is missing");
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> pads, attr_ints(init.node, pads_name));
  KILN_ASSIGN_OR_RETURN(float value, attr_float(init.node, "value", 0.0f));
  return std::unique_ptr<OpKernel>(new PadOp(mode, false, std::move(pads), value));
}

}  // namespace kiln
