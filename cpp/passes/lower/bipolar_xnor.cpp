// ConvertBipolarMatMulToXnorPopcount: a MatMul of BIPOLAR activations by a
// constant BIPOLAR weight becomes FINN's binary form
//   XnorPopcountMatMul(a_bin, (W + 1) / 2) -> Mul(2) -> Add(-K)
// where a_bin = (a + 1) / 2 is the {0,1} encoding and K the dot-product length.
// popcount counts matching bits P; with K - P mismatches the bipolar dot
// product is P - (K - P) = 2P - K, exact in float32 for any realistic K.
//
// As in FINN, the encoding is produced at the source: the bipolar
// MultiThreshold upstream (out_scale 2, out_bias -1) switches to BINARY output
// (out_scale 1, out_bias 0), and every op between it and the MatMul must
// commute with x -> (x+1)/2: pure data movement, MaxPool, and Im2Col, whose
// -1 padding becomes 0. Unlike FINN, we only do this when that whole chain
// feeds this MatMul alone (otherwise other readers would see {0,1}), and when
// there is no such MultiThreshold (a graph input, a fork) we insert an exact
// Add(1) -> Mul(0.5) instead of relabelling the input, which would change the
// model's function.
#include <fmt/format.h>

#include "passes/lower/lower_util.h"

namespace sf {
namespace {
using namespace lower;

constexpr const char* kPass = "ConvertBipolarMatMulToXnorPopcount";

bool is_bipolar_mt(const Node& n) {
  return is_qonnx_op(n, "MultiThreshold") && n.get_string("out_dtype", "") == "BIPOLAR" &&
         n.get_float("out_scale", 1.0f) == 2.0f && n.get_float("out_bias", 0.0f) == -1.0f;
}

// Whether n maps (x+1)/2 of its input onto (y+1)/2 of its output.
bool commutes_with_encoding(const Graph& g, const Node& n) {
  if (is_onnx_op(n, "Transpose") || is_onnx_op(n, "Reshape") || is_onnx_op(n, "Flatten") || is_onnx_op(n, "Squeeze") ||
      is_onnx_op(n, "Unsqueeze") || is_onnx_op(n, "Identity") || is_qonnx_op(n, "MaxPoolNHWC"))
    return true;
  // Padding with -inf and taking maxima commutes with any increasing map.
  if (is_onnx_op(n, "MaxPool")) return n.outputs.size() < 2 || unused(g, n.outputs[1]);
  if (is_qonnx_op(n, "Im2Col")) {
    const auto p = n.get_ints("pad_amount", {0, 0, 0, 0});
    const bool padded = p.size() == 4 && p[0] + p[1] + p[2] + p[3] > 0;
    return !padded || n.get_int("pad_value", 0) == -1;
  }
  return false;
}

struct Chain {
  int mt = -1;
  std::vector<int> ops;               // between the MultiThreshold and the MatMul
  std::vector<std::string> tensors;  // MultiThreshold output ... MatMul input
};

std::optional<Chain> find_bipolar_source(const Graph& g, const std::string& a) {
  Chain c;
  std::string t = a;
  for (int steps = 0; steps < 64; ++steps) {
    if (!single_use(g, t)) return std::nullopt;  // someone else reads the bipolar values
    const int p = g.find_producer(t);
    if (p < 0) return std::nullopt;
    const Node& n = g.nodes[p];
    c.tensors.push_back(t);
    if (is_bipolar_mt(n)) {
      c.mt = p;
      return c;
    }
    if (!commutes_with_encoding(g, n) || n.outputs[0] != t || n.inputs.empty()) return std::nullopt;
    c.ops.push_back(p);
    t = n.inputs[0];
  }
  return std::nullopt;
}

bool convert_one(Model& m, int mi) {
  Graph& g = m.graph;
  const Node mm = g.nodes[mi];
  const std::string &a = mm.inputs[0], &wn = mm.inputs[1], &y = mm.outputs[0];
  auto refuse = [&](const std::string& why) {
    note_refusal(mm.name, kPass, why);
    return false;
  };
  if (!g.get_initializer(wn)) return refuse("the BIPOLAR weight is not an initializer");
  const Tensor* w = g.get_initializer(wn);  // valid until initializers are added below
  const Shape w_shape = w->shape();
  const ElemType w_type = w->type();
  if (w->rank() != 2) return refuse(fmt::format("weight shape {} is not (K, N)", shape_str(w->shape())));
  std::vector<double> wv = w->to_double();
  for (double v : wv)
    if (v != 1.0 && v != -1.0) return refuse(fmt::format("weight annotated BIPOLAR holds {}", v));
  auto ys = tensor_shape(g, y);
  if (!ys) return refuse("output shape unknown; run InferShapes first");
  const int64_t K = w_shape[0];
  const ElemType et = elem_type_of(g, y);
  const std::string base = mm.name.empty() ? std::string("MatMul") : mm.name;
  std::vector<Node> nodes;

  // Activations: {-1,+1} -> {0,1}.
  std::string abin = a;
  if (auto chain = find_bipolar_source(g, a)) {
    Node& mt = g.nodes[chain->mt];
    mt.set_string("out_dtype", "BINARY");
    mt.set_float("out_scale", 1.0f);
    mt.set_float("out_bias", 0.0f);
    for (int k : chain->ops)
      if (is_qonnx_op(g.nodes[k], "Im2Col")) g.nodes[k].set_int("pad_value", 0);
    for (const auto& t : chain->tensors) g.set_datatype(t, DataType::binary());
  } else {
    auto as = tensor_shape(g, a);
    if (!as) return refuse("input shape unknown; run InferShapes first");
    const ElemType at = elem_type_of(g, a);
    const std::string one = new_initializer(g, base + "_one", Tensor::scalar<double>(1.0).cast(at));
    const std::string half = new_initializer(g, base + "_half", Tensor::scalar<double>(0.5).cast(at));
    const std::string a1 = new_tensor(g, a + "_plus1", at, *as, DataType::uint(2), g.get_layout(a));
    abin = new_tensor(g, a + "_binary", at, *as, DataType::binary(), g.get_layout(a));
    nodes.push_back(make_node("Add", {a, one}, {a1}, unique_node_name(g, base + "_to_binary_add")));
    nodes.push_back(make_node("Mul", {a1, half}, {abin}, unique_node_name(g, base + "_to_binary_mul")));
  }

  // Weights: (W + 1) / 2, a new Tensor.
  std::vector<double> wb(wv.size());
  for (size_t i = 0; i < wv.size(); ++i) wb[i] = (wv[i] + 1.0) / 2.0;
  const std::string wbin = replace_initializer_for(g, wn, mi, Tensor::from_vector<double>(w_shape, wb).cast(w_type));
  g.set_datatype(wbin, DataType::binary());

  // popcount -> 2 * popcount - K
  const std::string pc = new_tensor(g, y + "_popcount", et, *ys, DataType::uint(32), g.get_layout(y));
  const std::string pc2 = new_tensor(g, y + "_popcount_x2", et, *ys, DataType(), g.get_layout(y));
  const std::string two =
      new_initializer(g, base + "_two", Tensor::scalar<double>(2.0).cast(et), DataType::smallest_for_range(2, 2));
  const std::string negk = new_initializer(g, base + "_minus_k", Tensor::scalar<double>(-(double)K).cast(et),
                                           DataType::smallest_for_range(-(double)K, -(double)K));
  nodes.push_back(make_node("XnorPopcountMatMul", {abin, wbin}, {pc}, mm.name, kQonnxDomain));
  nodes.push_back(make_node("Mul", {pc, two}, {pc2}, unique_node_name(g, base + "_popcount_scale")));
  nodes.push_back(make_node("Add", {pc2, negk}, {y}, unique_node_name(g, base + "_popcount_offset")));
  replace_nodes(g, {mi}, nodes);
  const int mul_idx = g.find_producer(pc2);
  annotate_by_rule(m, g.nodes[mul_idx]);
  drop_if_unused(g, wn);
  return true;
}

bool convert_bipolar_matmul_to_xnorpopcount(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (!is_onnx_op(n, "MatMul") || n.inputs.size() != 2) continue;
    if (g.get_datatype(n.inputs[0]) != DataType::bipolar() || g.get_datatype(n.inputs[1]) != DataType::bipolar())
      continue;
    if (convert_one(m, i)) return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS("ConvertBipolarMatMulToXnorPopcount", "lower",
                 "MatMul of BIPOLAR by BIPOLAR -> XnorPopcountMatMul on {0,1} encodings, then *2 - K",
                 convert_bipolar_matmul_to_xnorpopcount);

}  // namespace sf
