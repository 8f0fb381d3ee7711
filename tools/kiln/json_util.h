// Small JSON-writing helpers shared by the --export* flags.
#pragma once

#include <string>

#include "kiln/status.h"

namespace kiln::cli {

// `s` as a JSON string literal, quotes included; control characters as \u00XX.
std::string json_string(const std::string& s);

// Writes `text` to a temporary file beside `path`, then renames it over `path`, so a reader
// never sees half a file.
Status write_file_atomically(const std::string& path, const std::string& text);

}  // namespace kiln::cli
