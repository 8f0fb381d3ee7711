// kiln::ChannelsLastPool: a 2-D MaxPool, AveragePool or global pool inside a channels-last
// conv chain (pass convert_convs_to_channels_last), reading X as [N, H, W, C] and writing
// Y as [N, OH, OW, C]. It runs oneDNN's pooling on NHWC, which vectorizes across the
// channels; kiln's own pools are NCHW, and keeping one there cost ResNet-50 two Reorders
// and a scalar 3x3 max over 64 x 112 x 112 values (1.5 ms of 42).
// Attributes: mode ("max" or "avg"), global (0/1), and the ONNX pool attributes
// (kernel_shape, strides, pads, auto_pad, ceil_mode, count_include_pad) when not global.
#include <algorithm>

#include "backend/cpu/conv_primitive.h"
#include "backend/cpu/onednn.h"
#include "ops/nn/nn_ops.h"
#include "ops/nn/pool_geometry.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

struct PoolPrimitive {
  dnnl::pooling_forward primitive;
  dnnl::memory::desc src, dst, scratchpad;
};

class ChannelsLastPoolOp final : public OpKernel {
 public:
  ChannelsLastPoolOp(bool max, bool global, PoolAttrs attrs, bool count_include_pad)
      : max_(max), global_(global), attrs_(std::move(attrs)), count_include_pad_(count_include_pad) {}

  Status infer(InferContext& ctx) const override {
    if (ctx.input_dtype(0) != DType::kFloat32 && ctx.input_dtype(0) != DType::kUndefined) {
      return unsupported_dtype("ChannelsLastPool", "X", ctx.input_dtype(0));
    }
    const SymShape* in = ctx.input_shape(0);
    if (!in) {
      ctx.set_output(0, DType::kFloat32, std::nullopt);
      return Status::ok();
    }
    if (in->size() != 4) {
      return invalid_argument("ChannelsLastPool input X has shape " + sym_shape_to_string(*in) +
                              ", expected [N, H, W, C]");
    }
    SymShape out{(*in)[0], 1, 1, (*in)[3]};
    if (!global_) {
      const SymShape first{(*in)[0], (*in)[3], (*in)[1], (*in)[2]};
      KILN_ASSIGN_OR_RETURN(SymShape pooled, pool_output_shape(attrs_, first, "X"));
      out = {pooled[0], pooled[2], pooled[3], pooled[1]};
    }
    ctx.set_output(0, DType::kFloat32, out);
    return Status::ok();
  }

  const char* implementation() const override { return "onednn"; }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::kFloat32) return unsupported_dtype("ChannelsLastPool", "X", x.dtype());
    if (x.rank() != 4) {
      return invalid_argument("ChannelsLastPool input X has shape " + shape_to_string(x.shape()) +
                              ", expected [N, H, W, C]");
    }
    const Shape first{x.dim(0), x.dim(3), x.dim(1), x.dim(2)};  // how oneDNN names the dims
    std::vector<PoolAxis> axes(2);
    for (size_t i = 0; i < 2; ++i) {
      if (global_) {
        axes[i].in = axes[i].kernel = axes[i].stride = first[2 + i];
      } else {
        KILN_ASSIGN_OR_RETURN(axes[i], pool_axis(attrs_, i, first[2 + i]));
        // ceil_mode's last window may overhang the end padding: oneDNN wants that as
        // padding (which max ignores and the excluding average does not count).
        PoolAxis& a = axes[i];
        a.pad_end = std::max(a.pad_end, (a.out - 1) * a.stride + a.kernel - a.in - a.pad_begin);
      }
    }
    const Shape out_first{first[0], first[1], global_ ? 1 : axes[0].out, global_ ? 1 : axes[1].out};
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, DType::kFloat32,
                                                     Shape{out_first[0], out_first[2], out_first[3], out_first[1]}));
    if (y->numel() == 0) return Status::ok();
    std::shared_ptr<PoolPrimitive> prim = cache_.find(x.shape());
    if (!prim) {
      prim = std::make_shared<PoolPrimitive>();
      KILN_RETURN_IF_ERROR(cpu::guard_onednn("ChannelsLastPool", [&] {
        prim->src = cpu::channels_last_desc(first);
        prim->dst = cpu::channels_last_desc(out_first);
        const dnnl::algorithm algo = max_                 ? dnnl::algorithm::pooling_max
                                     : count_include_pad_ ? dnnl::algorithm::pooling_avg_include_padding
                                                          : dnnl::algorithm::pooling_avg_exclude_padding;
        const dnnl::memory::dims strides{axes[0].stride, axes[1].stride};
        const dnnl::memory::dims kernel{axes[0].kernel, axes[1].kernel};
        const dnnl::memory::dims pad_l{axes[0].pad_begin, axes[1].pad_begin};
        const dnnl::memory::dims pad_r{axes[0].pad_end, axes[1].pad_end};
        dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, algo, prim->src, prim->dst, strides,
                                         kernel, pad_l, pad_r);
        dnnl::pooling_forward::primitive_desc pd(desc, cpu::default_attr(), cpu::onednn_engine());
        prim->primitive = dnnl::pooling_forward(pd);
        prim->scratchpad = pd.scratchpad_desc();
      }));
      cache_.insert(x.shape(), prim);
    }
    return cpu::guard_onednn("ChannelsLastPool", [&] {
      auto& engine = cpu::onednn_engine();
      dnnl::memory src(prim->src, engine, const_cast<void*>(x.raw()));
      dnnl::memory dst(prim->dst, engine, y->raw());
      prim->primitive.execute(cpu::onednn_stream(), {{DNNL_ARG_SRC, src},
                                                     {DNNL_ARG_DST, dst},
                                                     {DNNL_ARG_SCRATCHPAD, cpu::thread_scratchpad(prim->scratchpad)}});
      cpu::onednn_stream().wait();
    });
  }

 private:
  bool max_, global_;
  PoolAttrs attrs_;
  bool count_include_pad_;
  cpu::ShapeCache<PoolPrimitive> cache_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_channels_last_pool(const KernelInit& init) {
  const Node& node = init.node;
  KILN_ASSIGN_OR_RETURN(std::string mode, attr_string(node, "mode", ""));
  if (mode != "max" && mode != "avg") {
    return invalid_model(node.describe() + ": attribute 'mode' is '" + mode + "', expected 'max' or 'avg'");
  }
  KILN_ASSIGN_OR_RETURN(int64_t global, attr_int(node, "global", 0));
  KILN_ASSIGN_OR_RETURN(int64_t include_pad, attr_int(node, "count_include_pad", 0));
  PoolAttrs attrs;
  if (global == 0) {
    KILN_ASSIGN_OR_RETURN(attrs, parse_pool_attrs(node, /*allow_dilations=*/true, /*allow_ceil_mode=*/true));
    if (attrs.spatial_rank() != 2) {
      return invalid_model(node.describe() + ": ChannelsLastPool pools 2-D windows, got kernel_shape of rank " +
                           std::to_string(attrs.spatial_rank()));
    }
    for (int64_t d : attrs.dilations) {
      if (d != 1) return invalid_model(node.describe() + ": ChannelsLastPool has no dilations");
    }
  }
  return std::unique_ptr<OpKernel>(new ChannelsLastPoolOp(mode == "max", global != 0, attrs, include_pad != 0));
}

}  // namespace kiln
