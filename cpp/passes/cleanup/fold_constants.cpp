// FoldConstants: a node whose inputs are all initializers (or that has no
// inputs, or a Shape of a fully known shape) is evaluated once with the
// reference semantics and replaced by its outputs as initializers; the result
// is the same tensor the executor would compute at run time.
//
// Quantizers are deliberately NOT folded, even on constants: Quant,
// IntQuant, BipolarQuant and Trunc on weights carry the integer datatype
// that FoldQuantWeights keeps (integer initializer + scale), and folding them
// here would leave a float tensor with the datatype gone.
#include <algorithm>
#include <fmt/format.h>

#include "ops/op.h"
#include "passes/pass.h"
#include "passes/qonnx_to_finn/quant_util.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

bool is_excluded(const Node& n) {
  if (q2f::is_quantizer(n)) return true;
  return n.op_type == "Trunc" && domain_family(n.domain) == OpDomain::QONNX;
}

// Shape's output from the annotated input shape (start/end as in opset 15).
std::optional<Tensor> fold_shape(const Graph& g, const Node& n) {
  if (n.op_type != "Shape" || domain_family(n.domain) != OpDomain::ONNX || n.inputs.empty()) return std::nullopt;
  auto s = tensor_shape(g, n.inputs[0]);
  if (!s) return std::nullopt;
  for (int64_t d : *s)
    if (d < 0) return std::nullopt;
  const int64_t r = (int64_t)s->size();
  auto clampi = [r](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
  const int64_t start = clampi(n.get_int("start", 0)), end = clampi(n.get_int("end", r));
  std::vector<int64_t> dims;
  for (int64_t k = start; k < end; ++k) dims.push_back((*s)[k]);
  return Tensor::from_vector<int64_t>({(int64_t)dims.size()}, dims);
}

bool fold_constants(Model& m) {
  Graph& g = m.graph;
  bool changed = false;
  // One sweep in topological order folds whole constant chains: each folded
  // output is an initializer by the time its readers are visited.
  for (int idx : topological_order(g)) {
    const Node& n = g.nodes[idx];
    if (n.op_type.empty() || is_excluded(n)) continue;
    bool observable = false;
    for (const auto& o : n.outputs) observable |= !o.empty() && is_graph_output(g, o);
    if (observable) continue;  // a graph output must stay computed by a node
    std::vector<Tensor> outs;
    if (auto sh = fold_shape(g, n)) {
      outs.push_back(*sh);
    } else {
      if (!q2f::all_inputs_constant(g, n)) continue;
      if (!OpRegistry::instance().find(n.op_type, n.domain)) continue;  // unknown ops stay for a clear error later
      outs = eval_const_node(m, n);
    }
    for (size_t k = 0; k < n.outputs.size() && k < outs.size(); ++k) {
      if (n.outputs[k].empty()) continue;
      g.set_initializer(n.outputs[k], outs[k]);
      if (g.find_value_info(n.outputs[k])) set_tensor_shape(g, n.outputs[k], outs[k].type(), outs[k].shape());
    }
    g.nodes[idx].op_type.clear();  // marked; erased below so indices stay valid
    changed = true;
  }
  if (!changed) return false;
  g.nodes.erase(std::remove_if(g.nodes.begin(), g.nodes.end(), [](const Node& n) { return n.op_type.empty(); }),
                g.nodes.end());
  return true;
}

}  // namespace

SF_REGISTER_PASS("FoldConstants", "cleanup",
                 "evaluate nodes whose inputs are all constant (quantizers excepted: see FoldQuantWeights)",
                 fold_constants);

}  // namespace sf
