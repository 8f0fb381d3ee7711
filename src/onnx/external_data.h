// Reads tensor bytes stored beside a model (TensorProto.data_location == EXTERNAL).
// The location comes from an untrusted file, so it must stay inside the model's folder:
// no absolute paths, no "..", and no symlink that resolves outside.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "kiln/status.h"

namespace kiln {

struct ExternalDataRef {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;  // -1: to the end of the file
};

// Reads `expected_bytes` bytes for tensor `tensor_name` into the buffer `destination`
// returns. It is called only once location, offset and length have been checked, so a
// file cannot make the caller allocate a size the data does not have.
Status read_external_data(const ExternalDataRef& ref, const std::string& model_dir,
                          const std::string& tensor_name, int64_t expected_bytes,
                          const std::function<Result<void*>()>& destination);

}  // namespace kiln
