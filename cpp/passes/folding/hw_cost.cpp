#include "passes/folding/hw_cost.h"

#include <fmt/format.h>

namespace sf::folding {
namespace {

const Node& lookup(const Model& m, const std::string& name) {
  const int idx = m.graph.find_node(name);
  if (idx < 0)
    throw ModelError(fmt::format("no node named '{}' in the graph", name),
                     "use the node names of the HW graph (e.g. MVAU_0); names change after tidy-up");
  return m.graph.nodes[(size_t)idx];
}

const OpDef& hw_def(const Node& n) {
  if (!is_hw_node(n))
    throw ModelError(fmt::format("node '{}' ({} in domain '{}') is not a HW layer", n.name, n.op_type, n.domain),
                     "only finn.custom_op.fpgadataflow nodes have cycle and resource estimates; run ConvertToHW");
  return OpRegistry::instance().get(n);
}

}  // namespace

bool is_hw_node(const Node& n) { return domain_family(n.domain) == OpDomain::FPGADATAFLOW; }

void validate_node(const Model& m, const std::string& node_name) {
  const Node& n = lookup(m, node_name);
  const OpDef& d = hw_def(n);
  if (d.validate) d.validate(n);
}

HwEstimate estimate_node(const Model& m, const std::string& node_name) {
  const Node& n = lookup(m, node_name);
  const OpDef& d = hw_def(n);
  if (!d.estimate)
    throw ModelError(fmt::format("HW op {} (node '{}') has no cost model", n.op_type, n.name),
                     "add an estimate function to the op's OpDef");
  // Validate first: estimates of an illegally folded layer would be fiction.
  if (d.validate) d.validate(n);
  return d.estimate(n, m);
}

hw::StreamShapes stream_shapes_node(const Model& m, const std::string& node_name) {
  const Node& n = lookup(m, node_name);
  const OpDef& d = hw_def(n);
  if (d.validate) d.validate(n);
  return hw::stream_shapes(n);
}

}  // namespace sf::folding
