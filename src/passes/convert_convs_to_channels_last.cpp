// 2-D convolutions run channels-last (NHWC) end to end when that is oneDNN's own layout
// for them on this CPU (AVX-512 brgemm kernels): each Conv/FusedConv becomes a FusedConv
// with channels_last=1, reading X and the residual R and writing Y as [N, H, W, C], and
// kiln::Reorder nodes convert at the edges of such chains only (graph inputs, pooling,
// anything else that reads NCHW). Without this each convolution reorders its input and
// output itself: about half the time of a ResNet-50 1x1 convolution.
#include <map>
#include <optional>
#include <string>

#include "ir/graph_edit.h"
#include "ir/verifier.h"
#include "passes/fusion_util.h"
#include "passes/pass.h"

namespace kiln {
namespace {

constexpr size_t kResidualInput = 3;

bool rank4_float(const Graph& graph, int value) {
  if (value == kNoValue) return false;
  const TypeInfo& t = graph.values[value].type;
  return t.dtype == DType::kFloat32 && t.shape && t.shape->size() == 4;
}

bool convertible(const Graph& graph, const Node& node) {
  const bool conv = node.op_type == "Conv" && node.domain.empty();
  const bool fused = node.op_type == "FusedConv" && node.domain == "kiln" && !node.find_attribute("channels_last");
  if (!(conv || fused) || node.inputs.size() < 2 || node.outputs.size() != 1) return false;
  if (!rank4_float(graph, node.inputs[0]) || !rank4_float(graph, node.outputs[0])) return false;
  return node.inputs.size() <= kResidualInput || node.inputs[kResidualInput] == kNoValue ||
         rank4_float(graph, node.inputs[kResidualInput]);
}

// A 2-D pool that kiln::ChannelsLastPool runs on NHWC (oneDNN's pooling), as the
// attributes it takes; nullopt for anything else. Average pools whose ceil_mode window
// overhang would count as padding are left alone: ONNX and oneDNN count those differently.
std::optional<std::map<std::string, Attribute>> channels_last_pool(const Graph& graph, const Node& node) {
  if (!node.domain.empty() || node.inputs.size() != 1 || node.outputs.size() != 1) return std::nullopt;
  if (!rank4_float(graph, node.inputs[0]) || !rank4_float(graph, node.outputs[0])) return std::nullopt;
  const bool global = node.op_type == "GlobalAveragePool" || node.op_type == "GlobalMaxPool";
  const bool max = node.op_type == "MaxPool" || node.op_type == "GlobalMaxPool";
  if (!global && node.op_type != "MaxPool" && node.op_type != "AveragePool") return std::nullopt;
  std::map<std::string, Attribute> attrs = node.attributes;
  if (!global) {
    const Attribute* kernel = node.find_attribute("kernel_shape");
    if (!kernel || kernel->ints.size() != 2) return std::nullopt;
    if (const Attribute* d = node.find_attribute("dilations")) {
      for (int64_t v : d->ints) {
        if (v != 1) return std::nullopt;
      }
    }
    const Attribute* ceil = node.find_attribute("ceil_mode");
    const Attribute* include = node.find_attribute("count_include_pad");
    if (!max && ceil && ceil->i != 0 && include && include->i != 0) return std::nullopt;
  }
  Attribute mode;
  mode.kind = Attribute::Kind::kString;
  mode.s = max ? "max" : "avg";
  attrs["mode"] = mode;
  Attribute is_global;
  is_global.kind = Attribute::Kind::kInt;
  is_global.i = global ? 1 : 0;
  attrs["global"] = is_global;
  attrs.erase("storage_order");  // only shapes MaxPool's Indices output, which is absent
  return attrs;
}

// Whether `slot` of `node` reads channels-last data once the pass is done.
bool reads_channels_last(const std::vector<bool>& convert, int node, size_t slot) {
  return convert[node] && (slot == 0 || slot == kResidualInput);
}

class ChannelsLastRewrite {
 public:
  explicit ChannelsLastRewrite(Graph& graph) : graph_(graph), twin_(graph.values.size(), kNoValue) {}

  // Rebuilds the node list in schedule order with the converted convs and the reorders.
  Status run(const std::vector<bool>& convert) {
    KILN_ASSIGN_OR_RETURN(std::vector<int> order, topological_order(graph_));
    const auto consumers = value_consumers(graph_);
    for (int n : order) {
      Node node = graph_.nodes[n];
      if (!convert[n]) {
        nodes_.push_back(std::move(node));
        continue;
      }
      auto pool = channels_last_pool(graph_, node);  // before the twins, which have no types yet
      for (size_t slot : {size_t{0}, kResidualInput}) {
        if (slot < node.inputs.size() && node.inputs[slot] != kNoValue) node.inputs[slot] = channels_last(node.inputs[slot]);
      }
      const int out = node.outputs[0];
      twin_[out] = new_value(graph_.values[out].name + "_nhwc");
      node.outputs[0] = twin_[out];
      if (pool) {
        node.op_type = "ChannelsLastPool";
        node.attributes = std::move(*pool);
      } else {
        node.op_type = "FusedConv";
        Attribute flag;
        flag.kind = Attribute::Kind::kInt;
        flag.i = 1;
        node.attributes["channels_last"] = flag;
      }
      node.domain = "kiln";
      nodes_.push_back(std::move(node));
      if (needs_channels_first(convert, consumers, out)) add_reorder(twin_[out], out, "channels_first");
    }
    graph_.nodes = std::move(nodes_);
    graph_.opsets["kiln"] = 1;
    compact(graph_, std::vector<bool>(graph_.nodes.size(), false));  // renumbers producers
    return Status::ok();
  }

 private:
  bool needs_channels_first(const std::vector<bool>& convert, const std::vector<std::vector<int>>& consumers,
                            int value) const {
    if (is_graph_output(graph_, value)) return true;
    for (int c : consumers[value]) {
      const Node& reader = graph_.nodes[c];
      for (size_t slot = 0; slot < reader.inputs.size(); ++slot) {
        if (reader.inputs[slot] == value && !reads_channels_last(convert, c, slot)) return true;
      }
    }
    return false;
  }

  // The channels-last copy of `value`, made by a Reorder the first time it is asked for.
  int channels_last(int value) {
    if (twin_[value] == kNoValue) {
      twin_[value] = new_value(graph_.values[value].name + "_nhwc");
      add_reorder(value, twin_[value], "channels_last");
    }
    return twin_[value];
  }

  int new_value(const std::string& base) {
    int id = graph_.add_value(base);
    for (int k = 1; id < 0; ++k) id = graph_.add_value(base + "_" + std::to_string(k));
    twin_.push_back(kNoValue);
    return id;
  }

  void add_reorder(int from, int to, const std::string& layout) {
    Node reorder;
    reorder.name = graph_.values[to].name + "/Reorder";
    reorder.op_type = "Reorder";
    reorder.domain = "kiln";
    reorder.inputs = {from};
    reorder.outputs = {to};
    Attribute a;
    a.kind = Attribute::Kind::kString;
    a.s = layout;
    reorder.attributes["to"] = a;
    nodes_.push_back(std::move(reorder));
  }

  Graph& graph_;
  std::vector<int> twin_;  // per value: its channels-last copy, kNoValue if none
  std::vector<Node> nodes_;
};

}  // namespace

Result<bool> convert_convs_to_channels_last(Graph& graph, PassContext& ctx) {
  std::vector<bool> convert(graph.nodes.size(), false);
  bool any = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    convert[n] = convertible(graph, graph.nodes[n]);
    any |= convert[n];
  }
  if (!any || !ctx.backend.prefers_channels_last_convolutions()) return false;
  // Pools join a chain they touch (a pool between NCHW ops would only add two Reorders);
  // a pool between two pools joins once one of them has.
  const auto readers = value_consumers(graph);
  for (bool grew = true; grew;) {
    grew = false;
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      const Node& node = graph.nodes[n];
      if (convert[n] || !channels_last_pool(graph, node)) continue;
      const int producer = graph.values[node.inputs[0]].producer;
      bool touches = producer >= 0 && convert[producer];
      for (int r : readers[node.outputs[0]]) touches = touches || convert[r];
      if (touches) convert[n] = grew = true;
    }
  }
  ChannelsLastRewrite rewrite(graph);
  KILN_RETURN_IF_ERROR(rewrite.run(convert));
  return true;
}

}  // namespace kiln
