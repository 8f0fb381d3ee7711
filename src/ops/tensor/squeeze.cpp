// Squeeze and Unsqueeze: remove or insert size-1 dims. Opsets 1 and 11 take `axes` as an
// attribute (11 allows negative axes), opset 13 as an optional input. run() hands out a
// view of the input.
#include <algorithm>

#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

// Axes normalized to [0, rank) and checked for duplicates.
Result<std::vector<bool>> axis_mask(const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<bool> mask(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(a, rank, "input 'axes': axis"));
    if (mask[static_cast<size_t>(axis)]) {
      return invalid_argument("input 'axes': axis " + std::to_string(a) + " appears more than once");
    }
    mask[static_cast<size_t>(axis)] = true;
  }
  return mask;
}

// Where the axes live: the attribute (opsets 1 and 11) or input 1 (opset 13).
struct AxesSource {
  bool from_input;
  std::vector<int64_t> attr;
  bool attr_present;
  // Squeeze-1/11 read an empty axes attribute as "no axes" (squeeze every 1); an empty
  // axes input of Squeeze-13 squeezes nothing, and Unsqueeze inserts nothing.
  bool empty_attr_means_absent;
  bool attr_absent() const { return !attr_present || (empty_attr_means_absent && attr.empty()); }
};

// The axes at inference time: nullopt when input 1 is given but its value is unknown.
// `absent` is set when the node has no axes at all.
Result<std::optional<std::vector<int64_t>>> axes_at_infer(const AxesSource& src, InferContext& ctx,
                                                          bool& absent) {
  absent = false;
  if (!src.from_input) {
    absent = src.attr_absent();
    return std::optional<std::vector<int64_t>>(src.attr);
  }
  if (!ctx.has_input(1)) {
    absent = true;
    return std::optional<std::vector<int64_t>>(std::vector<int64_t>{});
  }
  return known_int_input(ctx, 1, "axes");
}

Result<std::vector<int64_t>> axes_at_run(const AxesSource& src, RunContext& ctx, bool& absent) {
  if (!src.from_input) {
    absent = src.attr_absent();
    return src.attr;
  }
  absent = !ctx.has_input(1);
  if (absent) return std::vector<int64_t>{};
  return read_int_values(ctx.input(1), "axes");
}

Result<SymShape> squeeze_shape(const SymShape& in, const std::vector<int64_t>& axes, bool absent) {
  SymShape out;
  if (absent) {
    // Without axes every size-1 dim goes; the caller made sure all dims are known.
    for (const Dim& d : in) {
      if (!(d.known() && d.value == 1)) out.push_back(d);
    }
    return out;
  }
  KILN_ASSIGN_OR_RETURN(std::vector<bool> mask, axis_mask(axes, static_cast<int64_t>(in.size())));
  for (size_t i = 0; i < in.size(); ++i) {
    if (!mask[i]) {
      out.push_back(in[i]);
    } else if (in[i].known() && in[i].value != 1) {
      return invalid_argument("input 'data': cannot squeeze axis " + std::to_string(i) + " of shape " +
                              sym_shape_to_string(in) + " (size " + std::to_string(in[i].value) +
                              ", expected 1)");
    }
  }
  return out;
}

Result<SymShape> unsqueeze_shape(const SymShape& in, const std::vector<int64_t>& axes) {
  const int64_t rank = static_cast<int64_t>(in.size() + axes.size());
  KILN_ASSIGN_OR_RETURN(std::vector<bool> mask, axis_mask(axes, rank));
  SymShape out;
  size_t next = 0;
  for (int64_t i = 0; i < rank; ++i) {
    out.push_back(mask[static_cast<size_t>(i)] ? Dim(1) : in[next++]);
  }
  return out;
}

class SqueezeOp final : public OpKernel {
 public:
  SqueezeOp(AxesSource src, bool unsqueeze) : src_(std::move(src)), unsqueeze_(unsqueeze) {}

  Status infer(InferContext& ctx) const override {
    bool absent = false;
    KILN_ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> axes, axes_at_infer(src_, ctx, absent));
    const SymShape* in = ctx.input_shape(0);
    const DType dtype = ctx.input_dtype(0);
    if (unsqueeze_ && absent) return invalid_argument("input 'axes' is required");
    if (!in) {
      ctx.set_output(0, dtype, std::nullopt);
    } else if (!axes) {
      // Known count of unknown axes still gives the rank.
      const SymShape* axes_shape = ctx.input_shape(1);
      if (axes_shape && axes_shape->size() == 1 && (*axes_shape)[0].known()) {
        const int64_t n = (*axes_shape)[0].value;
        const int64_t rank = static_cast<int64_t>(in->size()) + (unsqueeze_ ? n : -n);
        if (rank < 0) {
          ctx.set_output(0, dtype, std::nullopt);
        } else if (unsqueeze_ && in->empty()) {
          // A scalar's unsqueeze is all ones wherever the axes are (the shape subgraphs
          // of exports unsqueeze scalars before a Concat).
          ctx.set_output(0, dtype, SymShape(static_cast<size_t>(rank), Dim(1)));
        } else {
          ctx.set_output(0, dtype, unknown_dims(static_cast<size_t>(rank)));
        }
      } else {
        ctx.set_output(0, dtype, std::nullopt);
      }
    } else if (unsqueeze_) {
      KILN_ASSIGN_OR_RETURN(SymShape out, unsqueeze_shape(*in, *axes));
      ctx.set_output(0, dtype, out);
    } else if (absent && !is_concrete(*in)) {
      ctx.set_output(0, dtype, std::nullopt);  // which dims are 1 is not known yet
    } else {
      KILN_ASSIGN_OR_RETURN(SymShape out, squeeze_shape(*in, *axes, absent));
      ctx.set_output(0, dtype, out);
    }
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    bool absent = false;
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, axes_at_run(src_, ctx, absent));
    SymShape out;
    if (unsqueeze_) {
      if (absent) return invalid_argument("input 'axes' is required");
      KILN_ASSIGN_OR_RETURN(out, unsqueeze_shape(to_sym_shape(x.shape()), axes));
    } else {
      KILN_ASSIGN_OR_RETURN(out, squeeze_shape(to_sym_shape(x.shape()), axes, absent));
    }
    KILN_ASSIGN_OR_RETURN(Tensor view, x.reshaped(to_concrete(out)));
    ctx.set_output(0, std::move(view));
    return Status::ok();
  }

 private:
  AxesSource src_;
  bool unsqueeze_;
};

Result<std::unique_ptr<OpKernel>> make(const KernelInit& init, bool unsqueeze) {
  AxesSource src{init.opset >= 13, {}, has_attr(init.node, "axes"), !unsqueeze};
  if (!src.from_input) {
    KILN_ASSIGN_OR_RETURN(src.attr, attr_ints(init.node, "axes"));
    if (unsqueeze && src.attr_absent()) {
      return invalid_model(init.node.describe() + ": required attribute 'axes' is missing");
    }
  } else if (unsqueeze && (init.node.inputs.size() < 2 || init.node.inputs[1] == kNoValue)) {
    return invalid_model(init.node.describe() + ": required input 'axes' is missing");
  }
  return std::unique_ptr<OpKernel>(new SqueezeOp(std::move(src), unsqueeze));
}

}  // namespace

Result<std::unique_ptr<OpKernel>> make_squeeze(const KernelInit& init) { return make(init, false); }
Result<std::unique_ptr<OpKernel>> make_unsqueeze(const KernelInit& init) { return make(init, true); }

}  // namespace kiln
