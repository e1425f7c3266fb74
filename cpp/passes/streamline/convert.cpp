// Conversions into the Mul/Add/MultiThreshold vocabulary the rest of
// streamlining understands: Sub -> Add, Div -> Mul, BatchNormalization ->
// Mul + Add, Sign -> MultiThreshold.
#include <cmath>
#include <fmt/format.h>
#include <limits>

#include "passes/streamline/common.h"

namespace sf::streamline {
namespace {

bool is_float_data(const Graph& g, const std::string& t) {
  const ElemType e = elem_type_of(g, t);
  return e == ElemType::FLOAT || e == ElemType::UNDEFINED;
}

Tensor map_const(const Tensor& c, float (*f)(float)) {
  std::vector<float> v = c.to_float();
  for (auto& x : v) x = f(x);
  return Tensor::from_vector<float>(c.shape(), v);
}

// x - c == x + (-c) and c - x == (-x) + c exactly in IEEE arithmetic
// (negation is exact), so this conversion never changes a bit.
bool convert_sub_to_add(Model& m) {
  Graph& g = m.graph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node n = g.nodes[i];
    if (!is_onnx(n, "Sub") || n.inputs.size() != 2) continue;
    const Tensor* c0 = const_input(g, n, 0);
    const Tensor* c1 = const_input(g, n, 1);
    if (c1 && !c0 && c1->type() == ElemType::FLOAT && is_float_data(g, n.inputs[0])) {
      const std::string cn = add_const(g, n.inputs[1] + "_neg", map_const(*c1, [](float v) { return -v; }));
      g.nodes[i].op_type = "Add";
      g.nodes[i].inputs[1] = cn;
      tidy(g);
      return true;
    }
    if (c0 && !c1 && c0->type() == ElemType::FLOAT && is_float_data(g, n.inputs[1])) {
      const std::string x = n.inputs[1];
      const std::string minus_one = add_const(g, "const_minus_one", Tensor::from_vector<float>({1}, {-1.f}));
      const std::string t = unique_tensor_name(g, x + "_neg");
      if (auto xs = tensor_shape(g, x)) set_tensor_shape(g, t, ElemType::FLOAT, *xs);
      Node neg = make_node("Mul", {x, minus_one}, {t}, unique_node_name(g, n.name + "_neg"));
      g.nodes[i].op_type = "Add";
      g.nodes[i].inputs = {t, n.inputs[0]};
      g.nodes.insert(g.nodes.begin() + (long)i, neg);
      refresh_datatypes(m, {t});
      tidy(g);
      return true;
    }
  }
  return false;
}

// x / c becomes x * (1/c), the reciprocal rounded to float32 once. Only exact
// for powers of two; elsewhere the graph is still float, where a rounding
// difference of one ulp is tolerated.
bool convert_div_to_mul(Model& m) {
  Graph& g = m.graph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node n = g.nodes[i];
    if (!is_onnx(n, "Div") || n.inputs.size() != 2) continue;
    const Tensor* c1 = const_input(g, n, 1);
    if (!c1 || const_input(g, n, 0) || c1->type() != ElemType::FLOAT || !is_float_data(g, n.inputs[0])) continue;
    const std::string cn = add_const(g, n.inputs[1] + "_recip", map_const(*c1, [](float v) { return 1.0f / v; }));
    g.nodes[i].op_type = "Mul";
    g.nodes[i].inputs[1] = cn;
    tidy(g);
    return true;
  }
  return false;
}

// Inference-mode BN is y = A*x + B per channel with A = scale/sqrt(var+eps),
// B = bias - mean*A (computed in float64, stored as float32). Identity halves
// are dropped so no useless Mul(1)/Add(0) reaches the absorb passes.
bool batchnorm_to_affine(Model& m) {
  Graph& g = m.graph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node bn = g.nodes[i];
    if (!is_onnx(bn, "BatchNormalization") || bn.inputs.size() != 5) continue;
    const std::string who = node_id(bn);
    bool extra = bn.get_int("training_mode", 0) != 0;
    for (size_t k = 1; k < bn.outputs.size(); ++k) extra = extra || !bn.outputs[k].empty();
    if (extra) {
      note_refusal(who, "BatchNormToAffine", "it is in training mode (running mean/variance outputs)");
      continue;
    }
    std::vector<const Tensor*> p;
    for (size_t k = 1; k < 5; ++k) p.push_back(const_input(g, bn, k));
    if (!p[0] || !p[1] || !p[2] || !p[3]) {
      note_refusal(who, "BatchNormToAffine", "its scale, B, mean and variance are not all constant initializers");
      continue;
    }
    auto xs = tensor_shape(g, bn.inputs[0]);
    if (!xs || xs->size() < 2) {
      note_refusal(who, "BatchNormToAffine", "the shape of its input is unknown (run InferShapes first)");
      continue;
    }
    const int64_t C = (*xs)[1], rank = (int64_t)xs->size();
    bool shapes_ok = true;
    for (const Tensor* t : p) shapes_ok = shapes_ok && t->numel() == C && is_float_type(t->type());
    if (!shapes_ok) {
      note_refusal(who, "BatchNormToAffine",
                   fmt::format("its parameters are not {} per-channel floats (spatial=0 BN is not supported)", C));
      continue;
    }
    const double eps = bn.get_float("epsilon", 1e-5f);
    const auto sc = p[0]->to_double(), bi = p[1]->to_double(), mu = p[2]->to_double(), va = p[3]->to_double();
    std::vector<double> A((size_t)C), B((size_t)C);
    bool need_mul = false, need_add = false;
    for (int64_t c = 0; c < C; ++c) {
      A[c] = sc[c] / std::sqrt(va[c] + eps);
      B[c] = bi[c] - mu[c] * A[c];
      need_mul = need_mul || (float)A[c] != 1.0f;
      need_add = need_add || (float)B[c] != 0.0f;
    }
    if (!need_mul && !need_add) {
      bypass_node(g, (int)i);
      tidy(g);
      return true;
    }
    const std::string x = bn.inputs[0], y = bn.outputs[0];
    std::vector<Node> repl;
    std::string cur = x;
    if (need_mul) {
      const std::string out = need_add ? unique_tensor_name(g, y + "_scaled") : y;
      const std::string a = add_const(g, who + "_mul_scale", channel_const(A, rank, 1));
      repl.push_back(make_node("Mul", {cur, a}, {out}, unique_node_name(g, bn.name + "_mul")));
      if (out != y) set_tensor_shape(g, out, ElemType::FLOAT, *xs);
      cur = out;
    }
    if (need_add) {
      const std::string b = add_const(g, who + "_add_bias", channel_const(B, rank, 1));
      repl.push_back(make_node("Add", {cur, b}, {y}, unique_node_name(g, bn.name + "_add")));
    }
    g.nodes.erase(g.nodes.begin() + (long)i);
    g.nodes.insert(g.nodes.begin() + (long)i, repl.begin(), repl.end());
    refresh_datatypes(m, {y});
    tidy(g);
    return true;
  }
  return false;
}

// Sign(x) is -1/0/+1. A bipolar MultiThreshold (x >= 0 -> +1, else -1) agrees
// everywhere except x == 0, so it is used only when x cannot be zero (a
// BIPOLAR input, or a MultiThreshold none of whose levels is 0). Otherwise the exact form counts x >= 0 and x > 0 (the second
// threshold is the smallest positive float) giving -1/0/+1; once the input is
// integer, RoundAndClipThresholds merges the two thresholds back into a
// bipolar one wherever zero is unreachable.
bool convert_sign_to_thres(Model& m) {
  Graph& g = m.graph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node n = g.nodes[i];
    if (!is_onnx(n, "Sign") || n.inputs.size() != 1 || !is_float_data(g, n.inputs[0])) continue;
    auto xs = tensor_shape(g, n.inputs[0]);
    if (!xs || xs->size() < 2) {
      note_refusal(node_id(n), "ConvertSignToThres",
                   "MultiThreshold needs an input of known shape with rank >= 2 (batch and channel axes)");
      continue;
    }
    bool bipolar = g.get_datatype(n.inputs[0]) == DataType::bipolar();
    if (auto levels = multithreshold_levels(g, n.inputs[0])) {  // truer than a provisional out_dtype
      bipolar = true;
      for (double v : *levels) bipolar = bipolar && v != 0;
    }
    Tensor thr = bipolar ? Tensor::from_vector<float>({1, 1}, {0.f})
                         : Tensor::from_vector<float>({1, 2}, {0.f, std::numeric_limits<float>::denorm_min()});
    const std::string tn = add_const(g, node_id(n) + "_thresholds", thr);
    Node mt = make_node("MultiThreshold", {n.inputs[0], tn}, {n.outputs[0]}, n.name, kQonnxDomain);
    mt.set_float("out_scale", bipolar ? 2.f : 1.f);
    mt.set_float("out_bias", -1.f);
    mt.set_string("out_dtype", bipolar ? "BIPOLAR" : "TERNARY");
    g.nodes[i] = mt;
    refresh_datatypes(m, {n.outputs[0]});
    tidy(g);
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS("ConvertSubToAdd", "streamline", "Sub by a constant -> Add of the negated constant (exact)",
                 convert_sub_to_add);
SF_REGISTER_PASS("ConvertDivToMul", "streamline", "Div by a constant -> Mul by its float32 reciprocal",
                 convert_div_to_mul);
SF_REGISTER_PASS("BatchNormToAffine", "streamline", "inference BatchNormalization -> per-channel Mul + Add",
                 batchnorm_to_affine);
SF_REGISTER_PASS("ConvertSignToThres", "streamline", "Sign -> MultiThreshold (bipolar where the input cannot be 0)",
                 convert_sign_to_thres);

}  // namespace sf::streamline
