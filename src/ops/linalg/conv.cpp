// Conv (1-D to 3-D, grouped, dilated, padded) on oneDNN in float32. Activations stay in
// plain NC[D]HW; weights use the layout oneDNN prefers (format `any`), packed once per
// input shape when they are model constants.
#include "backend/cpu/onednn.h"
#include "ops/linalg/conv_geometry.h"
#include "ops/linalg/linalg_ops.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

using dt = dnnl::memory::data_type;

struct ConvPrimitive {
  dnnl::convolution_forward primitive;
  dnnl::memory::desc src_desc, weights_desc, plain_weights_desc, bias_desc, dst_desc, scratchpad_desc;
  dnnl::memory packed_weights;  // set when the weights are constant
};

class ConvOp : public OpKernel {
 public:
  ConvOp(ConvAttributes attrs, const Tensor* weights) : attrs_(std::move(attrs)), weights_(weights ? *weights : Tensor()) {}

  Status infer(InferContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1)) return invalid_model("Conv needs inputs X and W");
    const DType t = ctx.input_dtype(0);
    const SymShape* x = ctx.input_shape(0);
    const SymShape* w = ctx.input_shape(1);
    if (!x || !w) {
      ctx.set_output(0, t, std::nullopt);
      return Status::ok();
    }
    if (x->size() < 3 || x->size() > 5 || w->size() != x->size()) {
      return invalid_argument("Conv expects X of rank 3-5 and W of the same rank, got X " + sym_shape_to_string(*x) +
                              " and W " + sym_shape_to_string(*w));
    }
    const Dim& channels = (*x)[1];
    const Dim& w_channels = (*w)[1];
    if (channels.known() && w_channels.known() && channels.value != w_channels.value * attrs_.group) {
      return invalid_argument("Conv input X has " + std::to_string(channels.value) + " channels but W " +
                              sym_shape_to_string(*w) + " with group " + std::to_string(attrs_.group) + " expects " +
                              std::to_string(w_channels.value * attrs_.group));
    }
    if ((*w)[0].known() && (*w)[0].value % attrs_.group != 0) {
      return invalid_argument("Conv output channels " + std::to_string((*w)[0].value) +
                              " are not divisible by group " + std::to_string(attrs_.group));
    }
    SymShape out{(*x)[0], (*w)[0]};
    std::vector<int64_t> in_spatial, kernel;
    bool known = true;
    for (size_t i = 2; i < x->size(); ++i) {
      known &= (*x)[i].known() && (attrs_.kernel_shape.size() == x->size() - 2 || (*w)[i].known());
      in_spatial.push_back((*x)[i].value);
      kernel.push_back((*w)[i].value);
    }
    if (known) {
      KILN_ASSIGN_OR_RETURN(ConvGeometry g, resolve_conv_geometry(attrs_, in_spatial, kernel));
      for (int64_t o : g.out) out.push_back(o);
    } else {
      for (size_t i = 2; i < x->size(); ++i) out.push_back(Dim::unknown());
    }
    if (ctx.has_input(2) && ctx.input_shape(2) && (*w)[0].known()) {
      const SymShape& b = *ctx.input_shape(2);
      if (b.size() != 1 || (b[0].known() && b[0].value != (*w)[0].value)) {
        return invalid_argument("Conv bias B must have shape [" + std::to_string((*w)[0].value) + "], got " +
                                sym_shape_to_string(b));
      }
    }
    ctx.set_output(0, t, out);
    return Status::ok();
  }

  const char* implementation() const override { return "onednn"; }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    Tensor& y = ctx.output(0);
    if (x.dtype() != DType::kFloat32) return unsupported("Conv supports float32 only, got " + dtype_name(x.dtype()));
    if (y.numel() == 0) return Status::ok();
    std::vector<int64_t> key = x.shape();
    key.insert(key.end(), w.shape().begin(), w.shape().end());
    key.push_back(b ? 1 : 0);
    std::shared_ptr<ConvPrimitive> prim = cache_.find(key);
    if (!prim) {
      KILN_ASSIGN_OR_RETURN(prim, create(x.shape(), w, b != nullptr, y.shape()));
      cache_.insert(key, prim);
    }
    return cpu::guard_onednn("Conv", [&] {
      auto& engine = cpu::onednn_engine();
      auto& stream = cpu::onednn_stream();
      dnnl::memory src(prim->src_desc, engine, const_cast<void*>(x.raw()));
      dnnl::memory dst(prim->dst_desc, engine, y.raw());
      dnnl::memory weights = prim->packed_weights;
      if (!weights) {
        dnnl::memory plain(prim->plain_weights_desc, engine, const_cast<void*>(w.raw()));
        weights = dnnl::memory(prim->weights_desc, engine);
        dnnl::reorder(plain, weights).execute(stream, plain, weights);
      }
      std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src},
                                                 {DNNL_ARG_WEIGHTS, weights},
                                                 {DNNL_ARG_DST, dst},
                                                 {DNNL_ARG_SCRATCHPAD, cpu::thread_scratchpad(prim->scratchpad_desc)}};
      if (b) args[DNNL_ARG_BIAS] = dnnl::memory(prim->bias_desc, engine, const_cast<void*>(b->raw()));
      prim->primitive.execute(stream, args);
      stream.wait();
    });
  }

 private:
  Result<std::shared_ptr<ConvPrimitive>> create(const Shape& x, const Tensor& w, bool has_bias, const Shape& y) const {
    const size_t r = x.size() - 2;
    std::vector<int64_t> in_spatial(x.begin() + 2, x.end()), kernel(w.shape().begin() + 2, w.shape().end());
    KILN_ASSIGN_OR_RETURN(ConvGeometry g, resolve_conv_geometry(attrs_, in_spatial, kernel));
    if (g.kernel != kernel) {
      return invalid_argument("Conv kernel_shape does not match the weights " + shape_to_string(w.shape()));
    }
    auto prim = std::make_shared<ConvPrimitive>();
    Status s = cpu::guard_onednn("Conv", [&] {
      auto& engine = cpu::onednn_engine();
      prim->src_desc = cpu::plain_desc(x, dt::f32);
      prim->dst_desc = cpu::plain_desc(y, dt::f32);
      std::vector<int64_t> wdims = w.shape();
      if (attrs_.group > 1) {  // oneDNN's grouped layout: [G, O/G, I/G, k...]
        wdims[0] /= attrs_.group;
        wdims.insert(wdims.begin(), attrs_.group);
      }
      prim->plain_weights_desc = cpu::plain_desc(wdims, dt::f32);
      dnnl::memory::desc weights_any(dnnl::memory::dims(wdims.begin(), wdims.end()), dt::f32,
                                     dnnl::memory::format_tag::any);
      if (has_bias) prim->bias_desc = cpu::plain_desc({w.dim(0)}, dt::f32);
      dnnl::memory::dims strides(g.strides.begin(), g.strides.end());
      dnnl::memory::dims dilates(r), pad_l(g.pad_begin.begin(), g.pad_begin.end()),
          pad_r(g.pad_end.begin(), g.pad_end.end());
      for (size_t i = 0; i < r; ++i) dilates[i] = g.dilations[i] - 1;  // oneDNN counts the gaps
      auto desc = has_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                             dnnl::algorithm::convolution_direct, prim->src_desc,
                                                             weights_any, prim->bias_desc, prim->dst_desc, strides,
                                                             dilates, pad_l, pad_r)
                           : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                             dnnl::algorithm::convolution_direct, prim->src_desc,
                                                             weights_any, prim->dst_desc, strides, dilates, pad_l,
                                                             pad_r);
      dnnl::primitive_attr attr = cpu::default_attr();
      if (!attrs_.activation.empty()) {
        dnnl::post_ops post;
        if (attrs_.activation == "Relu") post.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
        else post.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, attrs_.clip_min, attrs_.clip_max);
        attr.set_post_ops(post);
      }
      dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);
      prim->primitive = dnnl::convolution_forward(pd);
      prim->weights_desc = pd.weights_desc();
      prim->scratchpad_desc = pd.scratchpad_desc();
      if (weights_.defined()) {
        dnnl::memory plain(prim->plain_weights_desc, engine, const_cast<void*>(weights_.raw()));
        prim->packed_weights = dnnl::memory(prim->weights_desc, engine);
        dnnl::reorder(plain, prim->packed_weights).execute(cpu::onednn_stream(), plain, prim->packed_weights);
        cpu::onednn_stream().wait();
      }
    });
    if (!s.is_ok()) return s;
    return prim;
  }

  ConvAttributes attrs_;
  Tensor weights_;
  cpu::ShapeCache<ConvPrimitive> cache_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_conv(const KernelInit& init) {
  Result<ConvAttributes> attrs = ConvAttributes::parse(init.node);
  if (!attrs.is_ok()) return attrs.status();
  const Tensor* w = init.constant_input(1);
  if (w && w->dtype() != DType::kFloat32) w = nullptr;
  return std::unique_ptr<OpKernel>(new ConvOp(std::move(attrs).value(), w));
}

}  // namespace kiln
