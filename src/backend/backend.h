// A backend supplies kernels and memory for one kind of device. The IR, the importer and
// the (future) graph passes know nothing of devices; the engine builder asks its backend
// for a kernel per node. kiln ships the CPU backend; a CUDA backend would implement this
// interface with device kernels and device memory, leaving the rest untouched.
#pragma once

#include <string>

#include "ops/registry.h"

namespace kiln {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // The kernel registration for a node, or null when this backend cannot run it.
  virtual const OpRegistration* find_kernel(const std::string& domain, const std::string& op_type,
                                            int64_t opset) const = 0;
};

// The CPU backend: kernels from OpRegistry::builtin(), oneDNN for matmul and convolution.
const Backend& cpu_backend();

}  // namespace kiln
