#include "backend/cpu/matmul_primitive.h"

namespace kiln::cpu {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

Result<std::shared_ptr<MatmulPrimitive>> MatmulPrimitive::create(const MatmulOperand& a, const MatmulOperand& b,
                                                                 const std::vector<int64_t>& c_dims,
                                                                 const PackWeights& pack_b, float alpha,
                                                                 const std::vector<int64_t>& bias_dims,
                                                                 MatmulActivation activation) {
  auto p = std::make_shared<MatmulPrimitive>();
  Status s = guard_onednn("matmul", [&] {
    auto& engine = onednn_engine();
    p->a_desc_ = strided_desc(a.dims, a.strides, dt::f32);
    p->plain_b_desc_ = strided_desc(b.dims, b.strides, dt::f32);
    p->c_desc_ = plain_desc(c_dims, dt::f32);
    // `any` for B lets oneDNN choose its blocked layout; B is then reordered into it,
    // once per layout for constant weights, per run otherwise.
    dnnl::memory::desc b_any(dnnl::memory::dims(b.dims.begin(), b.dims.end()), dt::f32, tag::any);
    dnnl::primitive_attr attr = default_attr();
    if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
    if (activation != MatmulActivation::kNone) {
      const dnnl::algorithm alg = activation == MatmulActivation::kRelu      ? dnnl::algorithm::eltwise_relu
                                  : activation == MatmulActivation::kGeluErf ? dnnl::algorithm::eltwise_gelu_erf
                                                                             : dnnl::algorithm::eltwise_gelu_tanh;
      dnnl::post_ops post;
      post.append_eltwise(1.0f, alg, 0.0f, 0.0f);
      attr.set_post_ops(post);
    }
    p->has_bias_ = !bias_dims.empty();
    if (p->has_bias_) p->bias_desc_ = plain_desc(bias_dims, dt::f32);
    auto desc = p->has_bias_ ? dnnl::matmul::desc(p->a_desc_, b_any, p->bias_desc_, p->c_desc_)
                             : dnnl::matmul::desc(p->a_desc_, b_any, p->c_desc_);
    dnnl::matmul::primitive_desc pd(desc, attr, engine);
    p->primitive_ = dnnl::matmul(pd);
    p->b_desc_ = pd.weights_desc();
    p->scratchpad_desc_ = pd.scratchpad_desc();
    p->reorder_b_ = p->b_desc_ != p->plain_b_desc_;
    if (pack_b) {
      p->packed_b_ = pack_b(p->b_desc_);
      p->b_packed_ = true;
    }
  });
  if (!s.is_ok()) return s;
  return p;
}

Status MatmulPrimitive::execute(const float* a, const float* b, float* c, const float* bias) const {
  return guard_onednn("matmul", [&] {
    auto& engine = onednn_engine();
    auto& stream = onednn_stream();
    dnnl::memory a_mem(a_desc_, engine, const_cast<float*>(a));
    dnnl::memory c_mem(c_desc_, engine, c);
    dnnl::memory b_mem;
    if (b_packed_) {
      b_mem = packed_b_;
    } else if (reorder_b_) {
      dnnl::memory plain(plain_b_desc_, engine, const_cast<float*>(b));
      b_mem = dnnl::memory(b_desc_, engine);
      dnnl::reorder(plain, b_mem).execute(stream, plain, b_mem);
    } else {
      b_mem = dnnl::memory(b_desc_, engine, const_cast<float*>(b));
    }
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem},
        {DNNL_ARG_SCRATCHPAD, thread_scratchpad(scratchpad_desc_)}};
    if (has_bias_) args[DNNL_ARG_BIAS] = dnnl::memory(bias_desc_, engine, const_cast<float*>(bias));
    primitive_.execute(stream, args);
    stream.wait();
  });
}

}  // namespace kiln::cpu
