#include "ops/op_util.h"

#include <algorithm>

namespace kiln {
namespace {

Status wrong_kind(const Node& node, const std::string& name, const char* expected) {
  return invalid_model(node.describe() + ": attribute '" + name + "' is not " + expected);
}

}  // namespace

bool has_attr(const Node& node, const std::string& name) { return node.find_attribute(name) != nullptr; }

Result<int64_t> attr_int(const Node& node, const std::string& name, int64_t default_value) {
  const Attribute* a = node.find_attribute(name);
  if (!a) return default_value;
  if (a->kind != Attribute::Kind::kInt) return wrong_kind(node, name, "an int");
  return a->i;
}

Result<int64_t> required_attr_int(const Node& node, const std::string& name) {
  if (!node.find_attribute(name)) {
    return invalid_model(node.describe() + ": required attribute '" + name + "' is missing");
  }
  return attr_int(node, name, 0);
}

Result<float> attr_float(const Node& node, const std::string& name, float default_value) {
  const Attribute* a = node.find_attribute(name);
  if (!a) return default_value;
  if (a->kind == Attribute::Kind::kInt) return static_cast<float>(a->i);
  if (a->kind != Attribute::Kind::kFloat) return wrong_kind(node, name, "a float");
  return a->f;
}

Result<std::string> attr_string(const Node& node, const std::string& name,
                                const std::string& default_value) {
  const Attribute* a = node.find_attribute(name);
  if (!a) return default_value;
  if (a->kind != Attribute::Kind::kString) return wrong_kind(node, name, "a string");
  return a->s;
}

Result<std::vector<int64_t>> attr_ints(const Node& node, const std::string& name,
                                       const std::vector<int64_t>& default_value) {
  const Attribute* a = node.find_attribute(name);
  if (!a) return default_value;
  if (a->kind != Attribute::Kind::kInts) return wrong_kind(node, name, "a list of ints");
  return a->ints;
}

Result<std::vector<float>> attr_floats(const Node& node, const std::string& name,
                                       const std::vector<float>& default_value) {
  const Attribute* a = node.find_attribute(name);
  if (!a) return default_value;
  if (a->kind != Attribute::Kind::kFloats) return wrong_kind(node, name, "a list of floats");
  return a->floats;
}

Result<int64_t> normalize_axis(int64_t axis, int64_t rank, const std::string& what) {
  if (axis < -rank || axis >= rank) {
    // Rank 0 has no valid axis; the message still names the range that was expected.
    return invalid_argument(what + " " + std::to_string(axis) + " is out of range for rank " +
                            std::to_string(rank) + " (expected [" + std::to_string(-rank) + ", " +
                            std::to_string(rank - 1) + "])");
  }
  return axis < 0 ? axis + rank : axis;
}

Result<std::vector<int64_t>> normalize_axis_list(const std::vector<int64_t>& axes, int64_t rank,
                                                 const std::string& what) {
  std::vector<int64_t> out;
  out.reserve(axes.size());
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) {
      return invalid_argument(what + ": axis " + std::to_string(a) + " is out of range for rank " +
                              std::to_string(rank) + " (expected [" + std::to_string(-rank) + ", " +
                              std::to_string(rank - 1) + "])");
    }
    out.push_back(a < 0 ? a + rank : a);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

AxisView axis_view(const Shape& shape, int64_t axis) {
  AxisView v;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < axis) v.outer *= shape[i];
    else if (i == axis) v.axis_len = shape[i];
    else v.inner *= shape[i];
  }
  return v;
}

Result<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      return invalid_argument("shapes " + shape_to_string(a) + " and " + shape_to_string(b) +
                              " cannot be broadcast together");
    }
  }
  return out;
}

Result<SymShape> broadcast_sym_shapes(const SymShape& a, const SymShape& b) {
  const size_t rank = std::max(a.size(), b.size());
  SymShape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const Dim da = i < rank - a.size() ? Dim(1) : a[i - (rank - a.size())];
    const Dim db = i < rank - b.size() ? Dim(1) : b[i - (rank - b.size())];
    if (da.known() && db.known()) {
      if (da.value == db.value || db.value == 1) {
        out[i] = da;
      } else if (da.value == 1) {
        out[i] = db;
      } else {
        return invalid_argument("shapes " + sym_shape_to_string(a) + " and " + sym_shape_to_string(b) +
                                " cannot be broadcast together");
      }
    } else if (da == db || (db.known() && db.value == 1)) {
      out[i] = da;
    } else if (da.known() && da.value == 1) {
      out[i] = db;
    } else {
      out[i] = Dim::unknown();  // symbolic against another symbol or a number: unknown
    }
  }
  return out;
}

std::vector<int64_t> contiguous_strides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> strides(out.size(), 0);
  const std::vector<int64_t> own = contiguous_strides(in);
  const size_t offset = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    strides[offset + i] = in[i] == 1 ? 0 : own[i];
  }
  return strides;
}

Status infer_same_as_input(InferContext& ctx, size_t input) {
  ctx.set_output(0, ctx.input_dtype(input), optional_shape(ctx.input_shape(input)));
  return Status::ok();
}

Result<Tensor*> prepare_output(RunContext& ctx, size_t i, DType dtype, const Shape& shape) {
  Tensor& t = ctx.output(i);
  if (t.defined() && t.dtype() == dtype && t.shape() == shape) return &t;
  KILN_RETURN_IF_ERROR(ctx.allocate_output(i, dtype, shape));
  return &ctx.output(i);
}

Result<std::vector<int64_t>> read_int_values(const Tensor& t, const std::string& input) {
  if (t.dtype() != DType::kInt64 && t.dtype() != DType::kInt32) {
    return invalid_argument("input '" + input + "' has dtype " + dtype_name(t.dtype()) +
                            " (expected int64 or int32)");
  }
  return t.to_int64_vector();
}

Status unsupported_dtype(const std::string& op, const std::string& input, DType dtype) {
  return unsupported(op + " does not support dtype " + dtype_name(dtype) + " for input '" + input + "'");
}

Status expect_float_dtype(const std::string& input, DType dtype) {
  if (is_float_dtype(dtype)) return Status::ok();
  return invalid_argument("input '" + input + "' has dtype " + dtype_name(dtype) + " (expected a float type)");
}

Status expect_numeric_dtype(const std::string& input, DType dtype) {
  if (is_float_dtype(dtype) || is_integer_dtype(dtype)) return Status::ok();
  return invalid_argument("input '" + input + "' has dtype " + dtype_name(dtype) + " (expected a numeric type)");
}

}  // namespace kiln
