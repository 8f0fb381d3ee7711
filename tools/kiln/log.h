// trtexec-shaped log lines: "[I] " info and "[V] " verbose go to stdout, "[W] " warnings and
// "[E] " errors to stderr (trtexec's logger splits the streams the same way), so scripts
// that parse the performance summary never see error text mixed into it.
#pragma once

#include <string>

namespace kiln::cli {

void set_verbose(bool on);
bool verbose_enabled();

void log_info(const std::string& line);
void log_verbose(const std::string& line);  // printed only with --verbose
void log_warning(const std::string& line);
void log_error(const std::string& line);

}  // namespace kiln::cli
