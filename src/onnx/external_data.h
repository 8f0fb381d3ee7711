// Reads tensor bytes stored beside a model (TensorProto.data_location == EXTERNAL).
// The location comes from an untrusted file, so it must stay inside the model's folder:
// no absolute paths, no "..", and no symlink that resolves outside.
#pragma once

#include <cstdint>
#include <string>

#include "kiln/status.h"

namespace kiln {

struct ExternalDataRef {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;  // -1: to the end of the file
};

// Reads `expected_bytes` bytes for tensor `tensor_name` into `out`.
Status read_external_data(const ExternalDataRef& ref, const std::string& model_dir,
                          const std::string& tensor_name, int64_t expected_bytes, void* out);

}  // namespace kiln
