// ExtractBiasFromConv: Conv(x, W, b) becomes Conv(x, W) -> Add(b') with b' of
// shape (1, C, 1, ...), so later passes see the accumulation and the bias
// separately (the bias then streamlines into thresholds). The reference Conv
// adds the bias after the full accumulation, in the output precision, which
// is exactly what the Add does: the rewrite is bit-exact.
#include <fmt/format.h>

#include "ops/op.h"
#include "passes/pass.h"
#include "passes/qonnx_to_finn/quant_util.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

bool extract_bias_from_conv(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.op_type != "Conv" || domain_family(n.domain) != OpDomain::ONNX) continue;
    if (n.inputs.size() < 3 || n.inputs[2].empty()) continue;
    const std::string b = n.inputs[2], out = n.outputs.at(0), base = n.name.empty() ? "Conv" : n.name;
    const auto out_shape = tensor_shape(g, out);
    const auto b_shape = tensor_shape(g, b);
    if (!out_shape || out_shape->size() < 2 || !b_shape || b_shape->size() != 1) {
      note_refusal(n.name, "ExtractBiasFromConv", "the shapes of its output and bias are unknown; run InferShapes first");
      continue;
    }
    Shape bs(out_shape->size(), 1);
    bs[1] = (*b_shape)[0];
    const auto et = q2f::tensor_elem_type(g, out);
    const std::string bias = unique_tensor_name(g, b + "_bias");
    const int bp = g.find_producer(b);
    if (const Tensor* init = g.get_initializer(b)) {
      g.set_initializer(bias, init->reshaped(bs));
      q2f::copy_datatype(g, b, bias);
    } else if (bp >= 0 && bp < i && q2f::is_quant_init(g, g.nodes[bp])) {
      q2f::add_reshaped_quant_copy(g, bp, bs, bias);
      set_tensor_shape(g, bias, ElemType::FLOAT, bs);
      q2f::copy_datatype(g, b, bias);
      ++i;  // the copy went in before the Conv
    } else {
      const std::string shp = unique_tensor_name(g, base + "_bias_shape");
      g.set_initializer(shp, Tensor::from_vector<int64_t>({(int64_t)bs.size()}, bs));
      set_tensor_shape(g, bias, et ? *et : ElemType::FLOAT, bs);
      q2f::copy_datatype(g, b, bias);
      g.nodes.insert(g.nodes.begin() + i + 1,
                     make_node("Reshape", {b, shp}, {bias}, unique_node_name(g, base + "_bias_reshape")));
    }
    g.nodes[i].inputs.resize(2);
    const std::string acc = q2f::detach_output(g, i, 0, out + "_acc");
    g.nodes.insert(g.nodes.begin() + i + 1, make_node("Add", {acc, bias}, {out}, unique_node_name(g, base + "_bias")));
    if (bp >= 0 && g.find_consumers(b).empty() && !is_graph_output(g, b)) g.nodes.erase(g.nodes.begin() + bp);
    remove_unused_tensors(g);
    sort_graph(g);
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS("ExtractBiasFromConv", "cleanup", "Conv with bias -> Conv + Add of a (1,C,1,1) bias",
                 extract_bias_from_conv);

}  // namespace sf
