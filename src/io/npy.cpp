#include "io/npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace kiln {
namespace {

const std::map<std::string, DType>& descr_types() {
  static const std::map<std::string, DType> types = {
      {"<f4", DType::kFloat32}, {"<f8", DType::kFloat64}, {"<f2", DType::kFloat16},
      {"<i8", DType::kInt64},   {"<i4", DType::kInt32},   {"<i2", DType::kInt16},
      {"|i1", DType::kInt8},    {"|u1", DType::kUInt8},   {"<u2", DType::kUInt16},
      {"<u4", DType::kUInt32},  {"<u8", DType::kUInt64},  {"|b1", DType::kBool}};
  return types;
}

std::string descr_of(DType t) {
  for (const auto& [descr, type] : descr_types()) {
    if (type == t) return descr;
  }
  return "";
}

// Value of `key` in the header dict, e.g. 'descr': '<f4' -> <f4.
std::string header_field(const std::string& header, const std::string& key) {
  const size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) return "";
  size_t p = header.find(':', k);
  if (p == std::string::npos) return "";
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  if (p >= header.size()) return "";
  if (header[p] == '\'') {
    const size_t end = header.find('\'', p + 1);
    return end == std::string::npos ? "" : header.substr(p + 1, end - p - 1);
  }
  if (header[p] == '(') {
    const size_t end = header.find(')', p);
    return end == std::string::npos ? "" : header.substr(p, end - p + 1);
  }
  const size_t end = header.find_first_of(",}", p);
  return header.substr(p, end == std::string::npos ? std::string::npos : end - p);
}

}  // namespace

Result<Tensor> parse_npy(const std::string& bytes, const std::string& name) {
  const std::string where = "npy file '" + name + "'";
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    return invalid_argument(where + ": not a .npy file (bad magic)");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return invalid_argument(where + ": truncated header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    return unsupported(where + ": .npy format version " + std::to_string(major) + " is not supported");
  }
  if (header_len > bytes.size() - header_start) return invalid_argument(where + ": truncated header");
  const std::string header = bytes.substr(header_start, header_len);
  const std::string descr = header_field(header, "descr");
  auto type = descr_types().find(descr);
  if (type == descr_types().end()) {
    return unsupported(where + ": dtype '" + descr + "' is not supported (use little-endian numeric or bool)");
  }
  if (header_field(header, "fortran_order").find("True") != std::string::npos) {
    return unsupported(where + ": Fortran-order arrays are not supported (save with np.ascontiguousarray)");
  }
  const std::string shape_text = header_field(header, "shape");
  if (shape_text.empty() || shape_text.front() != '(') return invalid_argument(where + ": header has no shape");
  Shape shape;
  std::string digits;
  for (char c : shape_text.substr(1)) {
    if (c >= '0' && c <= '9') {
      digits += c;
      if (digits.size() > 18) return invalid_argument(where + ": dim too large");
    } else if (c == ',' || c == ')') {
      if (!digits.empty()) shape.push_back(std::stoll(digits));
      digits.clear();
    } else if (c != ' ' && c != 'L') {
      return invalid_argument(where + ": malformed shape " + shape_text);
    }
  }
  // Sizes are compared before allocating, so a header cannot claim gigabytes the file lacks.
  Result<int64_t> numel = checked_numel(shape);
  if (!numel.is_ok()) return numel.status().with_context(where);
  const uint64_t elem = dtype_size(type->second);
  const size_t data_start = header_start + header_len;
  const uint64_t have = bytes.size() - data_start;
  const uint64_t n = static_cast<uint64_t>(*numel);
  if (n > have / elem || n * elem != have) {
    const std::string need = n <= UINT64_MAX / elem ? std::to_string(n * elem) : "more than 2^64";
    return invalid_argument(where + ": shape " + shape_to_string(shape) + " of " + dtype_name(type->second) +
                            " needs " + need + " bytes of data, the file has " + std::to_string(have));
  }
  Result<Tensor> allocated = Tensor::allocate(type->second, shape);
  if (!allocated.is_ok()) return allocated.status().with_context(where);
  Tensor t = std::move(allocated).value();
  if (t.nbytes()) std::memcpy(t.raw(), bytes.data() + data_start, t.nbytes());
  return t;
}

Result<Tensor> read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open npy file '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_npy(buffer.str(), path);
}

Status write_npy(const std::string& path, const Tensor& tensor) {
  const std::string descr = descr_of(tensor.dtype());
  if (descr.empty()) return unsupported("cannot write dtype " + dtype_name(tensor.dtype()) + " to .npy");
  std::string shape = "(";
  for (size_t i = 0; i < tensor.rank(); ++i) shape += std::to_string(tensor.dim(i)) + (tensor.rank() == 1 ? "," : (i + 1 < tensor.rank() ? ", " : ""));
  shape += ")";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad so the data starts on a 64-byte boundary, as numpy does.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out = std::string("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(static_cast<const char*>(tensor.raw()), tensor.nbytes());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return io_error("cannot write '" + tmp + "'");
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    if (!f) return io_error("write to '" + tmp + "' failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return io_error("cannot rename '" + tmp + "' to '" + path + "'");
  }
  return Status::ok();
}

}  // namespace kiln
