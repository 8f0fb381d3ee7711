// Slice: numpy-style basic slicing, with negative steps. Opset 1 takes starts/ends/axes
// as attributes; opset 10+ as inputs (plus steps). Out-of-range starts and ends clamp,
// which is how exporters say "to the end" (INT64_MAX) or "from the start" (INT64_MIN).
#include <algorithm>
#include <climits>

#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

struct SliceArgs {
  std::vector<int64_t> starts, ends, axes, steps;  // axes/steps empty when omitted
};

struct AxisSlice {
  int64_t start = 0, step = 1, count = 0;
};

AxisSlice slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step) {
  AxisSlice s;
  if (dim == 0) return s;
  // A step larger than the dim takes at most one element; clamping it keeps the stride
  // arithmetic far from overflow without changing the result.
  step = std::clamp<int64_t>(step, -dim, dim);
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  s.step = step;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    s.count = end > start ? (end - start + step - 1) / step : 0;
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    s.count = start > end ? (start - end - step - 1) / -step : 0;
  }
  s.start = start;
  return s;
}

// Checks the argument lengths and steps, and normalizes axes against `rank`.
Status check_args(SliceArgs& a, int64_t rank) {
  const size_t n = a.starts.size();
  if (a.ends.size() != n) {
    return invalid_argument("inputs 'starts' and 'ends' have " + std::to_string(n) + " and " +
                            std::to_string(a.ends.size()) + " values (expected the same count)");
  }
  if (a.axes.empty()) {
    if (static_cast<int64_t>(n) > rank) {
      return invalid_argument("input 'starts' has " + std::to_string(n) + " values for input 'data' of rank " +
                              std::to_string(rank));
    }
    for (size_t i = 0; i < n; ++i) a.axes.push_back(static_cast<int64_t>(i));
  } else if (a.axes.size() != n) {
    return invalid_argument("input 'axes' has " + std::to_string(a.axes.size()) + " values (expected " +
                            std::to_string(n) + ", like 'starts')");
  }
  if (a.steps.empty()) a.steps.assign(n, 1);
  if (a.steps.size() != n) {
    return invalid_argument("input 'steps' has " + std::to_string(a.steps.size()) + " values (expected " +
                            std::to_string(n) + ", like 'starts')");
  }
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < n; ++i) {
    KILN_ASSIGN_OR_RETURN(a.axes[i], normalize_axis(a.axes[i], rank, "input 'axes': axis"));
    if (seen[static_cast<size_t>(a.axes[i])]) {
      return invalid_argument("input 'axes' " + ints_to_string(a.axes) + " repeats axis " + std::to_string(a.axes[i]));
    }
    seen[static_cast<size_t>(a.axes[i])] = true;
    if (a.steps[i] == 0) return invalid_argument("input 'steps' has a 0 step for axis " + std::to_string(a.axes[i]));
  }
  return Status::ok();
}

class SliceOp final : public OpKernel {
 public:
  explicit SliceOp(std::optional<SliceArgs> attr_args) : attr_args_(std::move(attr_args)) {}

  Status infer(InferContext& ctx) const override {
    const SymShape* in = ctx.input_shape(0);
    const DType dtype = ctx.input_dtype(0);
    if (!in) {
      ctx.set_output(0, dtype, std::nullopt);
      return Status::ok();
    }
    const int64_t rank = static_cast<int64_t>(in->size());
    SymShape out = *in;
    std::optional<SliceArgs> args = attr_args_;
    std::optional<std::vector<int64_t>> axes;
    if (!args) {
      KILN_ASSIGN_OR_RETURN(auto starts, known_int_input(ctx, 1, "starts"));
      KILN_ASSIGN_OR_RETURN(auto ends, known_int_input(ctx, 2, "ends"));
      KILN_ASSIGN_OR_RETURN(axes, known_int_input(ctx, 3, "axes"));
      KILN_ASSIGN_OR_RETURN(auto steps, known_int_input(ctx, 4, "steps"));
      const bool axes_ok = !ctx.has_input(3) || axes;
      if (starts && ends && axes_ok && (!ctx.has_input(4) || steps)) {
        args = SliceArgs{*starts, *ends, axes ? *axes : std::vector<int64_t>{}, steps ? *steps : std::vector<int64_t>{}};
      } else if (!axes_ok) {
        ctx.set_output(0, dtype, unknown_dims(in->size()));
        return Status::ok();
      } else {
        // Unknown bounds: the sliced axes are unknown, the others pass through.
        SliceArgs partial{starts ? *starts : std::vector<int64_t>{}, {}, axes ? *axes : std::vector<int64_t>{}, {}};
        if (!axes) {
          const SymShape* starts_shape = ctx.input_shape(1);
          if (!starts_shape || starts_shape->size() != 1 || !(*starts_shape)[0].known()) {
            ctx.set_output(0, dtype, unknown_dims(in->size()));
            return Status::ok();
          }
          for (int64_t i = 0; i < (*starts_shape)[0].value && i < rank; ++i) partial.axes.push_back(i);
        }
        for (int64_t& a : partial.axes) {
          KILN_ASSIGN_OR_RETURN(a, normalize_axis(a, rank, "input 'axes': axis"));
          out[static_cast<size_t>(a)] = Dim::unknown();
        }
        ctx.set_output(0, dtype, out);
        return Status::ok();
      }
    }
    KILN_RETURN_IF_ERROR(check_args(*args, rank));
    for (size_t i = 0; i < args->axes.size(); ++i) {
      Dim& d = out[static_cast<size_t>(args->axes[i])];
      const int64_t start = args->starts[i], end = args->ends[i], step = args->steps[i];
      if (d.known()) {
        d = Dim(slice_axis(d.value, start, end, step).count);
      } else if (!(start == 0 && step == 1 && end >= INT32_MAX)) {
        d = Dim::unknown();  // else: the whole axis, symbol and all
      }
    }
    ctx.set_output(0, dtype, out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    SliceArgs args;
    if (attr_args_) {
      args = *attr_args_;
    } else {
      KILN_ASSIGN_OR_RETURN(args.starts, read_int_values(ctx.input(1), "starts"));
      KILN_ASSIGN_OR_RETURN(args.ends, read_int_values(ctx.input(2), "ends"));
      if (ctx.has_input(3)) {
        KILN_ASSIGN_OR_RETURN(args.axes, read_int_values(ctx.input(3), "axes"));
      }
      if (ctx.has_input(4)) {
        KILN_ASSIGN_OR_RETURN(args.steps, read_int_values(ctx.input(4), "steps"));
      }
    }
    KILN_RETURN_IF_ERROR(check_args(args, static_cast<int64_t>(x.rank())));
    const std::vector<int64_t> in_strides = contiguous_strides(x.shape());
    Shape out_shape = x.shape();
    std::vector<int64_t> strides = in_strides;
    int64_t offset = 0;
    for (size_t i = 0; i < args.axes.size(); ++i) {
      const size_t a = static_cast<size_t>(args.axes[i]);
      const AxisSlice s = slice_axis(x.dim(a), args.starts[i], args.ends[i], args.steps[i]);
      out_shape[a] = s.count;
      strides[a] = in_strides[a] * s.step;
      offset += in_strides[a] * s.start;
    }
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, x.dtype(), out_shape));
    if (y->numel() == 0) return Status::ok();
    const size_t elem = dtype_size(x.dtype());
    copy_strided(static_cast<const char*>(x.raw()) + static_cast<size_t>(offset) * elem, y->raw(), elem, out_shape,
                 strides);
    return Status::ok();
  }

 private:
  std::optional<SliceArgs> attr_args_;  // Slice-1 only
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_slice(const KernelInit& init) {
  if (init.opset >= 10) return std::unique_ptr<OpKernel>(new SliceOp(std::nullopt));
  SliceArgs args;
  KILN_ASSIGN_OR_RETURN(args.starts, attr_ints(init.node, "starts"));
  KILN_ASSIGN_OR_RETURN(args.ends, attr_ints(init.node, "ends"));
  KILN_ASSIGN_OR_RETURN(args.axes, attr_ints(init.node, "axes"));
  if (!has_attr(init.node, "starts") || !has_attr(init.node, "ends")) {
    return invalid_model(init.node.describe() + ": Slice-1 needs the attributes 'starts' and 'ends'");
  }
  return std::unique_ptr<OpKernel>(new SliceOp(std::move(args)));
}

}  // namespace kiln
