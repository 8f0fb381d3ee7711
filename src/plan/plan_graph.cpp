#include "plan/plan_graph.h"

#include "plan/plan_format.h"

namespace kiln {
namespace {

// Attribute::Kind and planpb::Attribute::Kind list the kinds in the same order.
static_assert(static_cast<int>(Attribute::Kind::kOther) == planpb::Attribute::OTHER);
static_assert(static_cast<int>(Attribute::Kind::kTensors) == planpb::Attribute::TENSORS);

void type_to_proto(const TypeInfo& t, planpb::TypeInfo* out) {
  out->set_dtype(static_cast<int32_t>(t.dtype));
  out->set_has_shape(t.shape.has_value());
  if (!t.shape) return;
  for (const Dim& d : *t.shape) {
    planpb::Dim* pd = out->add_dims();
    pd->set_value(d.known() ? d.value : -1);
    pd->set_symbol(d.symbol);
  }
}

Status attribute_to_proto(const std::string& name, const Attribute& a, const std::string& what,
                          WeightsLayout& weights, planpb::Attribute* out) {
  out->set_name(name);
  out->set_kind(static_cast<planpb::Attribute::Kind>(a.kind));
  out->set_f(a.f);
  out->set_i(a.i);
  out->set_s(a.s);
  if (a.t.defined()) KILN_RETURN_IF_ERROR(weights.add(a.t, what, out->mutable_t()));
  for (float f : a.floats) out->add_floats(f);
  for (int64_t i : a.ints) out->add_ints(i);
  for (const std::string& s : a.strings) out->add_strings(s);
  for (const Tensor& t : a.tensors) KILN_RETURN_IF_ERROR(weights.add(t, what, out->add_tensors()));
  if (a.g) KILN_RETURN_IF_ERROR(graph_to_proto(*a.g, weights, out->mutable_g()));
  return Status::ok();
}

void shapes_to_proto(const std::map<std::string, Shape>& shapes,
                     google::protobuf::RepeatedPtrField<planpb::NamedShape>* out) {
  for (const auto& [name, shape] : shapes) {
    planpb::NamedShape* s = out->Add();
    s->set_input(name);
    for (int64_t d : shape) s->add_dims(d);
  }
}

// --- reading ---

std::string value_text(const planpb::Graph& g, int id) {
  return "value " + std::to_string(id) + " ('" + g.values(id).name() + "')";
}

Result<TypeInfo> type_from_proto(const planpb::TypeInfo& p, const std::string& what) {
  TypeInfo t;
  if (p.dtype() < 0 || p.dtype() > kLastKnownDType) {
    return invalid_model(what + ": unknown dtype " + std::to_string(p.dtype()));
  }
  t.dtype = static_cast<DType>(p.dtype());
  if (!p.has_shape()) {
    if (p.dims_size()) return invalid_model(what + ": dims given without a shape");
    return t;
  }
  SymShape shape;
  for (const planpb::Dim& d : p.dims()) {
    if (d.value() < -1) return invalid_model(what + ": dim " + std::to_string(d.value()));
    Dim dim = d.value() >= 0 ? Dim(d.value()) : Dim::unknown();
    dim.symbol = d.symbol();
    shape.push_back(std::move(dim));
  }
  t.shape = std::move(shape);
  return t;
}

Result<Tensor> tensor_from_proto(const planpb::TensorRef& r, const WeightsView& w, const std::string& what) {
  const DType dtype = static_cast<DType>(r.dtype());
  if (r.dtype() <= 0 || r.dtype() > kLastKnownDType || !is_supported_dtype(dtype) || dtype_size(dtype) == 0) {
    return invalid_model(what + ": tensor dtype " + dtype_name_of(r.dtype()) + " cannot be held in a plan");
  }
  Shape shape(r.dims().begin(), r.dims().end());
  Result<int64_t> numel = checked_numel(shape);
  if (!numel.is_ok()) return numel.status().with_context(what);
  const uint64_t elem = dtype_size(dtype);
  if (static_cast<uint64_t>(*numel) > static_cast<uint64_t>(Tensor::kMaxTensorBytes) / elem ||
      static_cast<uint64_t>(*numel) * elem != r.size()) {
    return invalid_model(what + ": tensor of " + dtype_name(dtype) + " " + shape_to_string(shape) + " recorded as " +
                         std::to_string(r.size()) + " bytes");
  }
  if (r.offset() % kPlanAlignment != 0 || r.offset() > w.size || r.size() > w.size - r.offset()) {
    return invalid_model(what + ": tensor bytes [" + std::to_string(r.offset()) + ", +" + std::to_string(r.size()) +
                         ") are not a 64-byte-aligned range of the " + std::to_string(w.size) +
                         "-byte weights section");
  }
  // The mapping is read-only: kernels only read constants, and a write would fault
  // rather than silently change the weights every later run sees.
  void* data = const_cast<uint8_t*>(w.data + r.offset());
  return Tensor::wrap(dtype, shape, data, w.keep_alive);
}

Result<Attribute> attribute_from_proto(const planpb::Attribute& p, const WeightsView& w, const std::string& what) {
  Attribute a;
  if (!planpb::Attribute::Kind_IsValid(p.kind())) {
    return invalid_model(what + ": unknown attribute kind " + std::to_string(p.kind()));
  }
  a.kind = static_cast<Attribute::Kind>(p.kind());
  a.f = p.f();
  a.i = p.i();
  a.s = p.s();
  if (p.has_t()) {
    KILN_ASSIGN_OR_RETURN(a.t, tensor_from_proto(p.t(), w, what));
  }
  a.floats.assign(p.floats().begin(), p.floats().end());
  a.ints.assign(p.ints().begin(), p.ints().end());
  a.strings.assign(p.strings().begin(), p.strings().end());
  for (const planpb::TensorRef& r : p.tensors()) {
    KILN_ASSIGN_OR_RETURN(Tensor t, tensor_from_proto(r, w, what));
    a.tensors.push_back(std::move(t));
  }
  if (p.has_g()) {
    KILN_ASSIGN_OR_RETURN(Graph g, graph_from_proto(p.g(), w, what + " subgraph"));
    a.g = std::make_shared<Graph>(std::move(g));
  }
  return a;
}

Result<std::map<std::string, Shape>> shapes_from_proto(
    const google::protobuf::RepeatedPtrField<planpb::NamedShape>& p, const std::string& what) {
  std::map<std::string, Shape> shapes;
  for (const planpb::NamedShape& s : p) {
    Shape shape(s.dims().begin(), s.dims().end());
    if (!shapes.emplace(s.input(), std::move(shape)).second) {
      return invalid_model(what + ": input '" + s.input() + "' is listed twice");
    }
  }
  return shapes;
}

}  // namespace

Status WeightsLayout::add(const Tensor& t, const std::string& what, planpb::TensorRef* ref) {
  if (!is_supported_dtype(t.dtype()) || dtype_size(t.dtype()) == 0) {
    return unsupported(what + ": a " + dtype_name(t.dtype()) + " tensor cannot be stored in a plan");
  }
  ref->set_dtype(static_cast<int32_t>(t.dtype()));
  for (int64_t d : t.shape()) ref->add_dims(d);
  const uint64_t size = t.nbytes();
  ref->set_size(size);
  auto [it, inserted] = placed_.emplace(std::make_pair(t.raw(), size), 0);
  if (inserted) {
    it->second = align_up(size_, kPlanAlignment);
    if (size) blobs_.push_back({t.raw(), size, it->second});
    size_ = it->second + size;
  }
  ref->set_offset(it->second);
  return Status::ok();
}

Status graph_to_proto(const Graph& graph, WeightsLayout& weights, planpb::Graph* out) {
  out->set_name(graph.name);
  out->set_ir_version(graph.ir_version);
  for (const auto& [domain, version] : graph.opsets) {
    planpb::Opset* o = out->add_opsets();
    o->set_domain(domain);
    o->set_version(version);
  }
  for (const Value& v : graph.values) {
    planpb::Value* pv = out->add_values();
    pv->set_name(v.name);
    pv->set_producer(v.producer);
    type_to_proto(v.type, pv->mutable_type());
    if (v.is_constant()) KILN_RETURN_IF_ERROR(weights.add(v.constant, "constant '" + v.name + "'", pv->mutable_constant()));
  }
  for (const Node& n : graph.nodes) {
    planpb::Node* pn = out->add_nodes();
    pn->set_name(n.name);
    pn->set_op_type(n.op_type);
    pn->set_domain(n.domain);
    for (int i : n.inputs) pn->add_inputs(i);
    for (int o : n.outputs) pn->add_outputs(o);
    for (const auto& [name, attr] : n.attributes) {
      KILN_RETURN_IF_ERROR(
          attribute_to_proto(name, attr, n.describe() + " attribute '" + name + "'", weights, pn->add_attributes()));
    }
  }
  for (int i : graph.inputs) out->add_inputs(i);
  for (int o : graph.outputs) out->add_outputs(o);
  return Status::ok();
}

void build_options_to_proto(const BuildOptions& options, planpb::BuildOptions* out) {
  for (const ShapeProfile& p : options.profiles) {
    planpb::ShapeProfile* pp = out->add_profiles();
    shapes_to_proto(p.min, pp->mutable_min());
    shapes_to_proto(p.opt, pp->mutable_opt());
    shapes_to_proto(p.max, pp->mutable_max());
  }
  for (const std::string& pass : options.disabled_passes) out->add_disabled_passes(pass);
  out->set_workspace_limit_bytes(options.workspace_limit_bytes);
}

Result<Graph> graph_from_proto(const planpb::Graph& p, const WeightsView& w, const std::string& where) {
  Graph g;
  g.name = p.name();
  g.ir_version = p.ir_version();
  for (const planpb::Opset& o : p.opsets()) g.opsets[o.domain()] = o.version();
  const int num_values = p.values_size();
  const int num_nodes = p.nodes_size();
  for (int id = 0; id < num_values; ++id) {
    const planpb::Value& pv = p.values(id);
    const std::string what = where + ": " + value_text(p, id);
    if (g.add_value(pv.name()) != id) return invalid_model(what + ": the name is used twice");
    Value& v = g.values[id];
    KILN_ASSIGN_OR_RETURN(v.type, type_from_proto(pv.type(), what));
    if (pv.has_constant()) {
      KILN_ASSIGN_OR_RETURN(v.constant, tensor_from_proto(pv.constant(), w, what));
    }
    if (pv.producer() < -1 || pv.producer() >= num_nodes) {
      return invalid_model(what + ": producer node " + std::to_string(pv.producer()) + " does not exist");
    }
    v.producer = pv.producer();
  }
  auto check_id = [&](int id, bool optional, const std::string& what) {
    if ((optional && id == kNoValue) || (id >= 0 && id < num_values)) return Status::ok();
    return invalid_model(what + " refers to value " + std::to_string(id) + ", but the graph has " +
                         std::to_string(num_values) + " values");
  };
  for (const planpb::Node& pn : p.nodes()) {
    Node n;
    n.name = pn.name();
    n.op_type = pn.op_type();
    n.domain = pn.domain();
    const std::string what = where + ": " + n.describe();
    for (int i : pn.inputs()) {
      KILN_RETURN_IF_ERROR(check_id(i, true, what + " input"));
      n.inputs.push_back(i);
    }
    for (int o : pn.outputs()) {
      KILN_RETURN_IF_ERROR(check_id(o, true, what + " output"));
      n.outputs.push_back(o);
    }
    for (const planpb::Attribute& pa : pn.attributes()) {
      KILN_ASSIGN_OR_RETURN(Attribute a, attribute_from_proto(pa, w, what + " attribute '" + pa.name() + "'"));
      if (!n.attributes.emplace(pa.name(), std::move(a)).second) {
        return invalid_model(what + ": attribute '" + pa.name() + "' is listed twice");
      }
    }
    g.nodes.push_back(std::move(n));
  }
  for (int i : p.inputs()) {
    KILN_RETURN_IF_ERROR(check_id(i, false, where + ": graph input"));
    g.inputs.push_back(i);
  }
  for (int o : p.outputs()) {
    KILN_RETURN_IF_ERROR(check_id(o, false, where + ": graph output"));
    g.outputs.push_back(o);
  }
  return g;
}

Status packed_weights_to_proto(const std::vector<std::vector<PackedWeight>>& per_node, WeightsLayout& weights,
                               google::protobuf::RepeatedPtrField<planpb::PackedWeight>* out) {
  for (size_t n = 0; n < per_node.size(); ++n) {
    for (const PackedWeight& w : per_node[n]) {
      if (w.layout.empty() || !w.data.defined()) continue;
      planpb::PackedWeight* p = out->Add();
      p->set_node(static_cast<int32_t>(n));
      p->set_input(static_cast<int32_t>(w.input));
      p->set_layout(w.layout);
      KILN_RETURN_IF_ERROR(weights.add(w.data, "packed weights of node " + std::to_string(n), p->mutable_data()));
    }
  }
  return Status::ok();
}

Result<std::vector<std::vector<PackedWeight>>> packed_weights_from_proto(
    const google::protobuf::RepeatedPtrField<planpb::PackedWeight>& proto, const Graph& graph,
    const WeightsView& weights, const std::string& where) {
  std::vector<std::vector<PackedWeight>> per_node;
  if (proto.empty()) return per_node;
  per_node.resize(graph.nodes.size());
  for (int i = 0; i < proto.size(); ++i) {
    const planpb::PackedWeight& p = proto.Get(i);
    const std::string what = where + ": packed weight " + std::to_string(i);
    if (p.node() < 0 || static_cast<size_t>(p.node()) >= graph.nodes.size()) {
      return invalid_model(what + ": node " + std::to_string(p.node()) + " does not exist (the graph has " +
                           std::to_string(graph.nodes.size()) + " nodes)");
    }
    const Node& node = graph.nodes[p.node()];
    if (p.input() < 0 || static_cast<size_t>(p.input()) >= node.inputs.size() ||
        node.inputs[p.input()] == kNoValue || !graph.values[node.inputs[p.input()]].is_constant()) {
      return invalid_model(what + ": " + node.describe() + " has no constant input " + std::to_string(p.input()));
    }
    if (p.layout().empty()) return invalid_model(what + ": no layout");
    KILN_ASSIGN_OR_RETURN(Tensor data, tensor_from_proto(p.data(), weights, what));
    if (data.dtype() != DType::kUInt8 || data.rank() != 1) {
      return invalid_model(what + ": the packed bytes are recorded as " + dtype_name(data.dtype()) + " " +
                           shape_to_string(data.shape()) + ", expected uint8 [n]");
    }
    PackedWeight w;
    w.input = static_cast<size_t>(p.input());
    w.layout = p.layout();
    w.data = std::move(data);
    w.from_plan = true;
    per_node[p.node()].push_back(std::move(w));
  }
  return per_node;
}

Result<BuildOptions> build_options_from_proto(const planpb::BuildOptions& p, const std::string& where) {
  BuildOptions o;
  for (int i = 0; i < p.profiles_size(); ++i) {
    const planpb::ShapeProfile& pp = p.profiles(i);
    const std::string what = where + ": profile " + std::to_string(i);
    ShapeProfile profile;
    KILN_ASSIGN_OR_RETURN(profile.min, shapes_from_proto(pp.min(), what + " min shapes"));
    KILN_ASSIGN_OR_RETURN(profile.opt, shapes_from_proto(pp.opt(), what + " opt shapes"));
    KILN_ASSIGN_OR_RETURN(profile.max, shapes_from_proto(pp.max(), what + " max shapes"));
    o.profiles.push_back(std::move(profile));
  }
  o.disabled_passes.assign(p.disabled_passes().begin(), p.disabled_passes().end());
  if (p.workspace_limit_bytes() < 0) {
    return invalid_model(where + ": negative workspace limit " + std::to_string(p.workspace_limit_bytes()));
  }
  o.workspace_limit_bytes = p.workspace_limit_bytes();
  return o;
}

}  // namespace kiln
