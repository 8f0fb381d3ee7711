// ONNX ModelProto -> IR Graph. Checks everything a file can get wrong that the IR cannot
// express (IR version, opsets, data types, tensor sizes, external data); graph structure
// is checked afterwards by the verifier.
#pragma once

#include <string>

#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln {

// The newest ONNX IR version and default-domain opset this build understands.
int64_t max_supported_ir_version();
constexpr int64_t kMaxSupportedOpset = 28;

Result<Graph> import_onnx_file(const std::string& path);
// `model_dir` resolves external data; `source_name` names the model in messages.
Result<Graph> import_onnx_bytes(const std::string& bytes, const std::string& model_dir,
                                const std::string& source_name);

}  // namespace kiln
