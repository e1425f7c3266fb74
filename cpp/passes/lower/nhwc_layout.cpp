// Layout passes that let the NHWC data of lowered convs flow through pooling
// and thresholding without going back to NCHW:
//   MakeMaxPoolNHWC: MaxPool -> Transpose(to NHWC)  =>  Transpose -> MaxPoolNHWC
//                    Transpose(to NCHW) -> MaxPool  =>  MaxPoolNHWC -> Transpose
//                    (QuantAvgPool2d likewise, with data_layout NHWC)
//   AbsorbTransposeIntoMultiThreshold:
//                    Transpose(to NCHW) -> MultiThreshold -> Transpose(to NHWC)
//                      => MultiThreshold(data_layout NHWC)
//                    and without the second Transpose the first one moves
//                    past the MultiThreshold.
// All of these only move a permutation past an op that commutes with it, so
// values are unchanged bit for bit.
#include <fmt/format.h>

#include "passes/lower/lower_util.h"

namespace sf {
namespace {
using namespace lower;

constexpr const char* kMaxPoolPass = "MakeMaxPoolNHWC";
constexpr const char* kMtPass = "AbsorbTransposeIntoMultiThreshold";

// The MaxPoolNHWC twin of an ONNX MaxPool, or nullopt (reason in `why`)
// when qonnx's MaxPoolNHWC cannot express it.
std::optional<Node> nhwc_pool_for(const Graph& g, const Node& n, std::string& why) {
  if (n.outputs.size() > 1 && !n.outputs[1].empty() && !unused(g, n.outputs[1])) {
    why = "the Indices output is used";
    return std::nullopt;
  }
  if (is_qonnx_op(n, "QuantAvgPool2d")) {
    if (n.get_string("data_layout", "NCHW") != "NCHW") return std::nullopt;  // already NHWC: nothing to do
    Node q = n;
    q.set_string("data_layout", "NHWC");
    return q;
  }
  const std::vector<int64_t> k = n.get_ints("kernel_shape", {});
  if (k.size() != 2) {
    why = "only 2-D pooling has an NHWC form";
    return std::nullopt;
  }
  for (int64_t d : n.get_ints("dilations", {1, 1}))
    if (d != 1) {
      why = "MaxPoolNHWC has no dilations";
      return std::nullopt;
    }
  const std::string ap = n.get_string("auto_pad", "NOTSET");
  if (ap != "NOTSET" && ap != "VALID" && !ap.empty()) {
    why = "auto_pad " + ap + " has no MaxPoolNHWC form";
    return std::nullopt;
  }
  std::vector<int64_t> pads = ap == "VALID" ? std::vector<int64_t>{0, 0, 0, 0} : n.get_ints("pads", {0, 0, 0, 0});
  if (pads.size() != 4 || pads[0] != pads[2] || pads[1] != pads[3]) {
    why = "qonnx's MaxPoolNHWC supports symmetric padding only";
    return std::nullopt;
  }
  Node p = make_node("MaxPoolNHWC", {n.inputs[0]}, {n.outputs[0]}, n.name, kQonnxDomain);
  p.set_ints("kernel_shape", k);
  p.set_ints("pads", pads);
  p.set_ints("strides", n.get_ints("strides", {1, 1}));
  p.set_int("ceil_mode", n.get_int("ceil_mode", 0));
  return p;
}

bool make_maxpool_nhwc(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    const Node n = g.nodes[i];
    if (!is_onnx_op(n, "MaxPool") && !is_qonnx_op(n, "QuantAvgPool2d")) continue;
    if (n.inputs.empty() || n.outputs.empty()) continue;
    const std::string &x = n.inputs[0], &y = n.outputs[0];
    const int cons = single_use(g, y) ? g.find_consumers(y)[0] : -1;
    const int prod = single_use(g, x) ? g.find_producer(x) : -1;
    const bool after = cons >= 0 && is_transpose_with(g, g.nodes[cons], kToNHWC);
    const bool before = prod >= 0 && is_transpose_with(g, g.nodes[prod], kToNCHW);
    if (!after && !before) continue;
    std::string why;
    std::optional<Node> pool = nhwc_pool_for(g, n, why);
    if (!pool) {
      if (!why.empty()) note_refusal(n.name, kMaxPoolPass, why);
      continue;
    }
    auto xs = tensor_shape(g, x), ys = tensor_shape(g, y);
    if (!xs || !ys || xs->size() != 4 || ys->size() != 4) {
      note_refusal(n.name, kMaxPoolPass, "input/output shapes unknown or not 4-D; run InferShapes first");
      continue;
    }
    const ElemType et = elem_type_of(g, x);
    pool->outputs.resize(1);
    if (after) {
      // pool -> T(to NHWC)  =>  T(to NHWC) -> poolNHWC
      const Node t = g.nodes[cons];
      const std::string xt = new_tensor(g, x + "_nhwc", et, permute_shape(*xs, kToNHWC), g.get_datatype(x), kLayoutNHWC);
      Node nt = make_node("Transpose", {x}, {xt}, t.name);
      nt.set_ints("perm", kToNHWC);
      pool->inputs[0] = xt;
      pool->outputs[0] = t.outputs[0];
      replace_nodes(g, {i, cons}, {nt, *pool});
    } else {
      // T(to NCHW) -> pool  =>  poolNHWC -> T(to NCHW)
      const Node t = g.nodes[prod];
      const std::string yt = new_tensor(g, y + "_nhwc", et, permute_shape(*ys, kToNHWC), g.get_datatype(y), kLayoutNHWC);
      pool->inputs[0] = t.inputs[0];
      pool->outputs[0] = yt;
      Node nt = make_node("Transpose", {yt}, {y}, t.name);
      nt.set_ints("perm", kToNCHW);
      replace_nodes(g, {prod, i}, {*pool, nt});
    }
    drop_if_unused(g, x);
    drop_if_unused(g, y);
    return true;
  }
  return false;
}

bool mt_is_nchw(const Node& mt) {
  const std::string l = mt.get_string("data_layout", "");
  return l.empty() || l == "NCHW";
}

bool absorb_transpose_into_multithreshold(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    if (!is_transpose_with(g, g.nodes[i], kToNCHW)) continue;
    const Node t = g.nodes[i];
    if (!single_use(g, t.outputs[0])) continue;
    const int mi = g.find_consumers(t.outputs[0])[0];
    const Node mt = g.nodes[mi];
    if (!is_qonnx_op(mt, "MultiThreshold") || mt.inputs[0] != t.outputs[0]) continue;
    if (!mt_is_nchw(mt)) {
      note_refusal(mt.name, kMtPass, "data_layout is not NCHW");
      continue;
    }
    Node nm = mt;
    nm.set_string("data_layout", "NHWC");
    nm.inputs[0] = t.inputs[0];
    const std::string& z = mt.outputs[0];
    const int ci = single_use(g, z) ? g.find_consumers(z)[0] : -1;
    if (ci >= 0 && is_transpose_with(g, g.nodes[ci], kToNHWC)) {
      // T -> MT -> T^-1: the MultiThreshold reads and writes NHWC directly.
      nm.outputs[0] = g.nodes[ci].outputs[0];
      replace_nodes(g, {i, mi, ci}, {nm});
      drop_if_unused(g, z);
    } else {
      auto zs = tensor_shape(g, z);
      if (!zs || zs->size() != 4) {
        note_refusal(mt.name, kMtPass, "output shape unknown; run InferShapes first");
        continue;
      }
      const std::string zt =
          new_tensor(g, z + "_nhwc", elem_type_of(g, z), permute_shape(*zs, kToNHWC), g.get_datatype(z), kLayoutNHWC);
      nm.outputs[0] = zt;
      Node nt = make_node("Transpose", {zt}, {z}, t.name);
      nt.set_ints("perm", kToNCHW);
      replace_nodes(g, {i, mi}, {nm, nt});
    }
    drop_if_unused(g, t.outputs[0]);
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS("MakeMaxPoolNHWC", "lower",
                 "MaxPool/QuantAvgPool2d next to an NHWC<->NCHW Transpose -> its NHWC form, the Transpose moved across",
                 make_maxpool_nhwc);
SF_REGISTER_PASS("AbsorbTransposeIntoMultiThreshold", "lower",
                 "Transpose(to NCHW) -> MultiThreshold [-> Transpose(to NHWC)] -> MultiThreshold(data_layout NHWC)",
                 absorb_transpose_into_multithreshold);

}  // namespace sf
