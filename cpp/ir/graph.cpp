#include "ir/graph.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>

#include "ir/errors.h"

namespace sf {

bool ValueInfo::shape_known() const {
  if (!has_shape) return false;
  for (const auto& d : dims)
    if (d.value < 0) return false;
  return true;
}

Shape ValueInfo::shape() const {
  Shape s;
  for (const auto& d : dims) s.push_back(d.value);
  return s;
}

void ValueInfo::set_shape(const Shape& s) {
  has_shape = true;
  dims.clear();
  for (auto v : s) dims.push_back(Dim{v, ""});
}

// ---- Node ------------------------------------------------------------------

const Attribute* Node::attr(const std::string& n) const {
  for (const auto& a : attrs)
    if (a.name == n) return &a;
  return nullptr;
}

std::string Node::label() const {
  return fmt::format("{} ({}{}{})", name.empty() ? "<unnamed>" : name, op_type, domain.empty() ? "" : ", ",
                     domain);
}

namespace {
const char* attr_type_name(AttrType t) {
  switch (t) {
    case AttrType::FLOAT: return "float";
    case AttrType::INT: return "int";
    case AttrType::STRING: return "string";
    case AttrType::TENSOR: return "tensor";
    case AttrType::GRAPH: return "graph";
    case AttrType::FLOATS: return "floats";
    case AttrType::INTS: return "ints";
    case AttrType::STRINGS: return "strings";
    case AttrType::TENSORS: return "tensors";
    default: return "other";
  }
}

const Attribute& need(const Node& n, const std::string& name, AttrType t) {
  const Attribute* a = n.attr(name);
  if (!a)
    throw ModelError(fmt::format("node {} has no attribute '{}'", n.label(), name),
                     fmt::format("add the {} attribute '{}' to the node", attr_type_name(t), name), n.name);
  return *a;
}

[[noreturn]] void wrong_type(const Node& n, const Attribute& a, AttrType want) {
  throw ModelError(fmt::format("attribute '{}' of node {} is {}, expected {}", a.name, n.label(),
                               attr_type_name(a.type), attr_type_name(want)),
                   "fix the attribute type in the exporter or the model", n.name);
}

Attribute& upsert(Node& n, const std::string& name, AttrType t) {
  for (auto& a : n.attrs)
    if (a.name == name) {
      a = Attribute{};
      a.name = name;
      a.type = t;
      return a;
    }
  n.attrs.push_back(Attribute{});
  n.attrs.back().name = name;
  n.attrs.back().type = t;
  return n.attrs.back();
}
}  // namespace

int64_t Node::get_int(const std::string& n) const {
  const Attribute& a = need(*this, n, AttrType::INT);
  if (a.type != AttrType::INT) wrong_type(*this, a, AttrType::INT);
  return a.i;
}
int64_t Node::get_int(const std::string& n, int64_t dflt) const { return has_attr(n) ? get_int(n) : dflt; }

float Node::get_float(const std::string& n) const {
  const Attribute& a = need(*this, n, AttrType::FLOAT);
  // An int where a float is expected is harmless (hand-written models do it).
  if (a.type == AttrType::INT) return (float)a.i;
  if (a.type != AttrType::FLOAT) wrong_type(*this, a, AttrType::FLOAT);
  return a.f;
}
float Node::get_float(const std::string& n, float dflt) const { return has_attr(n) ? get_float(n) : dflt; }

std::string Node::get_string(const std::string& n) const {
  const Attribute& a = need(*this, n, AttrType::STRING);
  if (a.type != AttrType::STRING) wrong_type(*this, a, AttrType::STRING);
  return a.s;
}
std::string Node::get_string(const std::string& n, const std::string& dflt) const {
  return has_attr(n) ? get_string(n) : dflt;
}

std::vector<int64_t> Node::get_ints(const std::string& n) const {
  const Attribute& a = need(*this, n, AttrType::INTS);
  if (a.type == AttrType::INT) return {a.i};
  if (a.type != AttrType::INTS) wrong_type(*this, a, AttrType::INTS);
  return a.ints;
}
std::vector<int64_t> Node::get_ints(const std::string& n, const std::vector<int64_t>& dflt) const {
  return has_attr(n) ? get_ints(n) : dflt;
}

std::vector<float> Node::get_floats(const std::string& n, const std::vector<float>& dflt) const {
  const Attribute* a = attr(n);
  if (!a) return dflt;
  if (a->type == AttrType::FLOAT) return {a->f};
  if (a->type != AttrType::FLOATS) wrong_type(*this, *a, AttrType::FLOATS);
  return a->floats;
}

const Tensor& Node::get_tensor(const std::string& n) const {
  const Attribute& a = need(*this, n, AttrType::TENSOR);
  if (a.type != AttrType::TENSOR) wrong_type(*this, a, AttrType::TENSOR);
  return a.t;
}

void Node::set_int(const std::string& n, int64_t v) { upsert(*this, n, AttrType::INT).i = v; }
void Node::set_float(const std::string& n, float v) { upsert(*this, n, AttrType::FLOAT).f = v; }
void Node::set_string(const std::string& n, const std::string& v) { upsert(*this, n, AttrType::STRING).s = v; }
void Node::set_ints(const std::string& n, const std::vector<int64_t>& v) { upsert(*this, n, AttrType::INTS).ints = v; }
void Node::set_floats(const std::string& n, const std::vector<float>& v) {
  upsert(*this, n, AttrType::FLOATS).floats = v;
}
void Node::set_tensor(const std::string& n, const Tensor& v) { upsert(*this, n, AttrType::TENSOR).t = v; }
void Node::remove_attr(const std::string& n) {
  attrs.erase(std::remove_if(attrs.begin(), attrs.end(), [&](const Attribute& a) { return a.name == n; }),
              attrs.end());
}

// ---- Graph -----------------------------------------------------------------

const Tensor* Graph::get_initializer(const std::string& name) const {
  for (const auto& [n, t] : initializers)
    if (n == name) return &t;
  return nullptr;
}

void Graph::set_initializer(const std::string& name, const Tensor& t) {
  for (auto& [n, v] : initializers)
    if (n == name) {
      v = t;
      return;
    }
  initializers.emplace_back(name, t);
}

bool Graph::remove_initializer(const std::string& name) {
  auto it = std::find_if(initializers.begin(), initializers.end(), [&](const auto& p) { return p.first == name; });
  if (it == initializers.end()) return false;
  initializers.erase(it);
  return true;
}

int Graph::find_producer(const std::string& tensor) const {
  if (tensor.empty()) return -1;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& o : nodes[i].outputs)
      if (o == tensor) return (int)i;
  return -1;
}

std::vector<int> Graph::find_consumers(const std::string& tensor) const {
  std::vector<int> r;
  if (tensor.empty()) return r;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& in : nodes[i].inputs)
      if (in == tensor) {
        r.push_back((int)i);
        break;
      }
  return r;
}

int Graph::find_node(const std::string& node_name) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == node_name) return (int)i;
  return -1;
}

const ValueInfo* Graph::find_value_info(const std::string& tensor) const {
  for (const auto* list : {&inputs, &outputs, &value_info})
    for (const auto& vi : *list)
      if (vi.name == tensor) return &vi;
  return nullptr;
}

ValueInfo* Graph::find_value_info(const std::string& tensor) {
  return const_cast<ValueInfo*>(static_cast<const Graph*>(this)->find_value_info(tensor));
}

std::vector<const ValueInfo*> Graph::runtime_inputs() const {
  std::vector<const ValueInfo*> r;
  for (const auto& vi : inputs)
    if (!get_initializer(vi.name)) r.push_back(&vi);
  return r;
}

std::string Graph::get_annotation(const std::string& tensor, const std::string& key) const {
  for (const auto& [t, kv] : quant_annotation)
    if (t == tensor)
      for (const auto& [k, v] : kv)
        if (k == key) return v;
  return "";
}

void Graph::set_annotation(const std::string& tensor, const std::string& key, const std::string& value) {
  for (auto& [t, kv] : quant_annotation)
    if (t == tensor) {
      for (auto& [k, v] : kv)
        if (k == key) {
          v = value;
          return;
        }
      kv.emplace_back(key, value);
      return;
    }
  quant_annotation.push_back({tensor, {{key, value}}});
}

void Graph::remove_annotation(const std::string& tensor, const std::string& key) {
  for (auto it = quant_annotation.begin(); it != quant_annotation.end(); ++it)
    if (it->first == tensor) {
      auto& kv = it->second;
      kv.erase(std::remove_if(kv.begin(), kv.end(), [&](const auto& p) { return p.first == key; }), kv.end());
      if (kv.empty()) quant_annotation.erase(it);
      return;
    }
}

DataType Graph::get_datatype(const std::string& tensor) const {
  std::string s = get_annotation(tensor, "finn_datatype");
  if (s.empty()) return DataType::float32();
  try {
    return DataType::from_name(s);
  } catch (const ModelError& e) {
    throw ModelError(fmt::format("tensor '{}' has finn_datatype '{}', which is not a QONNX datatype", tensor, s),
                     e.hint(), tensor);
  }
}

void Graph::set_datatype(const std::string& tensor, const DataType& dt) {
  set_annotation(tensor, "finn_datatype", dt.name());
}

std::vector<std::string> Graph::get_layout(const std::string& tensor) const {
  return parse_layout_string(get_annotation(tensor, "tensor_layout"));
}

void Graph::set_layout(const std::string& tensor, const std::vector<std::string>& layout) {
  if (layout.empty()) remove_annotation(tensor, "tensor_layout");
  else set_annotation(tensor, "tensor_layout", format_layout_string(layout));
}

std::vector<std::string> Graph::all_tensor_names() const {
  std::vector<std::string> r;
  std::set<std::string> seen;
  auto add = [&](const std::string& n) {
    if (!n.empty() && seen.insert(n).second) r.push_back(n);
  };
  for (const auto& vi : inputs) add(vi.name);
  for (const auto& [n, t] : initializers) add(n);
  for (const auto& node : nodes) {
    for (const auto& i : node.inputs) add(i);
    for (const auto& o : node.outputs) add(o);
  }
  for (const auto& vi : outputs) add(vi.name);
  return r;
}

// ---- Model -----------------------------------------------------------------

int64_t Model::opset_version(const std::string& d) const {
  for (const auto& o : opset_imports)
    if (o.domain == d || (d.empty() && o.domain == "ai.onnx") || (d == "ai.onnx" && o.domain.empty()))
      return o.version;
  return -1;
}

void Model::set_opset_version(const std::string& d, int64_t v) {
  for (auto& o : opset_imports)
    if (o.domain == d) {
      o.version = v;
      return;
    }
  opset_imports.push_back({d, v});
}

std::vector<std::string> parse_layout_string(const std::string& s) {
  // Accepts "['N', 'C', 'H', 'W']", '["N","C"]' and "N,C,H,W".
  std::vector<std::string> r;
  std::string cur;
  for (char c : s) {
    if (c == '[' || c == ']' || c == '\'' || c == '"' || c == ' ') continue;
    if (c == ',') {
      if (!cur.empty()) r.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) r.push_back(cur);
  return r;
}

std::string format_layout_string(const std::vector<std::string>& l) {
  std::string r = "[";
  for (size_t i = 0; i < l.size(); ++i) r += (i ? ", '" : "'") + l[i] + "'";
  return r + "]";
}

}  // namespace sf
