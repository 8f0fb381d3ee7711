#include "backend/backend.h"
#include "backend/cpu/conv_primitive.h"
#include "backend/cpu/weight_packs.h"

namespace kiln {
namespace {

class CpuBackend : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  const OpRegistration* find_kernel(const std::string& domain, const std::string& op_type,
                                    int64_t opset) const override {
    return OpRegistry::builtin().find(domain, op_type, opset);
  }
  bool prefers_channels_last_convolutions() const override { return cpu::convolutions_prefer_channels_last(); }
  bool has_winograd_convolutions() const override { return cpu::winograd_convolutions_available(); }
  std::string packed_weights_format() const override { return cpu::packed_weights_format(); }
  std::vector<std::string> packed_weights_cpu_features() const override {
    return cpu::packed_weights_cpu_features();
  }
};

}  // namespace

const Backend& cpu_backend() {
  static const CpuBackend backend;
  return backend;
}

}  // namespace kiln
