#include "onnx/model_importer.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "onnx/onnx.pb.h"
#include "onnx/tensor_proto.h"

namespace kiln {
namespace {

// Protobuf's hard limit for one message; larger models must use external data.
constexpr uint64_t kMaxModelBytes = (uint64_t{2} << 30) - 1;

Result<TypeInfo> import_type(const onnx::TypeProto& type, const std::string& where) {
  if (!type.has_tensor_type()) {
    return unsupported(where + ": only tensor types are supported (sequence, map, optional and "
                               "sparse values are not)");
  }
  const auto& tt = type.tensor_type();
  TypeInfo info;
  const int32_t elem = tt.elem_type();
  if (elem != 0 && !is_known_dtype(elem)) {
    return unsupported(where + ": element type " + std::to_string(elem) + " is not known to kiln");
  }
  info.dtype = static_cast<DType>(elem);
  if (tt.has_shape()) {
    SymShape shape;
    for (const auto& d : tt.shape().dim()) {
      if (d.has_dim_value()) {
        if (d.dim_value() < 0) {
          return invalid_model(where + ": negative dim " + std::to_string(d.dim_value()));
        }
        shape.push_back(Dim(d.dim_value()));
      } else if (d.has_dim_param() && !d.dim_param().empty()) {
        shape.push_back(Dim::symbolic(d.dim_param()));
      } else {
        shape.push_back(Dim::unknown());
      }
    }
    info.shape = std::move(shape);
  }
  return info;
}

Result<Attribute> import_attribute(const onnx::AttributeProto& a, const std::string& model_dir,
                                   const std::string& where) {
  Attribute out;
  using AP = onnx::AttributeProto;
  AP::AttributeType type = a.type();
  if (type == AP::UNDEFINED) {  // very old models leave the type out: use the set field
    if (a.has_f()) type = AP::FLOAT;
    else if (a.has_i()) type = AP::INT;
    else if (a.has_s()) type = AP::STRING;
    else if (a.has_t()) type = AP::TENSOR;
    else if (a.has_g()) type = AP::GRAPH;
    else if (a.floats_size()) type = AP::FLOATS;
    else if (a.ints_size()) type = AP::INTS;
    else if (a.strings_size()) type = AP::STRINGS;
  }
  switch (type) {
    case AP::FLOAT: out.kind = Attribute::Kind::kFloat; out.f = a.f(); break;
    case AP::INT: out.kind = Attribute::Kind::kInt; out.i = a.i(); break;
    case AP::STRING: out.kind = Attribute::Kind::kString; out.s = a.s(); break;
    case AP::FLOATS:
      out.kind = Attribute::Kind::kFloats;
      out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case AP::INTS:
      out.kind = Attribute::Kind::kInts;
      out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case AP::STRINGS:
      out.kind = Attribute::Kind::kStrings;
      out.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case AP::TENSOR: {
      out.kind = Attribute::Kind::kTensor;
      Result<Tensor> t = tensor_from_proto(a.t(), model_dir);
      if (!t.is_ok()) return t.status().with_context(where + " attribute '" + a.name() + "'");
      out.t = std::move(t).value();
      break;
    }
    case AP::TENSORS:
      out.kind = Attribute::Kind::kTensors;
      for (const auto& tp : a.tensors()) {
        Result<Tensor> t = tensor_from_proto(tp, model_dir);
        if (!t.is_ok()) return t.status().with_context(where + " attribute '" + a.name() + "'");
        out.tensors.push_back(std::move(t).value());
      }
      break;
    case AP::GRAPH: out.kind = Attribute::Kind::kGraph; break;  // subgraph ops are not supported yet
    default: out.kind = Attribute::Kind::kOther; break;
  }
  return out;
}

Status import_graph(const onnx::GraphProto& g, const std::string& model_dir, Graph& graph) {
  graph.name = g.name();
  // Initializers first: they are constants, and in IR < 4 they may also be listed as inputs.
  for (const auto& init : g.initializer()) {
    Result<Tensor> t = tensor_from_proto(init, model_dir);
    if (!t.is_ok()) return t.status().with_context("initializer");
    const int id = graph.add_value(init.name());
    if (id < 0) return invalid_model("initializer '" + init.name() + "' is defined twice");
    Value& v = graph.values[id];
    v.constant = std::move(t).value();
    v.type.dtype = v.constant.dtype();
    v.type.shape = to_sym_shape(v.constant.shape());
  }
  if (g.sparse_initializer_size()) return unsupported("sparse initializers are not supported");
  for (const auto& in : g.input()) {
    const int existing = graph.find_value(in.name());
    // An initializer listed as input is a constant here; any other repeat is an error below.
    if (existing >= 0 && graph.values[existing].is_constant()) continue;
    KILN_ASSIGN_OR_RETURN(TypeInfo type, import_type(in.type(), "graph input '" + in.name() + "'"));
    if (!is_supported_dtype(type.dtype)) {
      return unsupported("graph input '" + in.name() + "' has dtype " + dtype_name(type.dtype) +
                         ", which kiln does not support");
    }
    const int id = graph.add_value(in.name());
    if (id < 0) return invalid_model("graph input '" + in.name() + "' is defined twice");
    graph.values[id].type = std::move(type);
    graph.inputs.push_back(id);
  }
  std::map<std::string, TypeInfo> declared;  // value_info and outputs: types to check against later
  for (const auto& vi : g.value_info()) {
    Result<TypeInfo> t = import_type(vi.type(), "value_info '" + vi.name() + "'");
    if (t.is_ok()) declared[vi.name()] = std::move(t).value();
  }
  for (int n = 0; n < g.node_size(); ++n) {
    const auto& np = g.node(n);
    Node node;
    node.name = np.name().empty() ? np.op_type() + "_" + std::to_string(n) : np.name();
    node.op_type = np.op_type();
    node.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    for (const auto& a : np.attribute()) {
      if (!a.ref_attr_name().empty()) return unsupported(node.describe() + ": attribute references are not supported");
      KILN_ASSIGN_OR_RETURN(Attribute attr, import_attribute(a, model_dir, node.describe()));
      node.attributes[a.name()] = std::move(attr);
    }
    // Input ids are resolved after all outputs exist, since ONNX files are not always sorted.
    for (const auto& out : np.output()) {
      if (out.empty()) {
        node.outputs.push_back(kNoValue);
        continue;
      }
      const int id = graph.add_value(out);
      if (id < 0) return invalid_model(node.describe() + ": output '" + out + "' is already defined elsewhere");
      graph.values[id].producer = n;
      node.outputs.push_back(id);
    }
    graph.nodes.push_back(std::move(node));
  }
  for (int n = 0; n < g.node_size(); ++n) {
    Node& node = graph.nodes[n];
    for (const auto& in : g.node(n).input()) {
      if (in.empty()) {
        node.inputs.push_back(kNoValue);
        continue;
      }
      const int id = graph.find_value(in);
      if (id < 0) {
        return invalid_model(node.describe() + ": input '" + in +
                             "' is not a graph input, an initializer or any node's output");
      }
      node.inputs.push_back(id);
    }
  }
  for (const auto& out : g.output()) {
    const int id = graph.find_value(out.name());
    if (id < 0) return invalid_model("graph output '" + out.name() + "' is not produced by the graph");
    Result<TypeInfo> t = import_type(out.type(), "graph output '" + out.name() + "'");
    if (!t.is_ok()) return t.status();
    if (graph.values[id].producer >= 0 && !graph.values[id].type.shape) graph.values[id].type = *t;
    graph.outputs.push_back(id);
  }
  for (auto& [name, type] : declared) {
    const int id = graph.find_value(name);
    if (id >= 0 && graph.values[id].producer >= 0 && graph.values[id].type.dtype == DType::kUndefined) {
      graph.values[id].type = type;
    }
  }
  return Status::ok();
}

}  // namespace

int64_t max_supported_ir_version() { return onnx::Version_MAX; }

Result<Graph> import_onnx_bytes(const std::string& bytes, const std::string& model_dir,
                                const std::string& source_name) {
  const std::string where = "model '" + source_name + "'";
  if (bytes.empty()) return invalid_model(where + ": the file is empty (0 bytes)");
  if (bytes.size() > kMaxModelBytes) {
    return invalid_model(where + ": larger than 2 GiB; store weights as external data");
  }
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    return invalid_model(where + ": not a valid ONNX model (protobuf parsing failed; the file is "
                                 "truncated, corrupted or not ONNX)");
  }
  if (!model.has_ir_version() || model.ir_version() <= 0) {
    return invalid_model(where + ": no IR version (not an ONNX model?)");
  }
  if (model.ir_version() > max_supported_ir_version()) {
    return unsupported(where + ": IR version " + std::to_string(model.ir_version()) +
                       " is newer than kiln supports (up to " + std::to_string(max_supported_ir_version()) + ")");
  }
  if (!model.has_graph()) return invalid_model(where + ": the model has no graph");
  if (model.functions_size()) return unsupported(where + ": model-local functions are not supported");
  Graph graph;
  graph.ir_version = model.ir_version();
  graph.source_path = source_name;
  for (const auto& op : model.opset_import()) {
    const std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
    graph.opsets[domain] = op.version();
  }
  if (graph.opsets.empty()) graph.opsets[""] = 1;  // IR < 3 models had no opset_import
  if (graph.opset("") > kMaxSupportedOpset) {
    return unsupported(where + ": opset " + std::to_string(graph.opset("")) + " is newer than kiln supports (up to " +
                       std::to_string(kMaxSupportedOpset) + ")");
  }
  Status s = import_graph(model.graph(), model_dir, graph);
  if (!s.is_ok()) return s.with_context(where);
  return graph;
}

Result<Graph> import_onnx_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found("model file '" + path + "' does not exist");
  if (fs::is_directory(path, ec)) return invalid_argument("'" + path + "' is a directory, not a model file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open model file '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return io_error("cannot read model file '" + path + "'");
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  return import_onnx_bytes(buffer.str(), dir, path);
}

}  // namespace kiln
