// A backend supplies kernels and memory for one kind of device. The IR, the importer and
// the (future) graph passes know nothing of devices; the engine builder asks its backend
// for a kernel per node. kiln ships the CPU backend; a CUDA backend would implement this
// interface with device kernels and device memory, leaving the rest untouched.
#pragma once

#include <string>
#include <vector>

#include "ops/registry.h"

namespace kiln {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // The kernel registration for a node, or null when this backend cannot run it.
  virtual const OpRegistration* find_kernel(const std::string& domain, const std::string& op_type,
                                            int64_t opset) const = 0;
  // Whether 2-D convolutions run fastest on channels-last (NHWC) activations, so a pass
  // should keep whole conv chains in that layout (convert_convs_to_channels_last).
  virtual bool prefers_channels_last_convolutions() const { return false; }
  // Whether the backend computes 3x3 convolutions with Winograd's algorithm when asked.
  virtual bool has_winograd_convolutions() const { return false; }
  // Names the library and encoding of the layout keys in kernels' packed weights
  // (OpKernel::packed_weights); a plan's packed weights are used only under the same
  // name. Empty when the backend packs nothing.
  virtual std::string packed_weights_format() const { return ""; }
  // CPU features a plan with this backend's packed weights needs: the instruction set
  // the layouts were chosen for.
  virtual std::vector<std::string> packed_weights_cpu_features() const { return {}; }
};

// The CPU backend: kernels from OpRegistry::builtin(), oneDNN for matmul and convolution.
const Backend& cpu_backend();

}  // namespace kiln
