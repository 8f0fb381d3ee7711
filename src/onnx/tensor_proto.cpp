#include "onnx/tensor_proto.h"

#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "onnx/external_data.h"
#include "onnx/onnx.pb.h"

namespace kiln {
namespace {

// Copies a repeated proto field into the tensor, converting each element.
template <typename Out, typename Field, typename Convert>
Status copy_field(const Field& field, Tensor& t, const std::string& where, const char* field_name,
                  Convert convert) {
  if (static_cast<int64_t>(field.size()) != t.numel()) {
    return invalid_model(where + ": shape " + shape_to_string(t.shape()) + " needs " +
                         std::to_string(t.numel()) + " elements but " + field_name + " holds " +
                         std::to_string(field.size()));
  }
  Out* out = t.data<Out>();
  for (int i = 0; i < field.size(); ++i) out[i] = convert(field.Get(i));
  return Status::ok();
}

template <typename Out, typename Field>
Status copy_field(const Field& field, Tensor& t, const std::string& where, const char* field_name) {
  return copy_field<Out>(field, t, where, field_name, [](auto v) { return static_cast<Out>(v); });
}

Status fill_from_typed_fields(const onnx::TensorProto& p, Tensor& t, const std::string& where) {
  switch (t.dtype()) {
    case DType::kFloat32: return copy_field<float>(p.float_data(), t, where, "float_data");
    case DType::kFloat64: return copy_field<double>(p.double_data(), t, where, "double_data");
    case DType::kInt64: return copy_field<int64_t>(p.int64_data(), t, where, "int64_data");
    case DType::kUInt32: return copy_field<uint32_t>(p.uint64_data(), t, where, "uint64_data");
    case DType::kUInt64: return copy_field<uint64_t>(p.uint64_data(), t, where, "uint64_data");
    case DType::kInt32: return copy_field<int32_t>(p.int32_data(), t, where, "int32_data");
    case DType::kInt16: return copy_field<int16_t>(p.int32_data(), t, where, "int32_data");
    case DType::kInt8: return copy_field<int8_t>(p.int32_data(), t, where, "int32_data");
    case DType::kUInt16: return copy_field<uint16_t>(p.int32_data(), t, where, "int32_data");
    case DType::kUInt8: return copy_field<uint8_t>(p.int32_data(), t, where, "int32_data");
    case DType::kFloat16: return copy_field<uint16_t>(p.int32_data(), t, where, "int32_data");
    case DType::kBFloat16: return copy_field<uint16_t>(p.int32_data(), t, where, "int32_data");
    case DType::kBool:
      return copy_field<bool>(p.int32_data(), t, where, "int32_data", [](int32_t v) { return v != 0; });
    default: return internal_error(where + ": unhandled dtype " + dtype_name(t.dtype()));
  }
}

bool has_typed_data(const onnx::TensorProto& p) {
  return p.float_data_size() || p.double_data_size() || p.int32_data_size() || p.int64_data_size() ||
         p.uint64_data_size() || p.string_data_size();
}

// Element count of the typed field that holds `dtype`'s values, and the field's name.
int64_t typed_count(const onnx::TensorProto& p, DType dtype, const char** field) {
  switch (dtype) {
    case DType::kFloat32: *field = "float_data"; return p.float_data_size();
    case DType::kFloat64: *field = "double_data"; return p.double_data_size();
    case DType::kInt64: *field = "int64_data"; return p.int64_data_size();
    case DType::kUInt32: case DType::kUInt64: *field = "uint64_data"; return p.uint64_data_size();
    default: *field = "int32_data"; return p.int32_data_size();
  }
}

// A whole decimal number; stoll would take "16abc" as 16 and "0x10" as 0.
bool parse_int64(const std::string& text, int64_t& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && !text.empty();
}

}  // namespace

Result<Tensor> tensor_from_proto(const onnx::TensorProto& p, const std::string& model_dir) {
  const std::string where = "tensor '" + p.name() + "'";
  if (p.has_segment()) return unsupported(where + ": segmented tensors are not supported");
  const int32_t type = p.data_type();
  if (!is_known_dtype(type)) {
    return unsupported(where + ": data type " + std::to_string(type) +
                       " is not known to kiln (a newer ONNX type?)");
  }
  const DType dtype = static_cast<DType>(type);
  if (!is_supported_dtype(dtype)) {
    return unsupported(where + ": data type " + dtype_name(dtype) + " is not supported");
  }
  Shape shape(p.dims().begin(), p.dims().end());
  for (int64_t d : shape) {
    if (d < 0) return invalid_model(where + ": negative dim in shape " + shape_to_string(shape));
  }
  // Sizes are checked against the data present before allocating, so a file cannot make
  // kiln allocate gigabytes for a tensor it does not hold.
  Result<int64_t> numel = checked_numel(shape);
  if (!numel.is_ok()) return numel.status().with_context(where);
  const int64_t elem = static_cast<int64_t>(dtype_size(dtype));
  if (*numel > Tensor::kMaxTensorBytes / elem) {
    return resource_exhausted(where + ": shape " + shape_to_string(shape) + " of " + dtype_name(dtype) +
                              " exceeds kiln's 64 GiB tensor limit");
  }
  const int64_t bytes = *numel * elem;
  auto allocate = [&]() -> Result<Tensor> {
    Result<Tensor> t = Tensor::allocate(dtype, shape);
    if (!t.is_ok()) return t.status().with_context(where);
    return t;
  };
  auto canonical_bools = [&](Tensor& t) {  // any non-zero byte is true; keep bools 0/1
    if (dtype != DType::kBool) return;
    for (int64_t i = 0; i < t.numel(); ++i) t.data<uint8_t>()[i] = t.data<uint8_t>()[i] != 0;
  };

  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    ExternalDataRef ref;
    for (const auto& kv : p.external_data()) {
      int64_t* field = kv.key() == "offset" ? &ref.offset : kv.key() == "length" ? &ref.length : nullptr;
      if (kv.key() == "location") ref.location = kv.value();
      if (field && !parse_int64(kv.value(), *field)) {
        return invalid_model(where + ": external data " + kv.key() + " '" + kv.value() + "' is not a number");
      }
    }
    Tensor t;
    KILN_RETURN_IF_ERROR(read_external_data(ref, model_dir, p.name(), bytes, [&]() -> Result<void*> {
      KILN_ASSIGN_OR_RETURN(t, allocate());
      return t.raw();
    }));
    canonical_bools(t);
    return t;
  }
  if (p.has_raw_data()) {
    if (static_cast<int64_t>(p.raw_data().size()) != bytes) {
      return invalid_model(where + ": shape " + shape_to_string(shape) + " of " + dtype_name(dtype) +
                           " needs " + std::to_string(bytes) + " bytes but raw_data holds " +
                           std::to_string(p.raw_data().size()));
    }
    KILN_ASSIGN_OR_RETURN(Tensor t, allocate());
    if (bytes) std::memcpy(t.raw(), p.raw_data().data(), static_cast<size_t>(bytes));
    canonical_bools(t);
    return t;
  }
  if (!has_typed_data(p) && *numel != 0) {
    return invalid_model(where + ": shape " + shape_to_string(shape) + " has " + std::to_string(*numel) +
                         " elements but the tensor holds no data");
  }
  const char* field = "";
  const int64_t count = typed_count(p, dtype, &field);
  if (count != *numel) {
    return invalid_model(where + ": shape " + shape_to_string(shape) + " needs " + std::to_string(*numel) +
                         " elements but " + field + " holds " + std::to_string(count));
  }
  KILN_ASSIGN_OR_RETURN(Tensor t, allocate());
  KILN_RETURN_IF_ERROR(fill_from_typed_fields(p, t, where));
  return t;
}

Result<Tensor> read_tensor_proto_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) return invalid_model(path + ": not a serialized TensorProto");
  Result<Tensor> t = tensor_from_proto(proto, "");
  if (!t.is_ok()) return t.status().with_context(path);
  return t;
}

}  // namespace kiln
