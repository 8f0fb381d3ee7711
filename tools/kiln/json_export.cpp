#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <unistd.h>

#include "json_util.h"
#include "kiln/half.h"
#include "output_export.h"

namespace kiln::cli {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

Status write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return io_error("cannot create '" + tmp + "'");
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed) {
    std::remove(tmp.c_str());
    return io_error("cannot write '" + tmp + "' (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return io_error("cannot rename '" + tmp + "' to '" + path + "'");
  }
  return Status::ok();
}

namespace {

// trtexec writes the dims joined by 'x'; a scalar has none (compare_with_ort.py reads "" as []).
std::string dimensions(const Shape& shape) { return shape.empty() ? "" : shape_to_string(shape); }

void append_float(std::string& out, double v, int digits) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "Infinity" : "-Infinity";
  } else {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    out += buf;
  }
}

Status append_values(std::string& out, const Tensor& t) {
  char buf[32];
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (i) out += ", ";
    switch (t.dtype()) {
      case DType::kFloat32: append_float(out, t.data<float>()[i], 9); break;  // 9 digits round-trip a float
      case DType::kFloat64: append_float(out, t.data<double>()[i], 17); break;
      case DType::kFloat16: append_float(out, half_to_float(t.data<uint16_t>()[i]), 5); break;
      case DType::kBFloat16: append_float(out, bfloat16_to_float(t.data<uint16_t>()[i]), 4); break;
      case DType::kUInt64:
        std::snprintf(buf, sizeof buf, "%" PRIu64, t.data<uint64_t>()[i]);
        out += buf;
        break;
      case DType::kBool: out += t.data<bool>()[i] ? "1" : "0"; break;
      default:
        if (!is_integer_dtype(t.dtype())) {
          return unsupported("cannot write values of dtype " + dtype_name(t.dtype()) + " to JSON");
        }
        std::snprintf(buf, sizeof buf, "%" PRId64, t.get_as_int64(i));
        out += buf;
    }
  }
  return Status::ok();
}

}  // namespace

Status export_output_json(const std::string& path, const std::vector<NamedTensor>& outputs) {
  // The layout of trtexec's exportJSONOutput(), leading commas included.
  std::string out = "[\n";
  std::string sep = "  ";
  for (const NamedTensor& o : outputs) {
    out += sep + "{ \"name\" : " + json_string(o.name) + "\n";
    sep = ", ";
    out += "  " + sep + "\"dimensions\" : \"" + dimensions(o.tensor.shape()) + "\"\n";
    out += "  " + sep + "\"values\" : [ ";
    Status s = append_values(out, o.tensor);
    if (!s.is_ok()) return s.with_context("--exportOutput: output '" + o.name + "'");
    out += " ]\n  }\n";
  }
  out += "]\n";
  return write_file_atomically(path, out).with_context("--exportOutput");
}

}  // namespace kiln::cli
