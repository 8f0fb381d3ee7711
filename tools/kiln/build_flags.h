// The build-phase flags (--minShapes/--optShapes/--maxShapes, --disablePasses,
// --memPoolSize, --workspace) turned into a kiln::BuildOptions. Profiles are checked here
// as far as the flags alone allow (syntax, the same inputs and rank in min, opt and max,
// min <= opt <= max), so a typo fails before the model is read; the engine checks them
// against the model's inputs when it is built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/build_options.h"
#include "options.h"

namespace kiln::cli {

// Fails with a message naming the flag, the profile, the input, the dim and the values.
Result<BuildOptions> parse_build_options(const Options& options);

// --memPoolSize items: the workspace limit in bytes (0 when no workspace pool is given).
Result<int64_t> parse_mem_pool_size(const std::vector<std::string>& args);

}  // namespace kiln::cli
