// Decides every input's run shape and values from --shapes, --loadInputs and --inputRange,
// and checks them against the model before anything runs, so a wrong request fails with a
// message that names the flag and the input rather than deep inside the engine.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kiln/engine.h"
#include "options.h"
#include "tensor_spec.h"

namespace kiln::cli {

struct InputRequest {
  std::map<std::string, Shape> shapes;       // --shapes
  std::map<std::string, std::string> files;  // --loadInputs
  InputRanges ranges;                        // --inputRange
};

// Syntax only; runs before the model is loaded so a typo fails fast.
Result<InputRequest> parse_input_request(const Options& options);

struct PreparedInput {
  std::string name;
  Tensor tensor;
  std::string origin;  // "loaded from x.npy" / "generated, uniform in [-1, 1]"
};

// One tensor per model input, in the model's order. Prints the trtexec-style warning for
// dynamic dims that default to 1.
Result<std::vector<PreparedInput>> prepare_inputs(const std::vector<TensorDesc>& model_inputs,
                                                  const InputRequest& request);

// "[batch, 3, 224, 224]"; "?" for an unnamed dynamic dim.
std::string symbolic_shape(const TensorDesc& desc);

}  // namespace kiln::cli
