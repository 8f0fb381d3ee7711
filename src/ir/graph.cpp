#include "ir/graph.h"

namespace kiln {

std::string Node::describe() const {
  std::string s = "node '" + name + "' (" + op_type;
  if (!domain.empty()) s += ", domain " + domain;
  return s + ")";
}

const Attribute* Node::find_attribute(const std::string& attr_name) const {
  auto it = attributes.find(attr_name);
  return it == attributes.end() ? nullptr : &it->second;
}

int Graph::add_value(const std::string& value_name) {
  if (value_index_.count(value_name)) return -1;
  const int id = static_cast<int>(values.size());
  values.push_back(Value{value_name, {}, {}, -1});
  value_index_.emplace(value_name, id);
  return id;
}

int Graph::find_value(const std::string& value_name) const {
  auto it = value_index_.find(value_name);
  return it == value_index_.end() ? -1 : it->second;
}

}  // namespace kiln
