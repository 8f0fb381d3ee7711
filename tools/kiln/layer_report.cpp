#include "layer_report.h"

#include "json_util.h"
#include "log.h"

namespace kiln::cli {
namespace {

std::string tensors_text(const std::vector<std::string>& names, const std::vector<std::string>& shapes) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) s += ", ";
    s += names[i] + "[" + (i < shapes.size() ? shapes[i] : std::string("?")) + "]";
  }
  return s.empty() ? "(none)" : s;
}

std::string tensors_json(const std::vector<std::string>& names, const std::vector<std::string>& shapes) {
  std::string s = "[";
  for (size_t i = 0; i < names.size(); ++i) {
    s += std::string(i ? ", " : "") + "{\"Name\": " + json_string(names[i]) +
         ", \"Dimensions\": " + json_string(i < shapes.size() ? shapes[i] : "?") + "}";
  }
  return s + "]";
}

std::string strings_json(const std::vector<std::string>& items) {
  std::string s = "[";
  for (size_t i = 0; i < items.size(); ++i) s += std::string(i ? ", " : "") + json_string(items[i]);
  return s + "]";
}

}  // namespace

void print_layer_info(const Engine& engine) {
  const std::vector<LayerInfo> layers = engine.layer_info();
  log_info("Layer information (" + std::to_string(layers.size()) + " layers, in execution order):");
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerInfo& l = layers[i];
    log_info("Layer " + std::to_string(i) + ": " + l.name + " (" + l.type + ") " +
             tensors_text(l.inputs, l.input_shapes) + " -> " + tensors_text(l.outputs, l.output_shapes) + " | " +
             (l.precision.empty() ? std::string("-") : l.precision) + " | " + l.implementation);
  }
}

Status export_layer_info(const std::string& path, const Engine& engine) {
  std::string out = "{\n\"Layers\": [";
  const std::vector<LayerInfo> layers = engine.layer_info();
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerInfo& l = layers[i];
    out += std::string(i ? ",\n" : "\n") + "  {\"Name\": " + json_string(l.name) +
           ", \"LayerType\": " + json_string(l.type) + ", \"SourceNodes\": " + strings_json(l.source_nodes) +
           ", \"Inputs\": " + tensors_json(l.inputs, l.input_shapes) +
           ", \"Outputs\": " + tensors_json(l.outputs, l.output_shapes) +
           ", \"Precision\": " + json_string(l.precision) + ", \"Implementation\": " + json_string(l.implementation) +
           "}";
  }
  std::vector<std::string> bindings;
  for (const TensorDesc& d : engine.inputs()) bindings.push_back(d.name);
  for (const TensorDesc& d : engine.outputs()) bindings.push_back(d.name);
  out += "\n],\n\"Bindings\": " + strings_json(bindings) + "\n}\n";
  return write_file_atomically(path, out).with_context("--exportLayerInfo");
}

}  // namespace kiln::cli
