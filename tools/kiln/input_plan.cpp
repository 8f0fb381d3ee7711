#include "input_plan.h"

#include "input_gen.h"
#include "io/npy.h"
#include "log.h"

namespace kiln::cli {
namespace {

std::string dims_text(const Shape& s) { return s.empty() ? "scalar" : shape_to_string(s); }

const TensorDesc* find_input(const std::vector<TensorDesc>& inputs, const std::string& name) {
  for (const TensorDesc& d : inputs) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

// Every name in the request must be a model input; a typo would otherwise be ignored.
Status check_names(const std::vector<TensorDesc>& inputs, const InputRequest& req) {
  std::string known;
  for (const TensorDesc& d : inputs) known += (known.empty() ? "'" : ", '") + d.name + "'";
  auto check = [&](const std::string& flag, const std::string& name) {
    if (find_input(inputs, name)) return Status::ok();
    return invalid_argument(flag + ": the model has no input named '" + name + "' (its inputs: " + known + ")");
  };
  for (const auto& [name, _] : req.shapes) KILN_RETURN_IF_ERROR(check("--shapes", name));
  for (const auto& [name, _] : req.files) KILN_RETURN_IF_ERROR(check("--loadInputs", name));
  for (const auto& [name, _] : req.ranges.by_input) KILN_RETURN_IF_ERROR(check("--inputRange", name));
  return Status::ok();
}

// Rank and fixed dims; `what` says where the shape came from ("--shapes gives").
Status check_against_model(const TensorDesc& d, const Shape& s, const std::string& where, const std::string& what) {
  if (!d.has_shape) return Status::ok();
  if (s.size() != d.dims.size()) {
    return invalid_argument(where + ": the model declares rank " + std::to_string(d.dims.size()) + " " +
                            symbolic_shape(d) + ", but " + what + " rank " + std::to_string(s.size()) + " (" +
                            dims_text(s) + ")");
  }
  for (size_t k = 0; k < s.size(); ++k) {
    if (d.dims[k] >= 0 && s[k] != d.dims[k]) {
      return invalid_argument(where + ": dim " + std::to_string(k) + " is fixed to " + std::to_string(d.dims[k]) +
                              " by the model " + symbolic_shape(d) + ", but " + what + " " +
                              std::to_string(s[k]) + " (" + dims_text(s) + ")");
    }
  }
  return Status::ok();
}

Result<Tensor> load_input(const TensorDesc& d, const std::string& path, const InputRequest& req) {
  const std::string where = "--loadInputs: input '" + d.name + "' (file '" + path + "')";
  Result<Tensor> t = read_npy(path);
  if (!t.is_ok()) return t.status().with_context(where);
  if (t->dtype() != d.dtype) {
    return invalid_argument(where + ": the file holds " + dtype_name(t->dtype()) + " but the model expects " +
                            dtype_name(d.dtype));
  }
  auto given = req.shapes.find(d.name);
  if (given != req.shapes.end() && given->second != t->shape()) {
    return invalid_argument(where + ": the file has shape " + dims_text(t->shape()) + " but --shapes gives " +
                            dims_text(given->second));
  }
  KILN_RETURN_IF_ERROR(check_against_model(d, t->shape(), where, "the file has"));
  return std::move(t).value();
}

using SymbolValues = std::map<std::string, int64_t>;  // symbolic dim name -> run size

// Records the sizes a given shape assigns to the input's symbolic dims ("batch" = 2), so
// other inputs that share the name get the same size by default.
void bind_symbols(const TensorDesc& d, const Shape& s, SymbolValues& symbols) {
  if (!d.has_shape || s.size() != d.dims.size()) return;
  for (size_t k = 0; k < s.size(); ++k) {
    if (d.dims[k] < 0 && k < d.dim_names.size() && !d.dim_names[k].empty()) symbols.emplace(d.dim_names[k], s[k]);
  }
}

// The run shape of an input that neither --shapes nor --loadInputs gave.
Result<Shape> default_shape(const TensorDesc& d, const SymbolValues& symbols) {
  if (!d.has_shape) {
    return invalid_argument("input '" + d.name + "': the model does not declare its rank; give its shape with "
                            "--shapes=" + d.name + ":AxB... or load it with --loadInputs");
  }
  Shape s(d.dims.size(), 1);
  bool defaulted = false;
  for (size_t k = 0; k < s.size(); ++k) {
    if (d.dims[k] >= 0) {
      s[k] = d.dims[k];
      continue;
    }
    const std::string sym = k < d.dim_names.size() ? d.dim_names[k] : "";
    auto it = sym.empty() ? symbols.end() : symbols.find(sym);
    if (it != symbols.end()) {
      s[k] = it->second;
    } else {
      defaulted = true;
    }
  }
  if (defaulted) {
    // trtexec's words, so logs read the same.
    log_warning("Dynamic dimensions required for input: " + d.name + " " + symbolic_shape(d) +
                ", but no shapes were provided. Automatically overriding shape to: " + dims_text(s));
  } else if (s != d.dims) {
    log_info("Input " + d.name + " " + symbolic_shape(d) + ": shape " + dims_text(s) +
             " from the symbolic dims of the other inputs");
  }
  return s;
}

}  // namespace

std::string symbolic_shape(const TensorDesc& d) {
  if (!d.has_shape) return "(unknown rank)";
  std::string s = "[";
  for (size_t k = 0; k < d.dims.size(); ++k) {
    if (k) s += ", ";
    if (d.dims[k] >= 0) {
      s += std::to_string(d.dims[k]);
    } else {
      s += k < d.dim_names.size() && !d.dim_names[k].empty() ? d.dim_names[k] : "?";
    }
  }
  return s + "]";
}

Result<InputRequest> parse_input_request(const Options& options) {
  InputRequest req;
  KILN_ASSIGN_OR_RETURN(req.shapes, parse_shapes(options.shapes));
  KILN_ASSIGN_OR_RETURN(req.files, parse_load_inputs(options.load_inputs));
  KILN_ASSIGN_OR_RETURN(req.ranges, parse_input_ranges(options.input_ranges));
  return req;
}

Result<std::vector<PreparedInput>> prepare_inputs(const std::vector<TensorDesc>& model_inputs,
                                                  const InputRequest& req) {
  KILN_RETURN_IF_ERROR(check_names(model_inputs, req));
  std::vector<PreparedInput> out(model_inputs.size());
  std::vector<bool> shaped(model_inputs.size(), false);
  SymbolValues symbols;
  // First pass: inputs whose shape the user gave, so their symbolic dims are known.
  for (size_t i = 0; i < model_inputs.size(); ++i) {
    const TensorDesc& d = model_inputs[i];
    out[i].name = d.name;
    auto file = req.files.find(d.name);
    if (file != req.files.end()) {
      KILN_ASSIGN_OR_RETURN(out[i].tensor, load_input(d, file->second, req));
      out[i].origin = "loaded from " + file->second;
      if (req.ranges.by_input.count(d.name)) {
        log_warning("--inputRange for input '" + d.name + "' is ignored: it is loaded from a file");
      }
      bind_symbols(d, out[i].tensor.shape(), symbols);
      shaped[i] = true;
    } else if (auto given = req.shapes.find(d.name); given != req.shapes.end()) {
      KILN_RETURN_IF_ERROR(check_against_model(d, given->second, "--shapes: input '" + d.name + "'", "--shapes gives"));
      bind_symbols(d, given->second, symbols);
    }
  }
  for (size_t i = 0; i < model_inputs.size(); ++i) {
    if (shaped[i]) continue;
    const TensorDesc& d = model_inputs[i];
    Shape shape;
    if (auto given = req.shapes.find(d.name); given != req.shapes.end()) {
      shape = given->second;
    } else {
      KILN_ASSIGN_OR_RETURN(shape, default_shape(d, symbols));
      // Later inputs that share a symbolic dim follow this choice, so they stay consistent.
      bind_symbols(d, shape, symbols);
    }
    std::optional<ValueRange> range = req.ranges.all;
    if (auto r = req.ranges.by_input.find(d.name); r != req.ranges.by_input.end()) range = r->second;
    if (d.dtype == DType::kBool) range.reset();
    KILN_ASSIGN_OR_RETURN(out[i].tensor, generate_input(d.name, d.dtype, shape, range));
    out[i].origin = "generated, " + describe_generated(d.dtype, range);
  }
  return out;
}

}  // namespace kiln::cli
