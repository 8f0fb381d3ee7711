// Parsing of the per-input list flags, in trtexec's syntax: comma-separated "name:value"
// items where a name may be wrapped in single quotes ('input:0':1x3) so it can hold ':'
// or ','. Only syntax is checked here; input_plan.h checks the items against the model.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::cli {

// "1x3x224x224" -> {1, 3, 224, 224}; "" -> {} (a scalar).
Result<Shape> parse_dims(const std::string& text);

// --shapes: name -> run shape.
// `flag` names the flag in errors: --shapes, or --minShapes/--optShapes/--maxShapes.
Result<std::map<std::string, Shape>> parse_shapes(const std::vector<std::string>& args,
                                                  const std::string& flag = "--shapes");

// --loadInputs: name -> .npy path.
Result<std::map<std::string, std::string>> parse_load_inputs(const std::vector<std::string>& args);

// One --inputRange item. Integer inputs need `integral` bounds; the range is [lo, hi).
struct ValueRange {
  double lo = 0;
  double hi = 0;
  bool integral = false;  // both bounds are integers; then ilo/ihi hold them exactly
  int64_t ilo = 0;
  int64_t ihi = 0;
  std::string text;       // as given, for messages
};

struct InputRanges {
  std::optional<ValueRange> all;               // an item without a name
  std::map<std::string, ValueRange> by_input;  // items with a name
};

// --inputRange: [name:]LO:HI items.
Result<InputRanges> parse_input_ranges(const std::vector<std::string>& args);

}  // namespace kiln::cli
