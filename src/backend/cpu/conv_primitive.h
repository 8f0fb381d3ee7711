// A prepared oneDNN float32 convolution for one set of shapes, with kiln's fused
// epilogue: bias, a residual added to the output, then an activation, all applied while
// the output tile is still in registers (oneDNN post-ops).
//
// Tensors come and go as kiln stores them: NC[D]HW, or N[D]HWC in channels-last chains.
// Weights are packed once into the layout oneDNN prefers (format `any`). Activations use
// the layout oneDNN prefers too (NHWC for its AVX-512 brgemm kernels, nChw8c on AVX2):
// when kiln's differs, they are reordered into per-thread buffers around the primitive,
// so a run allocates nothing.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/cpu/onednn.h"
#include "backend/cpu/weight_packs.h"  // PackWeights: shared by every primitive of a kernel

namespace kiln::cpu {

enum class ConvActivation { kNone, kRelu, kClip };

struct ConvSpec {
  std::vector<int64_t> src, weights, dst;  // weights as [G, O/G, I/G, k...] when groups > 1
  std::vector<int64_t> strides, gaps, pad_begin, pad_end;  // gaps: dilation - 1, as oneDNN counts
  bool bias = false;
  // dst = activation(conv + bias + residual); the residual has dst's shape.
  bool residual = false;
  ConvActivation activation = ConvActivation::kNone;
  float clip_min = 0, clip_max = 0;
  // src, residual and dst are stored channels-last (NHWC); dims above stay N, C, spatial.
  bool channels_last = false;
  // Winograd's algorithm when oneDNN has it for this shape, else the direct one. Its
  // kernels read and write blocked nChw16c, so NHWC activations are reordered around it.
  bool winograd = false;
};

// Descriptor of a contiguous channels-last tensor (N, spatial..., C in memory) whose
// logical dims are given channels-first (N, C, spatial...), as oneDNN describes NHWC.
dnnl::memory::desc channels_last_desc(const std::vector<int64_t>& dims);

// Whether oneDNN's fastest float32 convolutions on this CPU read and write channels-last
// (NHWC) activations, as its AVX-512 brgemm kernels do; elsewhere (AVX2) it prefers
// blocked nChw8c, and a channels-last graph would only add reorders. Probed once.
bool convolutions_prefer_channels_last();

// Whether oneDNN has a float32 Winograd convolution on this CPU (AVX-512 only in 2.6).
// Probed once, on a ResNet-50 3x3 shape.
bool winograd_convolutions_available();

class ConvPrimitive {
 public:
  struct Reorder {
    dnnl::reorder primitive;
    dnnl::memory::desc scratchpad;
  };

  // `pack` is null when the weights are not constant (they are then reordered per run).
  static Result<std::shared_ptr<ConvPrimitive>> create(const ConvSpec& spec, const PackWeights& pack);

  // `weights` is read only when they were not packed; `bias`/`residual` when the spec has them.
  Status execute(const float* src, const float* weights, const float* bias, const float* residual,
                 float* dst) const;

  // oneDNN's implementation name, e.g. "jit:avx512_core" or "gemm:jit".
  const std::string& implementation() const { return implementation_; }

 private:
  dnnl::convolution_forward primitive_;
  dnnl::memory::desc user_src_, user_dst_, plain_weights_, bias_desc_;  // user_*: as kiln stores them
  dnnl::memory::desc src_desc_, dst_desc_, weights_desc_, scratchpad_desc_;
  Reorder src_in_, dst_out_, residual_in_;
  dnnl::memory packed_weights_;
  bool reorder_src_ = false, reorder_dst_ = false, has_bias_ = false, has_residual_ = false;
  std::string implementation_;
};

}  // namespace kiln::cpu
