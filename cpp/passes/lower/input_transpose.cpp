// MoveTransposeToGraphInput: the NCHW->NHWC Transpose that conv lowering
// leaves right after the input quantizer moves in front of it, so the
// dataflow part starts with an NHWC MultiThreshold and the layout change
// stays at the graph input (the CPU side). Only for MultiThresholds fed
// (through nothing but layout ops) by the graph input: elsewhere the
// downstream moves of AbsorbTransposeIntoMultiThreshold apply instead, and
// running both directions in one loop would oscillate.
//
//   global_in -> MultiThreshold(NCHW) -> Transpose(0,2,3,1) -> ...
//   => global_in -> Transpose(0,2,3,1) -> MultiThreshold(NHWC) -> ...
#include <fmt/format.h>

#include "passes/lower/lower_util.h"

namespace sf::lower {
namespace {

constexpr const char* kPass = "MoveTransposeToGraphInput";

bool fed_by_graph_input(const Graph& g, const std::string& t) {
  std::string cur = t;
  for (int guard = 0; guard < 16; ++guard) {
    if (is_graph_input(g, cur)) return true;
    int p = g.find_producer(cur);
    if (p < 0) return false;
    const Node& n = g.nodes[p];
    if (!(is_onnx_op(n, "Reshape") || is_onnx_op(n, "Flatten") || is_onnx_op(n, "Transpose"))) return false;
    cur = n.inputs.at(0);
  }
  return false;
}

bool move_transpose_to_graph_input(Model& m) {
  Graph& g = m.graph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& mt = g.nodes[i];
    if (!is_qonnx_op(mt, "MultiThreshold") || !fed_by_graph_input(g, mt.inputs.at(0))) continue;
    const std::string layout = mt.get_string("data_layout", "NCHW");
    if (layout != "NCHW") continue;
    int c = single_consumer(g, mt.outputs.at(0));
    if (c < 0 || !is_transpose_with(g, g.nodes[c], kToNHWC)) continue;
    auto in_shape = tensor_shape(g, mt.inputs.at(0));
    if (!in_shape || in_shape->size() != 4) {
      note_refusal(mt.name, kPass, "the input quantizer's input is not a known 4-D NCHW shape");
      continue;
    }
    // Thresholds are per channel (C,B) or shared (1,B): both are layout-free
    // once the MultiThreshold knows where the channel axis is.
    const Node tr = g.nodes[c];
    const std::string x = mt.inputs.at(0);
    const std::string mt_out = mt.outputs.at(0);
    const std::string tr_out = tr.outputs.at(0);
    const DataType in_dt = g.get_datatype(x);
    const Shape nhwc = permute_shape(*in_shape, kToNHWC);
    std::string x_nhwc = new_tensor(g, x + "_nhwc", ElemType::FLOAT, nhwc, in_dt, kLayoutNHWC);
    Node new_tr = tr;
    new_tr.inputs = {x};
    new_tr.outputs = {x_nhwc};
    Node new_mt = g.nodes[i];
    new_mt.inputs[0] = x_nhwc;
    new_mt.outputs = {tr_out};
    new_mt.set_string("data_layout", "NHWC");
    // old MultiThreshold output (NCHW) disappears; its annotations go too
    g.nodes[i] = new_tr;
    g.nodes[c] = new_mt;
    drop_if_unused(g, mt_out);
    g.set_layout(tr_out, kLayoutNHWC);
    sort_graph(g);
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS(kPass, "lower",
                 "move the NCHW->NHWC Transpose after the input quantizer in front of it (to the graph input)",
                 move_transpose_to_graph_input);

}  // namespace sf::lower
