#include "backend/cpu/conv_primitive.h"

#include <cstdlib>
#include <string>

namespace kiln::cpu {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// Per-thread memory for the blocked copies of a convolution's source and destination:
// grown when a larger convolution comes, never shrunk, never freed during a run.
enum BufferSlot { kSrcBuffer = 0, kDstBuffer = 1 };

void* thread_buffer(BufferSlot slot, size_t bytes) {
  struct Buffer {
    std::unique_ptr<void, decltype(&std::free)> memory{nullptr, &std::free};
    size_t size = 0;
  };
  thread_local Buffer buffers[2];
  Buffer& b = buffers[slot];
  if (b.size < bytes) {
    const size_t rounded = (bytes + 63) / 64 * 64;
    b.memory.reset(std::aligned_alloc(64, rounded));
    b.size = b.memory ? rounded : 0;
  }
  return b.memory.get();
}

dnnl::memory::desc any_desc(const std::vector<int64_t>& dims) {
  return dnnl::memory::desc(dnnl::memory::dims(dims.begin(), dims.end()), dt::f32, tag::any);
}

dnnl::primitive_attr conv_attr(const ConvSpec& spec) {
  dnnl::primitive_attr attr = default_attr();
  dnnl::post_ops post;
  // The sum reads dst as it is before the convolution writes it: the residual is placed there.
  if (spec.residual) post.append_sum(1.0f);
  if (spec.activation == ConvActivation::kRelu) post.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  if (spec.activation == ConvActivation::kClip) {
    post.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, spec.clip_min, spec.clip_max);
  }
  attr.set_post_ops(post);
  return attr;
}

dnnl::convolution_forward::primitive_desc conv_pd(const ConvSpec& spec, const dnnl::memory::desc& src,
                                                  const dnnl::memory::desc& bias, const dnnl::memory::desc& dst) {
  const dnnl::memory::dims strides(spec.strides.begin(), spec.strides.end());
  const dnnl::memory::dims gaps(spec.gaps.begin(), spec.gaps.end());
  const dnnl::memory::dims pad_l(spec.pad_begin.begin(), spec.pad_begin.end());
  const dnnl::memory::dims pad_r(spec.pad_end.begin(), spec.pad_end.end());
  const auto prop = dnnl::prop_kind::forward_inference;
  const dnnl::memory::desc weights = any_desc(spec.weights);
  auto make = [&](dnnl::algorithm algo) {
    auto desc = spec.bias
                    ? dnnl::convolution_forward::desc(prop, algo, src, weights, bias, dst, strides, gaps, pad_l, pad_r)
                    : dnnl::convolution_forward::desc(prop, algo, src, weights, dst, strides, gaps, pad_l, pad_r);
    return dnnl::convolution_forward::primitive_desc(desc, conv_attr(spec), onednn_engine());
  };
  if (spec.winograd) {
    // oneDNN refuses shapes, post-ops or CPUs its Winograd kernels do not cover: those
    // run the direct algorithm, which computes the same convolution.
    try {
      return make(dnnl::algorithm::convolution_winograd);
    } catch (const dnnl::error&) {
    }
  }
  return make(dnnl::algorithm::convolution_direct);
}

ConvPrimitive::Reorder make_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
  dnnl::reorder::primitive_desc pd(onednn_engine(), from, onednn_engine(), to, default_attr());
  return {dnnl::reorder(pd), pd.scratchpad_desc()};
}

void run_reorder(const ConvPrimitive::Reorder& r, const dnnl::memory& from, const dnnl::memory& to) {
  r.primitive.execute(onednn_stream(), {{DNNL_ARG_FROM, from},
                                        {DNNL_ARG_TO, to},
                                        {DNNL_ARG_SCRATCHPAD, thread_scratchpad(r.scratchpad)}});
}

}  // namespace

dnnl::memory::desc channels_last_desc(const std::vector<int64_t>& dims) {
  std::vector<int64_t> strides(dims.size());
  const int64_t channels = std::max<int64_t>(dims[1], 1);
  int64_t stride = channels;
  for (size_t i = dims.size(); i-- > 2;) {
    strides[i] = stride;
    stride *= std::max<int64_t>(dims[i], 1);
  }
  strides[1] = 1;
  strides[0] = stride;
  return strided_desc(dims, strides, dt::f32);
}

// A mid-network ResNet shape for the probes below: 64 -> 64 channels, 3x3, 56x56.
ConvSpec probe_spec() {
  ConvSpec spec;
  spec.src = spec.dst = {1, 64, 56, 56};
  spec.weights = {64, 64, 3, 3};
  spec.strides = {1, 1};
  spec.gaps = {0, 0};
  spec.pad_begin = spec.pad_end = {1, 1};
  return spec;
}

bool convolutions_prefer_channels_last() {
  static const bool prefers = [] {
    const ConvSpec spec = probe_spec();
    bool channels_last = false;
    Status s = guard_onednn("Conv", [&] {
      auto pd = conv_pd(spec, any_desc(spec.src), dnnl::memory::desc(), any_desc(spec.dst));
      channels_last = pd.src_desc() == channels_last_desc(spec.src) && pd.dst_desc() == channels_last_desc(spec.dst);
    });
    return s.is_ok() && channels_last;
  }();
  return prefers;
}

bool winograd_convolutions_available() {
  static const bool available = [] {
    ConvSpec spec = probe_spec();
    spec.winograd = true;
    bool winograd = false;
    Status s = guard_onednn("Conv", [&] {
      auto pd = conv_pd(spec, any_desc(spec.src), dnnl::memory::desc(), any_desc(spec.dst));
      winograd = std::string(pd.impl_info_str()).find("wino") != std::string::npos;
    });
    return s.is_ok() && winograd;
  }();
  return available;
}

Result<std::shared_ptr<ConvPrimitive>> ConvPrimitive::create(const ConvSpec& spec, const PackWeights& pack) {
  auto p = std::make_shared<ConvPrimitive>();
  Status s = guard_onednn("Conv", [&] {
    p->user_src_ = spec.channels_last ? channels_last_desc(spec.src) : plain_desc(spec.src, dt::f32);
    p->user_dst_ = spec.channels_last ? channels_last_desc(spec.dst) : plain_desc(spec.dst, dt::f32);
    p->plain_weights_ = plain_desc(spec.weights, dt::f32);
    p->has_bias_ = spec.bias;
    p->has_residual_ = spec.residual;
    if (spec.bias) p->bias_desc_ = plain_desc({spec.dst[1]}, dt::f32);
    // `any` everywhere: on the plain NCHW layout oneDNN has only im2col + GEMM (gemm:jit),
    // 1.2-15x slower than its direct kernels on ResNet-50/MobileNetV2 shapes, and slower
    // still with the residual's sum post-op; the reorders around it cost less (measured,
    // single thread: ResNet-50 120 -> 101 ms, MobileNetV2 64 -> 17 ms). Channels-last
    // chains (convert_convs_to_channels_last) avoid even those reorders.
    auto pd = conv_pd(spec, any_desc(spec.src), p->bias_desc_, any_desc(spec.dst));
    p->primitive_ = dnnl::convolution_forward(pd);
    p->implementation_ = pd.impl_info_str();
    p->src_desc_ = pd.src_desc();
    p->dst_desc_ = pd.dst_desc();
    p->weights_desc_ = pd.weights_desc();
    p->scratchpad_desc_ = pd.scratchpad_desc();
    p->reorder_src_ = p->src_desc_ != p->user_src_;
    p->reorder_dst_ = p->dst_desc_ != p->user_dst_;
    if (p->reorder_src_) p->src_in_ = make_reorder(p->user_src_, p->src_desc_);
    if (p->reorder_dst_) p->dst_out_ = make_reorder(p->dst_desc_, p->user_dst_);
    if (spec.residual) p->residual_in_ = make_reorder(p->user_dst_, p->dst_desc_);
    if (pack) p->packed_weights_ = pack(p->weights_desc_);
  });
  if (!s.is_ok()) return s;
  return p;
}

Status ConvPrimitive::execute(const float* src, const float* weights, const float* bias, const float* residual,
                              float* dst) const {
  void* src_buffer = reorder_src_ ? thread_buffer(kSrcBuffer, src_desc_.get_size()) : nullptr;
  void* dst_buffer = reorder_dst_ ? thread_buffer(kDstBuffer, dst_desc_.get_size()) : nullptr;
  if ((reorder_src_ && !src_buffer) || (reorder_dst_ && !dst_buffer)) {
    return resource_exhausted("Conv: cannot allocate " + std::to_string(src_desc_.get_size() + dst_desc_.get_size()) +
                              " bytes for the blocked copies of its activations");
  }
  return guard_onednn("Conv", [&] {
    auto& engine = onednn_engine();
    auto& stream = onednn_stream();
    dnnl::memory user_src(user_src_, engine, const_cast<float*>(src));
    dnnl::memory user_dst(user_dst_, engine, dst);
    dnnl::memory src_mem = reorder_src_ ? dnnl::memory(src_desc_, engine, src_buffer) : user_src;
    dnnl::memory dst_mem = reorder_dst_ ? dnnl::memory(dst_desc_, engine, dst_buffer) : user_dst;
    if (reorder_src_) run_reorder(src_in_, user_src, src_mem);
    // The executor gives every output its own buffer, so the sum post-op's operand is
    // copied into dst first (a reorder: into the blocked layout, or a parallel copy).
    if (has_residual_ && (reorder_dst_ || residual != dst)) {
      run_reorder(residual_in_, dnnl::memory(user_dst_, engine, const_cast<float*>(residual)), dst_mem);
    }
    dnnl::memory weights_mem = packed_weights_;
    if (!weights_mem) {
      dnnl::memory plain(plain_weights_, engine, const_cast<float*>(weights));
      weights_mem = dnnl::memory(weights_desc_, engine);
      dnnl::reorder(plain, weights_mem).execute(stream, plain, weights_mem);
    }
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src_mem},
                                               {DNNL_ARG_WEIGHTS, weights_mem},
                                               {DNNL_ARG_DST, dst_mem},
                                               {DNNL_ARG_SCRATCHPAD, thread_scratchpad(scratchpad_desc_)}};
    if (has_bias_) args[DNNL_ARG_BIAS] = dnnl::memory(bias_desc_, engine, const_cast<float*>(bias));
    primitive_.execute(stream, args);
    if (reorder_dst_) run_reorder(dst_out_, dst_mem, user_dst);
    stream.wait();
  });
}

}  // namespace kiln::cpu
