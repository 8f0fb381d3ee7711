// kiln::Reorder: a float32 tensor between channels-first (N, C, spatial...) and
// channels-last (N, spatial..., C) storage, at the edges of a channels-last conv chain
// (pass convert_convs_to_channels_last). Attribute `to`: "channels_last" or
// "channels_first". oneDNN's reorder does the transpose (vectorized and threaded).
#include "backend/cpu/conv_primitive.h"
#include "ops/linalg/linalg_ops.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

struct ReorderPrimitive {
  cpu::ConvPrimitive::Reorder reorder;
  dnnl::memory::desc from, to;
};

class LayoutReorderOp final : public OpKernel {
 public:
  explicit LayoutReorderOp(bool to_channels_last) : to_channels_last_(to_channels_last) {}

  Status infer(InferContext& ctx) const override {
    const SymShape* in = ctx.input_shape(0);
    if (ctx.input_dtype(0) != DType::kFloat32 && ctx.input_dtype(0) != DType::kUndefined) {
      return unsupported_dtype("Reorder", "X", ctx.input_dtype(0));
    }
    if (!in) {
      ctx.set_output(0, DType::kFloat32, std::nullopt);
      return Status::ok();
    }
    if (in->size() < 3) {
      return invalid_argument("Reorder input X has shape " + sym_shape_to_string(*in) + ", expected rank 3 or more");
    }
    ctx.set_output(0, DType::kFloat32, permuted(*in));
    return Status::ok();
  }

  const char* implementation() const override { return "onednn"; }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::kFloat32) return unsupported_dtype("Reorder", "X", x.dtype());
    if (x.rank() < 3) return invalid_argument("Reorder input X has shape " + shape_to_string(x.shape()));
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, DType::kFloat32, permuted(x.shape())));
    if (x.numel() == 0) return Status::ok();
    std::shared_ptr<ReorderPrimitive> prim = cache_.find(x.shape());
    if (!prim) {
      prim = std::make_shared<ReorderPrimitive>();
      // oneDNN describes both layouts by channels-first dims.
      const Shape dims = to_channels_last_ ? x.shape() : y->shape();
      KILN_RETURN_IF_ERROR(cpu::guard_onednn("Reorder", [&] {
        const dnnl::memory::desc first = cpu::plain_desc(dims, dnnl::memory::data_type::f32);
        const dnnl::memory::desc last = cpu::channels_last_desc(dims);
        prim->from = to_channels_last_ ? first : last;
        prim->to = to_channels_last_ ? last : first;
        dnnl::reorder::primitive_desc pd(cpu::onednn_engine(), prim->from, cpu::onednn_engine(), prim->to,
                                         cpu::default_attr());
        prim->reorder = {dnnl::reorder(pd), pd.scratchpad_desc()};
      }));
      cache_.insert(x.shape(), prim);
    }
    return cpu::guard_onednn("Reorder", [&] {
      auto& engine = cpu::onednn_engine();
      dnnl::memory from(prim->from, engine, const_cast<void*>(x.raw()));
      dnnl::memory to(prim->to, engine, y->raw());
      prim->reorder.primitive.execute(cpu::onednn_stream(),
                                      {{DNNL_ARG_FROM, from},
                                       {DNNL_ARG_TO, to},
                                       {DNNL_ARG_SCRATCHPAD, cpu::thread_scratchpad(prim->reorder.scratchpad)}});
      cpu::onednn_stream().wait();
    });
  }

 private:
  template <typename S>
  S permuted(const S& s) const {
    S r{s[0]};
    if (to_channels_last_) {
      r.insert(r.end(), s.begin() + 2, s.end());
      r.push_back(s[1]);
    } else {
      r.push_back(s.back());
      r.insert(r.end(), s.begin() + 1, s.end() - 1);
    }
    return r;
  }

  bool to_channels_last_;
  cpu::ShapeCache<ReorderPrimitive> cache_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_layout_reorder(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(std::string to, attr_string(init.node, "to", ""));
  if (to != "channels_last" && to != "channels_first") {
    return invalid_model(init.node.describe() + ": attribute 'to' is '" + to +
                         "', expected 'channels_last' or 'channels_first'");
  }
  return std::unique_ptr<OpKernel>(new LayoutReorderOp(to == "channels_last"));
}

}  // namespace kiln
