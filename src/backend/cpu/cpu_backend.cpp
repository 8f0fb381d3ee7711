#include "backend/backend.h"

namespace kiln {
namespace {

class CpuBackend : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  const OpRegistration* find_kernel(const std::string& domain, const std::string& op_type,
                                    int64_t opset) const override {
    return OpRegistry::builtin().find(domain, op_type, opset);
  }
};

}  // namespace

const Backend& cpu_backend() {
  static const CpuBackend backend;
  return backend;
}

}  // namespace kiln
