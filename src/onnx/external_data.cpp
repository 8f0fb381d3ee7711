#include "onnx/external_data.h"

#include <filesystem>
#include <fstream>

namespace kiln {
namespace fs = std::filesystem;

namespace {

bool is_inside(const fs::path& dir, const fs::path& file) {
  auto d = dir.begin();
  auto f = file.begin();
  for (; d != dir.end(); ++d, ++f) {
    if (f == file.end() || *d != *f) return false;
  }
  return f != file.end();
}

}  // namespace

Status read_external_data(const ExternalDataRef& ref, const std::string& model_dir,
                          const std::string& tensor_name, int64_t expected_bytes,
                          const std::function<Result<void*>()>& destination) {
  const std::string where = "tensor '" + tensor_name + "' external data '" + ref.location + "'";
  if (model_dir.empty()) return invalid_model(where + ": external data is not allowed here");
  const fs::path rel(ref.location);
  if (ref.location.empty() || rel.is_absolute()) {
    return invalid_model(where + ": location must be a relative path inside the model's folder");
  }
  for (const fs::path& part : rel) {
    if (part == "..") return invalid_model(where + ": location must not contain '..'");
  }
  std::error_code ec;
  const fs::path dir = fs::canonical(fs::path(model_dir), ec);
  if (ec) return io_error(where + ": cannot resolve model folder '" + model_dir + "'");
  const fs::path file = fs::canonical(dir / rel, ec);
  if (ec) return not_found(where + ": file not found in " + dir.string());
  if (!is_inside(dir, file)) {
    return invalid_model(where + ": resolves to " + file.string() + ", outside the model's folder");
  }
  if (!fs::is_regular_file(file, ec)) return invalid_model(where + ": not a regular file");
  const uintmax_t file_size = fs::file_size(file, ec);
  if (ec) return io_error(where + ": cannot read its size");
  if (ref.offset < 0) return invalid_model(where + ": negative offset " + std::to_string(ref.offset));
  const uint64_t offset = static_cast<uint64_t>(ref.offset);
  const uint64_t length = ref.length < 0 ? (offset <= file_size ? file_size - offset : 0)
                                         : static_cast<uint64_t>(ref.length);
  // offset + length may not overflow and must lie inside the file.
  if (offset > file_size || length > file_size - offset) {
    return invalid_model(where + ": offset " + std::to_string(offset) + " + length " + std::to_string(length) +
                         " exceeds the file size " + std::to_string(file_size));
  }
  if (length != static_cast<uint64_t>(expected_bytes)) {
    return invalid_model(where + ": holds " + std::to_string(length) + " bytes but the tensor's shape needs " +
                         std::to_string(expected_bytes));
  }
  KILN_ASSIGN_OR_RETURN(void* out, destination());
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(static_cast<char*>(out), static_cast<std::streamsize>(length));
  if (!in) return io_error(where + ": read failed");
  return Status::ok();
}

}  // namespace kiln
