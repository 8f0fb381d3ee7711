// A constant weight a kernel has rearranged into its backend's preferred layout (oneDNN's
// blocked formats), so a plan can carry it and a loaded engine need not pack it again.
// The layout is an opaque key that only the backend that made it interprets: a kernel
// uses a blob only when a primitive it creates asks for exactly that layout, so a stale
// or damaged key costs a repack, never a wrong result.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "kiln/tensor.h"

namespace kiln {

struct PackedWeight {
  size_t input = 0;    // which input of the node was packed (Conv's W, MatMul's B)
  std::string layout;  // the backend's key for the packed layout
  Tensor data;         // the packed bytes: uint8 [n], 64-byte aligned, never written
  bool from_plan = false;  // loaded with the plan rather than packed in this process
};

}  // namespace kiln
