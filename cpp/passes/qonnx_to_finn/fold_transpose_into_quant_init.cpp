// FoldTransposeIntoQuantInit: Transpose(Quant(W, s, z, b)) with all Quant
// inputs constant becomes Quant(W^T, s^T, z^T, b). Quantization is
// elementwise, so permuting the data and every non-scalar parameter the same
// way gives the same values, bit for bit. Unlike qonnx, the permuted
// quantizer is a copy: other readers of the original quantizer's output (and
// other users of shared parameter initializers) keep what they had.
#include <fmt/format.h>

#include "ops/op.h"

#include "passes/pass.h"
#include "passes/qonnx_to_finn/quant_util.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

bool fold_transpose_into_quant_init(Model& m) {
  Graph& g = m.graph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& t = g.nodes[i];
    if (t.op_type != "Transpose" || domain_family(t.domain) != OpDomain::ONNX || t.inputs.empty()) continue;
    const int p = g.find_producer(t.inputs[0]);
    if (p < 0 || !q2f::is_quant_init(g, g.nodes[p])) continue;
    const Tensor* w = g.get_initializer(g.nodes[p].inputs[0]);
    const std::vector<int64_t> perm = t.get_ints("perm", {});
    if (!perm.empty() && perm.size() != w->shape().size()) {
      note_refusal(t.name, "FoldTransposeIntoQuantInit",
                   fmt::format("perm has {} entries but the quantized constant has rank {}", perm.size(),
                               w->shape().size()));
      continue;
    }
    const std::string out = t.outputs.at(0);
    const std::string q_out = g.nodes[p].outputs.at(0);
    const std::string t_name = t.name;
    g.nodes.erase(g.nodes.begin() + i);
    const int q_idx = g.find_producer(q_out);
    q2f::add_transposed_quant_copy(g, q_idx, perm, out);
    // The original quantizer stays only while something else reads it.
    if (g.find_consumers(q_out).empty() && !is_graph_output(g, q_out)) g.nodes.erase(g.nodes.begin() + q_idx);
    remove_unused_tensors(g);
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS("FoldTransposeIntoQuantInit", "qonnx_to_finn",
                 "fold a Transpose of a quantized constant into the quantizer's initializers",
                 fold_transpose_into_quant_init);

}  // namespace sf
