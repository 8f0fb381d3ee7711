#include <filesystem>
#include <set>

#include "io/npy.h"
#include "output_export.h"

namespace kiln::cli {
namespace {

// Output names may hold '/' or ':' ("logits:0", "encoder/out"); keep file names portable.
std::string file_stem(const std::string& name) {
  std::string s;
  for (char c : name) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                       c == '-' || c == '.';
    s += plain ? c : '_';
  }
  if (s.empty() || s == "." || s == "..") s = "output" + s;
  return s;
}

}  // namespace

Status export_output_npy(const std::string& dir, const std::vector<NamedTensor>& outputs) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return io_error("--exportOutputNpy: cannot create folder '" + dir + "': " + ec.message());
  std::set<std::string> used;
  for (const NamedTensor& o : outputs) {
    std::string stem = file_stem(o.name);
    // Two names that map to one stem ("a/b", "a:b") get distinct files.
    for (int k = 1; used.count(stem); ++k) stem = file_stem(o.name) + "_" + std::to_string(k);
    used.insert(stem);
    const std::string path = (std::filesystem::path(dir) / (stem + ".npy")).string();
    Status s = write_npy(path, o.tensor);
    if (!s.is_ok()) return s.with_context("--exportOutputNpy: output '" + o.name + "'");
  }
  return Status::ok();
}

}  // namespace kiln::cli
