// Collapse chains of Mul (or Add) by constants into one node, so each layer
// ends with at most one scale and one bias for the absorb passes. A chain
// that collapses to the identity (x*1, x+0) disappears.
#include <fmt/format.h>

#include "passes/streamline/common.h"

namespace sf::streamline {
namespace {

bool is_sign_split(const std::vector<double>& sign, const std::vector<double>& mag) {
  bool neg = false;
  for (double v : sign) {
    if (v != 1.0 && v != -1.0) return false;
    neg = neg || v < 0;
  }
  for (double v : mag)
    if (!(v >= 0)) return false;
  return neg;
}

bool collapse_repeated(Model& m, bool mul) {
  Graph& g = m.graph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    auto l1 = match_linear(g, (int)i);
    if (!l1 || l1->is_mul != mul) continue;
    const int p = single_consumer(g, l1->out);
    if (p < 0) continue;
    auto l2 = match_linear(g, p);
    if (!l2 || l2->is_mul != mul || l2->data != l1->out) continue;
    // Mul(sign) -> Mul(|c|) is FactorOutMulSignMagnitude's output, waiting
    // for the signs to go into weights; merging it back would undo that (and
    // make the Streamline loop oscillate).
    if (mul && is_sign_split(l1->c->to_double(), l2->c->to_double())) continue;
    // Both broadcast onto the data without growing it, so their combination does too.
    const Tensor c = mul ? bcast_const(*l1->c, *l2->c, [](double a, double b) { return a * b; })
                         : bcast_const(*l1->c, *l2->c, [](double a, double b) { return a + b; });
    bool identity = true;
    for (double v : c.to_double()) identity = identity && v == (mul ? 1.0 : 0.0);
    const Node L2 = g.nodes[p];
    if (identity) {
      // x*1 and x+0 are x (up to the sign of zero); drop both nodes.
      g.nodes[p].inputs = {l1->data, l2->cname};
      g.nodes.erase(g.nodes.begin() + (long)i);
      bypass_node(g, p > (int)i ? p - 1 : p);
      refresh_datatypes(m, {L2.outputs[0], l1->data});
      tidy(g);
      return true;
    }
    const std::string cn = add_const(g, l2->cname, c);
    g.nodes[p] = make_node(L2.op_type, {l1->data, cn}, {l2->out}, L2.name, L2.domain);
    g.nodes.erase(g.nodes.begin() + (long)i);
    refresh_datatypes(m, {l2->out});
    tidy(g);
    return true;
  }
  return false;
}

bool collapse_repeated_add(Model& m) { return collapse_repeated(m, false); }
bool collapse_repeated_mul(Model& m) { return collapse_repeated(m, true); }

}  // namespace

SF_REGISTER_PASS("CollapseRepeatedAdd", "streamline", "Add(a) -> Add(b) becomes Add(a + b)", collapse_repeated_add);
SF_REGISTER_PASS("CollapseRepeatedMul", "streamline", "Mul(a) -> Mul(b) becomes Mul(a * b)", collapse_repeated_mul);

}  // namespace sf::streamline
