// What the build phase is told: optimization profiles (TensorRT's min/opt/max shapes),
// passes to turn off, and the activation memory cap.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kiln/tensor.h"

namespace kiln {

// The range of shapes one profile accepts, per dynamic input. Kernels are prepared for
// `opt`; any shape within [min, max] (dim by dim) runs.
struct ShapeProfile {
  std::map<std::string, Shape> min, opt, max;
};

struct BuildOptions {
  std::vector<ShapeProfile> profiles;       // empty: any shape the model allows
  std::vector<std::string> disabled_passes;  // pass names, e.g. "constant_folding"
  int64_t workspace_limit_bytes = 0;         // 0: no limit
};

}  // namespace kiln
