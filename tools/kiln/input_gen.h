// Generated input values for inputs not given with --loadInputs. Values depend only on the
// input's name, dtype and shape (a fixed seed, no std:: distributions whose output differs
// between standard libraries), so two runs, or kiln on two machines, see the same data.
#pragma once

#include <optional>
#include <string>

#include "kiln/status.h"
#include "kiln/tensor.h"
#include "tensor_spec.h"

namespace kiln::cli {

// Defaults when no --inputRange applies: floats uniform in [-1, 1], integers 0 or 1 (valid
// token ids, attention masks and token type ids), bool 0 or 1.
Result<Tensor> generate_input(const std::string& name, DType dtype, const Shape& shape,
                              const std::optional<ValueRange>& range);

// Describes the values generate_input() produces, for the log: "uniform in [-1, 1]".
std::string describe_generated(DType dtype, const std::optional<ValueRange>& range);

}  // namespace kiln::cli
