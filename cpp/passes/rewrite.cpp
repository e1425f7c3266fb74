#include "passes/rewrite.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>

#include "exec/executor.h"
#include "ir/errors.h"
#include "ops/op.h"

namespace sf {

std::string unique_tensor_name(const Graph& g, const std::string& base) {
  auto names = g.all_tensor_names();
  std::set<std::string> used(names.begin(), names.end());
  for (const auto& vi : g.value_info) used.insert(vi.name);
  if (!used.count(base)) return base;
  for (int i = 0;; ++i) {
    std::string c = fmt::format("{}_{}", base, i);
    if (!used.count(c)) return c;
  }
}

std::string unique_node_name(const Graph& g, const std::string& base) {
  std::set<std::string> used;
  for (const auto& n : g.nodes) used.insert(n.name);
  if (!used.count(base)) return base;
  for (int i = 0;; ++i) {
    std::string c = fmt::format("{}_{}", base, i);
    if (!used.count(c)) return c;
  }
}

Node make_node(const std::string& op_type, const std::vector<std::string>& inputs,
               const std::vector<std::string>& outputs, const std::string& name, const std::string& domain) {
  Node n;
  n.op_type = op_type;
  n.inputs = inputs;
  n.outputs = outputs;
  n.name = name;
  n.domain = domain;
  return n;
}

bool is_graph_output(const Graph& g, const std::string& t) {
  for (const auto& o : g.outputs)
    if (o.name == t) return true;
  return false;
}

bool is_graph_input(const Graph& g, const std::string& t) {
  for (const auto& o : g.inputs)
    if (o.name == t) return true;
  return false;
}

int single_consumer(const Graph& g, const std::string& t) {
  if (is_graph_output(g, t)) return -1;
  auto c = g.find_consumers(t);
  if (c.size() != 1) return -1;
  // a node reading the tensor twice still counts as one consumer
  return c[0];
}

const Tensor* const_input(const Graph& g, const Node& n, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i].empty()) return nullptr;
  return g.get_initializer(n.inputs[i]);
}

void replace_uses(Graph& g, const std::string& from, const std::string& to) {
  for (auto& n : g.nodes)
    for (auto& in : n.inputs)
      if (in == from) in = to;
}

void bypass_node(Graph& g, int idx) {
  Node n = g.nodes[idx];
  const std::string& in = n.inputs.at(0);
  const std::string& out = n.outputs.at(0);
  g.nodes.erase(g.nodes.begin() + idx);
  if (is_graph_output(g, out)) {
    int p = g.find_producer(in);
    if (p >= 0 && !is_graph_output(g, in) && g.find_consumers(in).empty()) {
      for (auto& o : g.nodes[p].outputs)
        if (o == in) o = out;
      // keep annotations of the surviving name
      return;
    }
    // cannot rename (graph input / initializer / shared): keep an Identity
    g.nodes.insert(g.nodes.begin() + std::min<size_t>(idx, g.nodes.size()),
                   make_node("Identity", {in}, {out}, unique_node_name(g, n.name)));
    return;
  }
  replace_uses(g, out, in);
}

void erase_nodes(Graph& g, std::vector<int> idx) {
  std::sort(idx.begin(), idx.end());
  idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  for (auto it = idx.rbegin(); it != idx.rend(); ++it) g.nodes.erase(g.nodes.begin() + *it);
}

bool remove_unused_tensors(Graph& g) {
  std::set<std::string> used;
  for (const auto& n : g.nodes) {
    for (const auto& i : n.inputs) used.insert(i);
    for (const auto& o : n.outputs) used.insert(o);
  }
  for (const auto& o : g.outputs) used.insert(o.name);
  for (const auto& i : g.inputs) used.insert(i.name);
  bool changed = false;
  for (size_t k = g.initializers.size(); k-- > 0;)
    if (!used.count(g.initializers[k].first)) {
      g.initializers.erase(g.initializers.begin() + k);
      changed = true;
    }
  // graph inputs that are unused initializer mirrors
  for (size_t k = g.value_info.size(); k-- > 0;)
    if (!used.count(g.value_info[k].name)) {
      g.value_info.erase(g.value_info.begin() + k);
      changed = true;
    }
  for (size_t k = g.quant_annotation.size(); k-- > 0;)
    if (!used.count(g.quant_annotation[k].first)) {
      g.quant_annotation.erase(g.quant_annotation.begin() + k);
      changed = true;
    }
  return changed;
}

std::vector<Tensor> eval_const_node(const Model& m, const Node& n) {
  const OpDef& def = OpRegistry::instance().get(n);
  int64_t opset = m.opset_version("");
  ExecCtx ec{n, opset > 0 ? opset : 1000, {}, {}};
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i].empty()) {
      ec.in.push_back(nullptr);
      continue;
    }
    const Tensor* t = m.graph.get_initializer(n.inputs[i]);
    if (!t) op_fail(n, fmt::format("input '{}' is not constant", n.inputs[i]), "this is a streamfold bug");
    ec.in.push_back(t);
  }
  if (def.validate) def.validate(n);
  def.execute(ec);
  return std::move(ec.out);
}

std::optional<Shape> tensor_shape(const Graph& g, const std::string& t) {
  if (const Tensor* init = g.get_initializer(t)) return init->shape();
  const ValueInfo* vi = g.find_value_info(t);
  if (vi && vi->shape_known()) return vi->shape();
  return std::nullopt;
}

void set_tensor_shape(Graph& g, const std::string& t, ElemType type, const Shape& s) {
  ValueInfo* vi = g.find_value_info(t);
  if (!vi) {
    g.value_info.push_back(ValueInfo{});
    vi = &g.value_info.back();
    vi->name = t;
  }
  vi->elem_type = type;
  vi->set_shape(s);
}

void sort_graph(Graph& g) {
  auto order = topological_order(g);
  std::vector<Node> sorted;
  sorted.reserve(g.nodes.size());
  for (int i : order) sorted.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(sorted);
}

}  // namespace sf
