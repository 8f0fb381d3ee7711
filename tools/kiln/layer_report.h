// The engine's final layers, as trtexec's --dumpLayerInfo and --exportLayerInfo show them.
#pragma once

#include <string>

#include "kiln/engine.h"
#include "kiln/status.h"

namespace kiln::cli {

// One "[I] " line per layer in execution order:
//   Layer 3: <name> (<type>) in[1x16] -> out[1x16x768] | float32 | <implementation>
void print_layer_info(const Engine& engine);

// {"Layers": [{"Name", "LayerType", "SourceNodes", "Inputs": [{"Name", "Dimensions"}],
//   "Outputs", "Precision", "Implementation"}], "Bindings": [input and output names]},
// written atomically.
Status export_layer_info(const std::string& path, const Engine& engine);

}  // namespace kiln::cli
