// The IR: a graph of nodes over values. Values are numbered; nodes refer to them by id.
// The importer builds it from ONNX, the verifier checks it, shape inference annotates it,
// and the executor schedules it. It carries no kernels: backends attach those.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/sym_shape.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln {

struct Graph;

struct Attribute {
  enum class Kind { kFloat, kInt, kString, kTensor, kGraph, kFloats, kInts, kStrings, kTensors, kOther };
  Kind kind = Kind::kOther;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::shared_ptr<Graph> g;
};

constexpr int kNoValue = -1;  // an omitted optional input or output

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" for the default ONNX domain
  std::vector<int> inputs;
  std::vector<int> outputs;
  std::map<std::string, Attribute> attributes;

  // "node 'name' (OpType)", the prefix of every error about this node.
  std::string describe() const;
  const Attribute* find_attribute(const std::string& name) const;
};

struct Value {
  std::string name;
  TypeInfo type;
  Tensor constant;   // set for initializers and folded constants
  int producer = -1; // index of the producing node, -1 for graph inputs and constants
  bool is_constant() const { return constant.defined(); }
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<Value> values;
  std::vector<int> inputs;   // graph inputs (not initializers)
  std::vector<int> outputs;
  std::map<std::string, int64_t> opsets;  // domain -> version ("" is ai.onnx)
  int64_t ir_version = 0;
  std::string source_path;   // the model file, for messages

  int64_t opset(const std::string& domain = "") const {
    auto it = opsets.find(domain);
    return it == opsets.end() ? 0 : it->second;
  }
  // Adds a value; fails (returns -1) when the name is taken, since ONNX is SSA.
  int add_value(const std::string& name);
  int find_value(const std::string& name) const;  // -1 when absent

 private:
  std::unordered_map<std::string, int> value_index_;
};

}  // namespace kiln
