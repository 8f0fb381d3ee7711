#include "log.h"

#include <iostream>

namespace kiln::cli {
namespace {
bool g_verbose = false;
}  // namespace

void set_verbose(bool on) { g_verbose = on; }
bool verbose_enabled() { return g_verbose; }

void log_info(const std::string& line) { std::cout << "[I] " << line << '\n'; }

void log_verbose(const std::string& line) {
  if (g_verbose) std::cout << "[V] " << line << '\n';
}

// stdout is flushed first so that, when both streams go to one pipe (ctest, `2>&1`), the
// lines appear in the order they were written.
void log_warning(const std::string& line) {
  std::cout.flush();
  std::cerr << "[W] " << line << std::endl;
}

void log_error(const std::string& line) {
  std::cout.flush();
  std::cerr << "[E] " << line << std::endl;
}

}  // namespace kiln::cli
