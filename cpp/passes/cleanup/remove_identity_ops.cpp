// RemoveIdentityOps: Identity, inference Dropout, x*1, x/1, x+0, x-0,
// Reshape to the same shape and Pad by zero go away. Unlike qonnx there is no
// tolerance: the constant must be exactly 1 or 0, and it must not broadcast
// the output to a larger shape or another element type, so the removal is
// exact. (x + 0 can turn -0 into +0; the two compare equal.)
#include <fmt/format.h>

#include "exec/broadcast.h"
#include "ops/op.h"
#include "passes/cleanup/identity.h"
#include "passes/pass.h"
#include "passes/qonnx_to_finn/quant_util.h"
#include "passes/rewrite.h"

namespace sf::cleanup {

bool pad_is_empty(const Graph& g, const Node& n) {
  if (n.op_type != "Pad" || domain_family(n.domain) != OpDomain::ONNX || n.inputs.empty()) return false;
  std::vector<int64_t> pads;
  if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
    const Tensor* p = g.get_initializer(n.inputs[1]);
    if (!p) return false;
    pads = p->to_int64();
  } else if (n.has_attr("pads")) {
    pads = n.get_ints("pads");
  } else if (n.has_attr("paddings")) {
    pads = n.get_ints("paddings");
  } else {
    return false;
  }
  for (int64_t v : pads)
    if (v != 0) return false;
  return true;
}

bool remove_identity_node(Graph& g, int idx, std::string data) {
  const std::string out = g.nodes[idx].outputs.at(0);
  if (!is_graph_output(g, out)) {
    g.nodes.erase(g.nodes.begin() + idx);
    replace_uses(g, out, data);
    return true;
  }
  const int p = g.find_producer(data);
  if (p < 0 || is_graph_output(g, data) || g.find_consumers(data).size() != 1) return false;
  g.nodes.erase(g.nodes.begin() + idx);
  for (auto& o : g.nodes[p > idx ? p - 1 : p].outputs)
    if (o == data) o = out;
  return true;
}

}  // namespace sf::cleanup

namespace sf {
namespace {

bool all_equal_to(const Tensor& t, double v) {
  for (double x : t.to_double())
    if (x != v) return false;
  return true;
}

// The constant `c` leaves `x` unchanged in shape and element type.
bool keeps_shape(const Graph& g, const std::string& x, const Tensor& c) {
  auto xs = tensor_shape(g, x);
  auto xt = q2f::tensor_elem_type(g, x);
  if (!xs || !xt || *xt != c.type()) return false;
  if (c.shape().size() > xs->size()) return false;
  for (size_t k = 0; k < c.shape().size(); ++k) {
    const int64_t d = (*xs)[xs->size() - c.shape().size() + k];
    if (c.shape()[k] != 1 && c.shape()[k] != d) return false;
  }
  return true;
}

// The data input that passes through unchanged, or "" if n is no identity.
std::string identity_data(const Model& m, const Node& n) {
  const Graph& g = m.graph;
  if (domain_family(n.domain) != OpDomain::ONNX || n.inputs.empty() || n.outputs.empty()) return "";
  const std::string& op = n.op_type;
  if (op == "Identity") return n.inputs[0];
  if (op == "Dropout") {
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
      const Tensor* tm = g.get_initializer(n.inputs[2]);
      if (!tm || !all_equal_to(*tm, 0.0)) return "";
    }
    const bool mask_used = n.outputs.size() > 1 && !n.outputs[1].empty() &&
                           (!g.find_consumers(n.outputs[1]).empty() || is_graph_output(g, n.outputs[1]));
    return mask_used ? "" : n.inputs[0];
  }
  if (n.inputs.size() == 2 && (op == "Add" || op == "Sub" || op == "Mul" || op == "Div")) {
    const double neutral = (op == "Add" || op == "Sub") ? 0.0 : 1.0;
    const bool commutes = op == "Add" || op == "Mul";
    for (size_t k : {size_t(1), size_t(0)}) {
      if (k == 0 && !commutes) break;
      const Tensor* c = g.get_initializer(n.inputs[k]);
      const std::string& x = n.inputs[1 - k];
      if (c && all_equal_to(*c, neutral) && keeps_shape(g, x, *c)) return x;
    }
    return "";
  }
  if (op == "Reshape" && n.inputs.size() >= 2) {
    const Tensor* spec = g.get_initializer(n.inputs[1]);
    auto xs = tensor_shape(g, n.inputs[0]);
    if (!spec || !xs) return "";
    const std::vector<int64_t> s = spec->to_int64();
    if (s.size() != xs->size()) return "";
    const bool allowzero = n.get_int("allowzero", 0) != 0;
    // Each entry must name the input's own dim: literally, by 0 (copy), or
    // by a -1 that can only resolve to it (all other dims equal).
    for (size_t k = 0; k < s.size(); ++k) {
      const bool same = s[k] == (*xs)[k] || (s[k] == 0 && !allowzero) || s[k] == -1;
      if (!same) return "";
    }
    return n.inputs[0];
  }
  if (cleanup::pad_is_empty(g, n)) return n.inputs[0];
  return "";
}

bool remove_identity_ops(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    const std::string data = identity_data(m, g.nodes[i]);
    if (!data.empty() && cleanup::remove_identity_node(g, i, data)) return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS("RemoveIdentityOps", "cleanup",
                 "remove Identity, Dropout, x*1, x/1, x+0, x-0, same-shape Reshape and zero Pad", remove_identity_ops);

}  // namespace sf
