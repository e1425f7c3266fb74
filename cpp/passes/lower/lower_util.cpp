#include "passes/lower/lower_util.h"

#include <algorithm>

#include "ir/errors.h"
#include "ops/op.h"
#include "ops/reshape/movement.h"

namespace sf::lower {

const std::vector<int64_t> kToNHWC = {0, 2, 3, 1};
const std::vector<int64_t> kToNCHW = {0, 3, 1, 2};
const std::vector<std::string> kLayoutNHWC = {"N", "H", "W", "C"};
const std::vector<std::string> kLayoutNCHW = {"N", "C", "H", "W"};

bool is_onnx_op(const Node& n, const std::string& op_type) {
  return n.op_type == op_type && domain_family(n.domain) == OpDomain::ONNX;
}

bool is_qonnx_op(const Node& n, const std::string& op_type) {
  return n.op_type == op_type && domain_family(n.domain) == OpDomain::QONNX;
}

std::optional<std::vector<int64_t>> transpose_perm(const Graph& g, const Node& t) {
  if (t.has_attr("perm")) return t.get_ints("perm");
  auto s = tensor_shape(g, t.inputs.at(0));
  if (!s) return std::nullopt;
  std::vector<int64_t> p(s->size());
  for (size_t i = 0; i < p.size(); ++i) p[i] = (int64_t)(p.size() - 1 - i);
  return p;
}

bool is_transpose_with(const Graph& g, const Node& n, const std::vector<int64_t>& perm) {
  if (!is_onnx_op(n, "Transpose") || n.inputs.empty() || n.outputs.empty()) return false;
  auto p = transpose_perm(g, n);
  return p && *p == perm;
}

std::vector<int64_t> invert_perm(const std::vector<int64_t>& p) {
  std::vector<int64_t> inv(p.size());
  for (size_t k = 0; k < p.size(); ++k) inv[p[k]] = (int64_t)k;
  return inv;
}

bool is_identity_perm(const std::vector<int64_t>& p) {
  for (size_t k = 0; k < p.size(); ++k)
    if (p[k] != (int64_t)k) return false;
  return true;
}

Shape permute_shape(const Shape& s, const std::vector<int64_t>& p) {
  Shape o(p.size());
  for (size_t k = 0; k < p.size(); ++k) o[k] = s[p[k]];
  return o;
}

Tensor permute_tensor(const Tensor& t, const std::vector<int64_t>& p) {
  const std::vector<int64_t> in_st = movement::strides_of(t.shape());
  std::vector<int64_t> st(p.size());
  for (size_t k = 0; k < p.size(); ++k) st[k] = in_st[p[k]];
  Tensor out(t.type(), permute_shape(t.shape(), p));
  movement::copy_strided(t, 0, st, out);
  return out;
}

void set_datatype_or_clear(Graph& g, const std::string& tensor, const DataType& dt) {
  if (dt == DataType::float32()) g.remove_annotation(tensor, "finn_datatype");
  else g.set_datatype(tensor, dt);
}

std::string new_tensor(Graph& g, const std::string& base, ElemType et, const Shape& s, const DataType& dt,
                       const std::vector<std::string>& layout) {
  const std::string name = unique_tensor_name(g, base);
  set_tensor_shape(g, name, et, s);
  // Written even when FLOAT32: qonnx's Im2Col reads its input's annotation
  // and fails when there is none.
  g.set_datatype(name, dt);
  if (!layout.empty()) g.set_layout(name, layout);
  return name;
}

std::string new_initializer(Graph& g, const std::string& base, const Tensor& t, const DataType& dt) {
  const std::string name = unique_tensor_name(g, base);
  g.set_initializer(name, t);
  set_datatype_or_clear(g, name, dt);
  return name;
}

std::string replace_initializer_for(Graph& g, const std::string& name, int user, const Tensor& t) {
  auto users = g.find_consumers(name);
  const bool sole = users.size() == 1 && users[0] == user && !is_graph_output(g, name);
  if (sole) {
    g.set_initializer(name, t);
    if (ValueInfo* vi = g.find_value_info(name)) vi->set_shape(t.shape());
    return name;
  }
  return new_initializer(g, name, t, g.get_datatype(name));
}

bool unused(const Graph& g, const std::string& tensor) {
  return tensor.empty() || (g.find_consumers(tensor).empty() && !is_graph_output(g, tensor));
}

bool single_use(const Graph& g, const std::string& tensor) {
  return !is_graph_output(g, tensor) && g.find_consumers(tensor).size() == 1;
}

void drop_if_unused(Graph& g, const std::string& name) {
  // A graph input (initializer or not) is part of the model's interface,
  // which is not ours to change.
  if (name.empty() || !unused(g, name) || g.find_producer(name) >= 0 || is_graph_input(g, name)) return;
  g.remove_initializer(name);
  g.value_info.erase(std::remove_if(g.value_info.begin(), g.value_info.end(),
                                    [&](const ValueInfo& v) { return v.name == name; }),
                     g.value_info.end());
  g.quant_annotation.erase(std::remove_if(g.quant_annotation.begin(), g.quant_annotation.end(),
                                          [&](const auto& a) { return a.first == name; }),
                           g.quant_annotation.end());
}

DataType rule_datatype(const Model& m, const Node& n, size_t out) {
  const Graph& g = m.graph;
  const OpDef* def = OpRegistry::instance().find(n.op_type, n.domain);
  if (!def || !def->infer_datatype) return DataType::float32();
  DataTypeCtx dc{n, m, {}, {}, {}};
  for (const auto& in : n.inputs) {
    dc.in.push_back(in.empty() ? DataType() : g.get_datatype(in));
    dc.in_value.push_back(in.empty() ? nullptr : g.get_initializer(in));
  }
  for (const auto& o : n.outputs) dc.out_current.push_back(o.empty() ? DataType() : g.get_datatype(o));
  try {
    auto v = def->infer_datatype(dc);
    if (out < v.size() && v[out].kind() != DataType::Kind::SCALEDINT) return v[out];
  } catch (const StreamfoldError&) {
    // An op rule that cannot decide leaves the conservative FLOAT32.
  }
  return DataType::float32();
}

void annotate_by_rule(Model& m, const Node& n) {
  for (size_t k = 0; k < n.outputs.size(); ++k)
    if (!n.outputs[k].empty()) m.graph.set_datatype(n.outputs[k], rule_datatype(m, n, k));
}

void copy_annotations(Graph& g, const std::string& from, const std::string& to) {
  g.set_datatype(to, g.get_datatype(from));
  g.set_layout(to, g.get_layout(from));
}

void replace_nodes(Graph& g, std::vector<int> erase, const std::vector<Node>& add) {
  std::sort(erase.begin(), erase.end());
  erase.erase(std::unique(erase.begin(), erase.end()), erase.end());
  const int pos = erase.back() - (int)(erase.size() - 1);
  erase_nodes(g, erase);
  g.nodes.insert(g.nodes.begin() + pos, add.begin(), add.end());
}

ElemType elem_type_of(const Graph& g, const std::string& tensor, ElemType dflt) {
  if (const Tensor* t = g.get_initializer(tensor)) return t->type();
  const ValueInfo* vi = g.find_value_info(tensor);
  if (vi && vi->elem_type != ElemType::UNDEFINED) return vi->elem_type;
  return dflt;
}

}  // namespace sf::lower
