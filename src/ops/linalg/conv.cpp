// Conv (1-D to 3-D, grouped, dilated, padded) on oneDNN in float32, and kiln::FusedConv:
// the same with a residual input (X, W, B, R; B may be omitted) added to the output and an
// activation applied after it. Tensors are plain NC[D]HW at the boundary; the primitive
// (backend/cpu/conv_primitive.h) picks blocked layouts inside. Constant weights are packed
// once per layout oneDNN chooses, shared by every input shape that chooses it.
#include "backend/cpu/conv_primitive.h"
#include "ops/linalg/conv_geometry.h"
#include "ops/linalg/linalg_ops.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

using dt = dnnl::memory::data_type;
constexpr size_t kWeightsInput = 1;
constexpr size_t kResidualInput = 3;

// [N, spatial..., C] -> [N, C, spatial...] and back, for channels-last FusedConv.
template <typename S>
S to_channels_first(const S& s) {
  S r{s[0], s.back()};
  r.insert(r.end(), s.begin() + 1, s.end() - 1);
  return r;
}
template <typename S>
S to_channels_last(const S& s) {
  S r{s[0]};
  r.insert(r.end(), s.begin() + 2, s.end());
  r.push_back(s[1]);
  return r;
}

class ConvOp : public OpKernel {
 public:
  // `packed`: copies of W a plan holds already packed (KernelInit::packed_weights).
  ConvOp(ConvAttributes attrs, const Tensor* weights, bool residual, const std::vector<PackedWeight>& packed)
      : attrs_(std::move(attrs)), weights_(weights ? *weights : Tensor(), kWeightsInput, packed),
        residual_(residual) {}

  Status infer(InferContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1)) return invalid_model("Conv needs inputs X and W");
    const DType t = ctx.input_dtype(0);
    const SymShape* stored_x = ctx.input_shape(0);
    const SymShape* w = ctx.input_shape(1);
    if (!stored_x || !w) {
      ctx.set_output(0, t, std::nullopt);
      return Status::ok();
    }
    if (stored_x->size() < 3 || stored_x->size() > 5 || w->size() != stored_x->size()) {
      return invalid_argument("Conv expects X of rank 3-5 and W of the same rank, got X " +
                              sym_shape_to_string(*stored_x) + " and W " + sym_shape_to_string(*w));
    }
    const SymShape x_channels_first = attrs_.channels_last ? to_channels_first(*stored_x) : *stored_x;
    const SymShape* x = &x_channels_first;
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
    if (attrs_.channels_last) out = to_channels_last(out);
    if (residual_) KILN_RETURN_IF_ERROR(check_residual(ctx, out));
    ctx.set_output(0, t, out);
    return Status::ok();
  }

  const char* implementation() const override { return "onednn"; }
  std::vector<PackedWeight> packed_weights() const override { return weights_.packed(); }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    const Tensor* r = residual_ ? &ctx.input(kResidualInput) : nullptr;
    if (x.dtype() != DType::kFloat32) return unsupported("Conv supports float32 only, got " + dtype_name(x.dtype()));
    if (r && r->dtype() != DType::kFloat32) return unsupported("FusedConv residual R must be float32");
    // Nothing reads R after this node (the pass checked): the sum post-op finds it in place.
    // A wrong R shape then fails as a dst that does not fit the convolution.
    if (r && attrs_.residual_in_place) ctx.set_output(0, *r);
    Tensor& y = ctx.output(0);
    if (r && r->shape() != y.shape()) {
      return invalid_argument("FusedConv residual R has shape " + shape_to_string(r->shape()) + ", expected " +
                              shape_to_string(y.shape()));
    }
    if (y.numel() == 0) return Status::ok();
    std::vector<int64_t> key = x.shape();
    key.insert(key.end(), w.shape().begin(), w.shape().end());
    key.push_back(b ? 1 : 0);
    std::shared_ptr<cpu::ConvPrimitive> prim = cache_.find(key);
    if (!prim) {
      const Shape xs = attrs_.channels_last ? to_channels_first(x.shape()) : x.shape();
      const Shape ys = attrs_.channels_last ? to_channels_first(y.shape()) : y.shape();
      KILN_ASSIGN_OR_RETURN(prim, create(xs, w.shape(), b != nullptr, ys));
      cache_.insert(key, prim);
    }
    return prim->execute(x.data<float>(), w.data<float>(), b ? b->data<float>() : nullptr,
                         r ? r->data<float>() : nullptr, y.data<float>());
  }

 private:
  // The residual is added elementwise to the output: it must have the output's shape.
  Status check_residual(InferContext& ctx, const SymShape& out) const {
    if (!ctx.has_input(kResidualInput)) return invalid_model("FusedConv with a residual needs input R");
    if (ctx.input_dtype(kResidualInput) != DType::kFloat32 && ctx.input_dtype(kResidualInput) != DType::kUndefined) {
      return invalid_argument("FusedConv residual R must be float32, got " +
                              dtype_name(ctx.input_dtype(kResidualInput)));
    }
    const SymShape* r = ctx.input_shape(kResidualInput);
    if (!r) return Status::ok();
    bool same = r->size() == out.size();
    for (size_t i = 0; same && i < out.size(); ++i) {
      same = !(*r)[i].known() || !out[i].known() || (*r)[i].value == out[i].value;
    }
    if (!same) {
      return invalid_argument("FusedConv residual R has shape " + sym_shape_to_string(*r) +
                              ", expected the output's shape " + sym_shape_to_string(out));
    }
    return Status::ok();
  }

  Result<std::shared_ptr<cpu::ConvPrimitive>> create(const Shape& x, const Shape& w, bool has_bias,
                                                     const Shape& y) const {
    const size_t r = x.size() - 2;
    std::vector<int64_t> in_spatial(x.begin() + 2, x.end()), kernel(w.begin() + 2, w.end());
    KILN_ASSIGN_OR_RETURN(ConvGeometry g, resolve_conv_geometry(attrs_, in_spatial, kernel));
    if (g.kernel != kernel) return invalid_argument("Conv kernel_shape does not match the weights " + shape_to_string(w));
    cpu::ConvSpec spec;
    spec.src = x;
    spec.dst = y;
    spec.weights = w;
    if (attrs_.group > 1) {  // oneDNN's grouped layout: [G, O/G, I/G, k...]
      spec.weights[0] /= attrs_.group;
      spec.weights.insert(spec.weights.begin(), attrs_.group);
    }
    spec.strides = g.strides;
    spec.pad_begin = g.pad_begin;
    spec.pad_end = g.pad_end;
    for (size_t i = 0; i < r; ++i) spec.gaps.push_back(g.dilations[i] - 1);
    spec.bias = has_bias;
    spec.residual = residual_;
    if (attrs_.activation == "Relu") spec.activation = cpu::ConvActivation::kRelu;
    if (attrs_.activation == "Clip") spec.activation = cpu::ConvActivation::kClip;
    spec.clip_min = attrs_.clip_min;
    spec.clip_max = attrs_.clip_max;
    spec.channels_last = attrs_.channels_last;
    spec.winograd = attrs_.winograd;
    return cpu::ConvPrimitive::create(spec, weights_.packer(cpu::plain_desc(spec.weights, dt::f32)));
  }

  ConvAttributes attrs_;
  cpu::WeightPacks weights_;
  bool residual_;
  cpu::ShapeCache<cpu::ConvPrimitive> cache_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_conv(const KernelInit& init) {
  Result<ConvAttributes> attrs = ConvAttributes::parse(init.node);
  if (!attrs.is_ok()) return attrs.status();
  const Node& node = init.node;
  // ONNX Conv has X, W, B; kiln's FusedConv may add the residual R.
  const size_t max_inputs = node.domain == "kiln" ? kResidualInput + 1 : kResidualInput;
  if (node.inputs.size() > max_inputs) {
    return invalid_model(node.describe() + ": expected at most " + std::to_string(max_inputs) + " inputs, got " +
                         std::to_string(node.inputs.size()));
  }
  const bool residual = node.inputs.size() > kResidualInput && node.inputs[kResidualInput] != kNoValue;
  const Tensor* w = init.constant_input(1);
  if (w && w->dtype() != DType::kFloat32) w = nullptr;
  // ONNX's Conv is channels-first and never overwrites an input, whatever it says.
  attrs->channels_last &= node.domain == "kiln";
  attrs->winograd &= node.domain == "kiln";
  attrs->residual_in_place &= residual;
  return std::unique_ptr<OpKernel>(new ConvOp(std::move(attrs).value(), w, residual, init.packed_weights));
}

}  // namespace kiln
