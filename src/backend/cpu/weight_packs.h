// Constant weights in the layouts oneDNN's primitives ask for (format `any`), packed once
// per layout and shared by every primitive of one kernel that asks for it: input shapes
// usually share a layout, so a new batch size creates a primitive but repacks nothing.
//
// The packed copies are what a plan carries (OpKernel::packed_weights). Each is keyed by
// layout_key() of its oneDNN memory descriptor; a kernel seeded with a plan's copies
// uses one only when a primitive it creates asks for a descriptor with exactly that key
// and size. The key is compared as bytes and never handed to oneDNN, so a damaged or
// foreign key cannot reach the library: it only misses, and the weights are packed from
// their plain copy as if the plan had none.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "backend/cpu/onednn.h"
#include "ops/packed_weight.h"

namespace kiln::cpu {

// Packed weights for a layout `desc`, from a kernel's WeightPacks.
using PackWeights = std::function<dnnl::memory(const dnnl::memory::desc& desc)>;

// A fixed encoding of the descriptor fields that say where each element lies (the ones
// oneDNN's descriptor equality compares), so equal descriptors give equal bytes whatever
// the struct's padding or unused slots hold. Empty for descriptors that are not plain,
// blocked or Winograd float layouts (oneDNN's other opaque formats): those are never stored.
std::string layout_key(const dnnl::memory::desc& desc);

// Names the library and key encoding of the layouts: a plan's packed weights are used
// only by a kiln whose format string is the same ("oneDNN 2.6.3 (hash), layout key v1").
std::string packed_weights_format();

// The __builtin_cpu_supports features of the instruction set oneDNN picks its kernels,
// and so its weight layouts, for on this CPU (AVX-512 core: avx512f, avx512bw, avx512vl,
// avx512dq). A plan with packed weights requires them.
std::vector<std::string> packed_weights_cpu_features();

class WeightPacks {
 public:
  // `weights` is the node's input `input` when it is a float32 constant (else undefined:
  // nothing is packed); `from_plan` are the packed copies a plan holds for the node
  // (entries for other inputs are ignored).
  WeightPacks(Tensor weights, size_t input, const std::vector<PackedWeight>& from_plan);
  WeightPacks(const WeightPacks&) = delete;
  WeightPacks& operator=(const WeightPacks&) = delete;

  bool defined() const { return weights_.defined(); }
  // A callback for primitive creation that returns the weights in the layout asked for;
  // `plain` describes the constant as it is stored (row-major, or strided for a
  // transposed operand). Null when the weights are not constant.
  PackWeights packer(const dnnl::memory::desc& plain) const;
  // The packed copies held so far, for a plan: those packed here and those loaded from
  // a plan (used or not), in a fixed order.
  std::vector<PackedWeight> packed() const;

 private:
  dnnl::memory get(const dnnl::memory::desc& layout, const dnnl::memory::desc& plain) const;

  struct InUse {
    dnnl::memory::desc desc;
    dnnl::memory memory;
    PackedWeight weight;  // layout empty when it is the plain one (nothing to store)
  };
  Tensor weights_;
  size_t input_;
  mutable std::mutex mutex_;
  mutable std::vector<InUse> in_use_;
  mutable std::vector<PackedWeight> unused_;  // from the plan, layout not asked for yet
};

}  // namespace kiln::cpu
