// Converts ONNX TensorProto (initializers, Constant values, test data) into Tensors,
// checking declared sizes against the data actually present.
#pragma once

#include <string>

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace onnx {
class TensorProto;
}

namespace kiln {

// `model_dir` is the folder external data paths are relative to; empty forbids external
// data (test inputs, Constant attributes of a model read from bytes).
Result<Tensor> tensor_from_proto(const onnx::TensorProto& proto, const std::string& model_dir);

// Reads a serialized TensorProto file (ONNX test data: input_0.pb).
Result<Tensor> read_tensor_proto_file(const std::string& path);

}  // namespace kiln
