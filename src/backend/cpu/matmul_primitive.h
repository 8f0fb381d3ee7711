// A prepared oneDNN float32 matmul C = alpha * A x B (+ bias) for fixed shapes and strides.
// When B is constant, it is taken packed in the layout oneDNN prefers for this shape
// (format `any`) from the kernel's WeightPacks, which packs each layout once for all the
// kernel's shapes; a fixed plain layout can drop oneDNN to a slow reference kernel.
#pragma once

#include <memory>
#include <vector>

#include "backend/cpu/onednn.h"
#include "backend/cpu/weight_packs.h"

namespace kiln::cpu {

// An elementwise function oneDNN applies to C while the tile is still in registers (a
// post-op), fused from the activation node after a GEMM.
enum class MatmulActivation { kNone, kRelu, kGeluErf, kGeluTanh };

struct MatmulOperand {
  std::vector<int64_t> dims;     // same rank for A, B and C; 1 where broadcast
  std::vector<int64_t> strides;  // empty for row-major contiguous
};

class MatmulPrimitive {
 public:
  // `pack_b` (may be null) gives B packed when B is a model constant: it is asked now.
  // `bias_dims` non-empty adds a bias of that shape (broadcast like C, e.g. 1x..xN).
  // `activation` is applied last: C = act(alpha * A x B + bias).
  static Result<std::shared_ptr<MatmulPrimitive>> create(const MatmulOperand& a, const MatmulOperand& b,
                                                         const std::vector<int64_t>& c_dims,
                                                         const PackWeights& pack_b, float alpha,
                                                         const std::vector<int64_t>& bias_dims = {},
                                                         MatmulActivation activation = MatmulActivation::kNone);
  // `b` is ignored when B was packed at creation.
  Status execute(const float* a, const float* b, float* c, const float* bias = nullptr) const;

 private:
  dnnl::matmul primitive_;
  dnnl::memory::desc a_desc_, b_desc_, c_desc_, bias_desc_, plain_b_desc_, scratchpad_desc_;
  dnnl::memory packed_b_;  // valid when B is constant
  bool b_packed_ = false;
  bool has_bias_ = false;
  bool reorder_b_ = false;  // B comes in plain at run time but the primitive wants another layout
};

}  // namespace kiln::cpu
