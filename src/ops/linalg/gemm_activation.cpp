#include "ops/linalg/gemm_activation.h"

#include "math/vector_math.h"
#include "ops/op_util.h"

namespace kiln {

Result<cpu::MatmulActivation> parse_gemm_activation(const Node& node) {
  KILN_ASSIGN_OR_RETURN(std::string name, attr_string(node, "activation", ""));
  if (name.empty()) return cpu::MatmulActivation::kNone;
  if (name == "Relu") return cpu::MatmulActivation::kRelu;
  if (name == "Gelu") return cpu::MatmulActivation::kGeluErf;
  if (name == "GeluTanh") return cpu::MatmulActivation::kGeluTanh;
  return invalid_model(node.describe() + ": attribute 'activation' is \"" + name +
                       "\" (expected \"Relu\", \"Gelu\" or \"GeluTanh\")");
}

void apply_gemm_activation(cpu::MatmulActivation activation, float* y, int64_t n) {
  switch (activation) {
    case cpu::MatmulActivation::kNone:
      return;
    case cpu::MatmulActivation::kRelu:
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] < 0.0f ? 0.0f : y[i];
      return;
    case cpu::MatmulActivation::kGeluErf:
      math::gelu_erf(y, y, n);
      return;
    case cpu::MatmulActivation::kGeluTanh:
      math::gelu_tanh(y, y, n);
      return;
  }
}

}  // namespace kiln
