// Reading and writing NumPy .npy files (format versions 1-3, little-endian, C order), the
// exchange format for inputs and outputs between kiln, numpy, PyTorch and ONNX Runtime.
#pragma once

#include <string>

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln {

Result<Tensor> read_npy(const std::string& path);
Result<Tensor> parse_npy(const std::string& bytes, const std::string& name_for_errors);
// Writes atomically: a temporary file beside `path`, then rename.
Status write_npy(const std::string& path, const Tensor& tensor);

}  // namespace kiln
