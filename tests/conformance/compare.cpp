#include "conformance/compare.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "onnx/onnx.pb.h"

namespace kiln {

std::string compare_tensors(const Tensor& expected, const Tensor& actual, double rtol, double atol) {
  if (expected.dtype() != actual.dtype()) {
    return "dtype " + dtype_name(actual.dtype()) + ", expected " + dtype_name(expected.dtype());
  }
  if (expected.shape() != actual.shape()) {
    return "shape " + shape_to_string(actual.shape()) + ", expected " + shape_to_string(expected.shape());
  }
  const bool is_float = is_float_dtype(expected.dtype());
  for (int64_t i = 0; i < expected.numel(); ++i) {
    bool ok;
    double e, a;
    if (is_float) {
      e = expected.get_as_double(i);
      a = actual.get_as_double(i);
      if (std::isnan(e) || std::isnan(a)) ok = std::isnan(e) && std::isnan(a);
      else if (std::isinf(e) || std::isinf(a)) ok = e == a;
      else ok = std::fabs(a - e) <= atol + rtol * std::fabs(e);
    } else {
      e = static_cast<double>(expected.get_as_int64(i));
      a = static_cast<double>(actual.get_as_int64(i));
      ok = expected.get_as_int64(i) == actual.get_as_int64(i);
    }
    if (!ok) {
      std::ostringstream s;
      s.precision(9);
      s << "element " << i << " is " << a << ", expected " << e << " (shape " << shape_to_string(expected.shape()) << ")";
      return s.str();
    }
  }
  return "";
}

std::string op_label_of_model(const std::string& model_path) {
  std::ifstream in(model_path, std::ios::binary);
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&in)) return "(unreadable)";
  std::set<std::string> ops;
  for (const auto& n : model.graph().node()) ops.insert(n.op_type());
  if (ops.size() == 1) return *ops.begin();
  if (ops.empty()) return "(no nodes)";
  return "(multi-op)";
}

}  // namespace kiln
