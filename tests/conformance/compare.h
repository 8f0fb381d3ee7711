// Output comparison with ONNX's backend-test rule: |actual - expected| <= atol + rtol *
// |expected| for floats (NaN equals NaN, infinities must match), exact otherwise.
#pragma once

#include <string>

#include "kiln/tensor.h"

namespace kiln {

// Empty when equal; otherwise the first mismatch (index, values) or the shape/dtype gap.
std::string compare_tensors(const Tensor& expected, const Tensor& actual, double rtol, double atol);

// The op types in a model file, for grouping test results ("Conv", "LayerNormalization+...").
std::string op_label_of_model(const std::string& model_path);

}  // namespace kiln
