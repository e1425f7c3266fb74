// Naming passes, FINN/qonnx style: node names OpType_N, tensor names derived
// from the node names (<node>_out<k>, <node>_param<k>, global_in/global_out),
// and one initializer per reader so later passes can rewrite a parameter
// without touching another node's.
#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <set>

#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

bool give_unique_node_names(Model& m) {
  std::map<std::string, int> count;
  bool changed = false;
  for (auto& n : m.graph.nodes) {
    std::string name = fmt::format("{}_{}", n.op_type, count[n.op_type]++);
    changed |= n.name != name;
    n.name = std::move(name);
  }
  return changed;
}

void rename_tensors(Graph& g, const std::map<std::string, std::string>& to) {
  auto ren = [&](std::string& s) {
    if (s.empty()) return;
    auto it = to.find(s);
    if (it != to.end()) s = it->second;
  };
  for (auto& n : g.nodes) {
    for (auto& i : n.inputs) ren(i);
    for (auto& o : n.outputs) ren(o);
  }
  for (auto* list : {&g.inputs, &g.outputs, &g.value_info})
    for (auto& vi : *list) ren(vi.name);
  for (auto& [name, t] : g.initializers) ren(name);
  for (auto& [name, kv] : g.quant_annotation) ren(name);
}

// Renames the graph inputs too: a verifying pipeline feeds inputs by
// position, so the check after this pass still runs.
bool give_readable_tensor_names(Model& m) {
  Graph& g = m.graph;
  std::map<std::string, std::string> want;
  for (size_t idx = 0; idx < g.nodes.size(); ++idx) {
    const Node& n = g.nodes[idx];
    const std::string base = n.name.empty() ? fmt::format("{}_n{}", n.op_type, idx) : n.name;
    for (size_t k = 0; k < n.outputs.size(); ++k)
      if (!n.outputs[k].empty()) want[n.outputs[k]] = fmt::format("{}_out{}", base, k);
    int param = 0;
    // A parameter shared by several nodes is named after its last reader, as in qonnx.
    for (const auto& in : n.inputs)
      if (!in.empty() && g.get_initializer(in)) want[in] = fmt::format("{}_param{}", base, param++);
  }
  int k = 0;
  for (const auto* vi : g.runtime_inputs()) {
    want[vi->name] = k ? fmt::format("global_in_{}", k) : "global_in";
    ++k;
  }
  for (size_t o = 0; o < g.outputs.size(); ++o)
    want[g.outputs[o].name] = o ? fmt::format("global_out_{}", o) : "global_out";

  // Tensors keeping their name reserve it first; the rest get their wish or,
  // on a clash, the first free wish_<i>.
  std::vector<std::string> names = g.all_tensor_names();
  std::set<std::string> taken;
  for (const auto& t : names)
    if (!want.count(t)) taken.insert(t);
  std::map<std::string, std::string> to;
  for (const auto& t : names) {
    auto it = want.find(t);
    if (it == want.end()) continue;
    std::string name = it->second;
    for (int i = 0; taken.count(name); ++i) name = fmt::format("{}_{}", it->second, i);
    taken.insert(name);
    if (name != t) to[t] = name;
  }
  // value_info entries of tensors nobody uses any more are dropped rather
  // than left to collide with the new names.
  std::set<std::string> live(names.begin(), names.end());
  g.value_info.erase(std::remove_if(g.value_info.begin(), g.value_info.end(),
                                    [&](const ValueInfo& vi) { return !live.count(vi.name); }),
                     g.value_info.end());
  g.quant_annotation.erase(std::remove_if(g.quant_annotation.begin(), g.quant_annotation.end(),
                                          [&](const auto& a) { return !live.count(a.first); }),
                           g.quant_annotation.end());
  rename_tensors(g, to);
  return !to.empty();
}

bool give_unique_parameter_tensors(Model& m) {
  Graph& g = m.graph;
  std::set<std::string> seen;
  bool changed = false;
  for (auto& n : g.nodes)
    for (auto& in : n.inputs) {
      if (in.empty() || !g.get_initializer(in)) continue;
      if (seen.insert(in).second) continue;
      const std::string fresh = unique_tensor_name(g, in);
      // Shares the buffer: initializers are never written in place.
      const Tensor shared = *g.get_initializer(in);
      g.set_initializer(fresh, shared);
      for (const auto& [key, val] : [&] {
             for (const auto& [t, kv] : g.quant_annotation)
               if (t == in) return kv;
             return std::vector<std::pair<std::string, std::string>>{};
           }())
        g.set_annotation(fresh, key, val);
      seen.insert(fresh);
      in = fresh;
      changed = true;
    }
  return changed;
}

}  // namespace

SF_REGISTER_PASS("GiveUniqueNodeNames", "cleanup", "name every node OpType_N in graph order", give_unique_node_names);
SF_REGISTER_PASS_ONCE("GiveReadableTensorNames", "cleanup",
                      "name tensors global_in/global_out, <node>_out<k> and <node>_param<k>",
                      give_readable_tensor_names);
SF_REGISTER_PASS("GiveUniqueParameterTensors", "cleanup", "give every reader of an initializer its own copy",
                 give_unique_parameter_tensors);

}  // namespace sf
