// Structural tidy-ups that never touch values: drop unused tensors, demote
// initializers listed as graph inputs (old ONNX exporters list every weight
// as an input), and sort the node list topologically.
#include "exec/executor.h"
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

bool remove_unused_tensors_pass(Model& m) { return remove_unused_tensors(m.graph); }

bool remove_static_graph_inputs(Model& m) {
  Graph& g = m.graph;
  bool changed = false;
  for (size_t k = g.inputs.size(); k-- > 0;) {
    if (!g.get_initializer(g.inputs[k].name)) continue;
    ValueInfo vi = g.inputs[k];
    g.inputs.erase(g.inputs.begin() + (std::ptrdiff_t)k);
    // Keep the declared type and shape as ordinary value_info.
    bool have = false;
    for (const auto& v : g.value_info) have |= v.name == vi.name;
    if (!have) g.value_info.push_back(vi);
    changed = true;
  }
  return changed;
}

bool sort_graph_pass(Model& m) {
  const auto order = topological_order(m.graph);
  for (size_t i = 0; i < order.size(); ++i)
    if (order[i] != (int)i) {
      sort_graph(m.graph);
      return true;
    }
  return false;
}

}  // namespace

SF_REGISTER_PASS("RemoveUnusedTensors", "cleanup", "drop initializers, value_info and annotations nothing uses",
                 remove_unused_tensors_pass);
SF_REGISTER_PASS("RemoveStaticGraphInputs", "cleanup", "graph inputs that are initializers stop being inputs",
                 remove_static_graph_inputs);
SF_REGISTER_PASS("SortGraph", "cleanup", "sort the node list topologically", sort_graph_pass);

}  // namespace sf
