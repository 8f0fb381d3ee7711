// Writes the outputs of the last run to files, for comparison with other runtimes
// (scripts/compare_with_ort.py reads the JSON).
#pragma once

#include <string>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::cli {

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

// trtexec's --exportOutput format: a JSON list of {"name", "dimensions": "1x2", "values"}.
// Floats with enough digits to round-trip; NaN and infinities as NaN / Infinity / -Infinity
// (what Python's json reads). Written to a temporary file, then renamed, so a reader never
// sees half a file.
Status export_output_json(const std::string& path, const std::vector<NamedTensor>& outputs);

// One <dir>/<name>.npy per output (kiln extension); the folder is created if needed.
Status export_output_npy(const std::string& dir, const std::vector<NamedTensor>& outputs);

}  // namespace kiln::cli
