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
//
// When the quantized input also feeds NCHW readers (the skip of a residual
// block), those read it through a Transpose(0,3,1,2) placed after the moved
// MultiThreshold, so the fork itself is in NHWC.
#include <algorithm>
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
    const std::string mt_out = mt.outputs.at(0);
    if (is_graph_output(g, mt_out)) continue;
    // The quantized input may feed several readers: a lowered conv (through
    // its NCHW->NHWC Transpose) and, in a residual block, the skip. All the
    // NHWC readers take the moved MultiThreshold's output directly; the
    // others read it through one Transpose back to NCHW, which the
    // downstream moves (CancelLayoutTransposes) then carry to the join,
    // where it meets the conv path's own Transpose back.
    const auto users = g.find_consumers(mt_out);
    std::vector<int> to_nhwc, others;
    for (int c : users) (is_transpose_with(g, g.nodes[c], kToNHWC) ? to_nhwc : others).push_back(c);
    if (to_nhwc.empty()) continue;
    auto in_shape = tensor_shape(g, mt.inputs.at(0));
    auto out_shape = tensor_shape(g, mt_out);
    if (!in_shape || in_shape->size() != 4 || !out_shape || out_shape->size() != 4) {
      note_refusal(mt.name, kPass, "the input quantizer's input is not a known 4-D NCHW shape");
      continue;
    }
    // Thresholds are per channel (C,B) or shared (1,B): both are layout-free
    // once the MultiThreshold knows where the channel axis is.
    const Node old_mt = mt;
    const Node tr = g.nodes[to_nhwc[0]];
    const std::string x = old_mt.inputs.at(0);
    const std::string tr_out = tr.outputs.at(0);
    const DataType in_dt = g.get_datatype(x);
    std::string x_nhwc =
        new_tensor(g, x + "_nhwc", ElemType::FLOAT, permute_shape(*in_shape, kToNHWC), in_dt, kLayoutNHWC);
    Node new_tr = tr;
    new_tr.inputs = {x};
    new_tr.outputs = {x_nhwc};
    Node new_mt = old_mt;
    new_mt.inputs[0] = x_nhwc;
    new_mt.outputs = {tr_out};
    new_mt.set_string("data_layout", "NHWC");
    // Further NHWC readers read tr_out instead of their own Transpose's output.
    std::vector<std::string> dropped;
    for (size_t k = 1; k < to_nhwc.size(); ++k) {
      const std::string yk = g.nodes[to_nhwc[k]].outputs.at(0);
      if (is_graph_output(g, yk)) continue;  // kept: it now reads the back-Transpose below
      for (int c : g.find_consumers(yk))
        for (auto& in : g.nodes[c].inputs)
          if (in == yk) in = tr_out;
      dropped.push_back(yk);
    }
    std::vector<Node> add = {new_tr, new_mt};
    if (!others.empty() || !dropped.empty() || to_nhwc.size() > 1) {
      const std::string back = new_tensor(g, mt_out + "_nchw", ElemType::FLOAT, *out_shape, g.get_datatype(mt_out),
                                          g.get_layout(mt_out));
      Node bt = make_node("Transpose", {tr_out}, {back}, unique_node_name(g, old_mt.name + "_to_nchw"));
      bt.set_ints("perm", kToNCHW);
      for (int c : others)
        for (auto& in : g.nodes[c].inputs)
          if (in == mt_out) in = back;
      for (size_t k = 1; k < to_nhwc.size(); ++k)
        for (auto& in : g.nodes[to_nhwc[k]].inputs)
          if (in == mt_out) in = back;
      add.push_back(bt);
    }
    std::vector<int> erase = {(int)i, to_nhwc[0]};
    for (size_t k = 1; k < to_nhwc.size(); ++k)
      if (std::find(dropped.begin(), dropped.end(), g.nodes[to_nhwc[k]].outputs.at(0)) != dropped.end())
        erase.push_back(to_nhwc[k]);
    replace_nodes(g, erase, add);
    drop_if_unused(g, mt_out);
    for (const auto& t : dropped) drop_if_unused(g, t);
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
