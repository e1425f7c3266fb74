// Moves of Mul/Add past the linear layers (MatMul, Conv), so that the scales
// and biases of consecutive layers meet, collapse, and reach the next
// MultiThreshold while the weights stay integer.
#include <cmath>
#include <fmt/format.h>

#include "ops/op.h"
#include "passes/streamline/reorder.h"

namespace sf::streamline {
namespace {

bool conv_has_padding(const Node& c) {
  const std::string ap = c.get_string("auto_pad", "NOTSET");
  if (ap != "NOTSET" && ap != "VALID") return true;
  for (int64_t v : c.get_ints("pads", {}))
    if (v != 0) return true;
  return false;
}

// (x + a) @ W == x@W + a@W when a is constant along every axis but the last
// (one value per input feature, or a scalar): a@W is then one row.
bool move_scalar_add_past_matmul(Model& m) {
  Graph& g = m.graph;
  const char* pass = "MoveScalarAddPastMatMul";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    auto a = match_linear(g, (int)i);
    if (!a || a->is_mul) continue;
    const int p = sole_reader_at(g, a->out, 0);
    if (p < 0 || !is_onnx(g.nodes[p], "MatMul")) continue;
    const Node& M = g.nodes[p];
    const std::string who = node_id(g.nodes[i]);
    const Tensor* W = const_input(g, M, 1);
    const int64_t rank = (int64_t)a->shape.size();
    if (!W || W->rank() != 2 || !is_float_type(W->type())) {
      note_refusal(who, pass, fmt::format("the weights of {} are not a constant 2-D float matrix", node_id(M)));
      continue;
    }
    if (a->layout.kind == ConstLayout::Other ||
        (a->layout.kind == ConstLayout::Channel && a->layout.axis != rank - 1)) {
      note_refusal(who, pass,
                   fmt::format("{} has {} bias, which varies along rows of {} and would become a full matrix", who,
                               describe_layout(a->layout, *a->c), node_id(M)));
      continue;
    }
    if (!all_finite(*a->c)) {
      note_refusal(who, pass, "its bias is not finite");
      continue;
    }
    const int64_t K = W->shape()[0], N = W->shape()[1];
    const auto av = a->c->to_double();
    const auto w = W->to_double();
    std::vector<double> v((size_t)N, 0.0);
    for (int64_t k = 0; k < K; ++k) {
      const double ak = av.size() == 1 ? av[0] : av[(size_t)k];
      for (int64_t n = 0; n < N; ++n) v[(size_t)n] += ak * w[(size_t)(k * N + n)];
    }
    swap_linear_past(m, *a, p, 0, channel_const(v, rank, rank - 1));
    return true;
  }
  return false;
}

// Conv(x + a) == Conv(x) + Conv(a) without padding (a zero border would not
// receive the bias). With a per-input-channel a, Conv(a) is one value per
// output channel: the sum of that filter's taps times a.
bool move_add_past_conv(Model& m) {
  Graph& g = m.graph;
  const char* pass = "MoveAddPastConv";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    auto a = match_linear(g, (int)i);
    if (!a || a->is_mul) continue;
    const int p = sole_reader_at(g, a->out, 0);
    if (p < 0 || !is_onnx(g.nodes[p], "Conv")) continue;
    const Node& C = g.nodes[p];
    const std::string who = node_id(g.nodes[i]);
    const Tensor* W = const_input(g, C, 1);
    if (!W || W->rank() < 3 || !is_float_type(W->type())) {
      note_refusal(who, pass, fmt::format("the weights of {} are not constant", node_id(C)));
      continue;
    }
    if (conv_has_padding(C)) {
      note_refusal(who, pass, fmt::format("{} pads its input, and the zero border would not receive the Add", node_id(C)));
      continue;
    }
    if (a->layout.kind == ConstLayout::Other || (a->layout.kind == ConstLayout::Channel && a->layout.axis != 1)) {
      note_refusal(who, pass,
                   fmt::format("{} has {} bias that varies over the spatial axes {} convolves", who,
                               describe_layout(a->layout, *a->c), node_id(C)));
      continue;
    }
    if (!all_finite(*a->c)) {
      note_refusal(who, pass, "its bias is not finite");
      continue;
    }
    const int64_t O = W->shape()[0], Cg = W->shape()[1];
    const int64_t group = C.get_int("group", 1);
    const int64_t taps = W->numel() / (O * Cg);
    const int64_t per_group = O / std::max<int64_t>(group, 1);
    const auto av = a->c->to_double();
    const auto w = W->to_double();
    std::vector<double> v((size_t)O, 0.0);
    for (int64_t o = 0; o < O; ++o)
      for (int64_t ci = 0; ci < Cg; ++ci) {
        const double ac = av.size() == 1 ? av[0] : av[(size_t)((o / per_group) * Cg + ci)];
        for (int64_t k = 0; k < taps; ++k) v[(size_t)o] += ac * w[(size_t)((o * Cg + ci) * taps + k)];
      }
    const auto ys = tensor_shape(g, C.outputs[0]);
    if (!ys) continue;
    swap_linear_past(m, *a, p, 0, channel_const(v, (int64_t)ys->size(), 1));
    return true;
  }
  return false;
}

// (x*m) @ W == (x@W)*m when m is constant along the reduced (last) axis of
// x: a scalar, or a per-row scale that the output rows keep.
bool move_scalar_mul_past_matmul(Model& m) {
  Graph& g = m.graph;
  const char* pass = "MoveScalarMulPastMatMul";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    auto l = match_linear(g, (int)i);
    if (!l || !l->is_mul) continue;
    int p = sole_reader_at(g, l->out, 0);
    size_t pos = 0;
    if (p < 0) {
      p = sole_reader_at(g, l->out, 1);
      pos = 1;
    }
    if (p < 0 || !is_onnx(g.nodes[p], "MatMul")) continue;
    const Node& M = g.nodes[p];
    const std::string who = node_id(g.nodes[i]);
    const auto ys = tensor_shape(g, M.outputs[0]);
    if (!ys) continue;
    const int64_t rank = (int64_t)l->shape.size();
    const bool scalar = l->layout.kind == ConstLayout::Scalar;
    if (!scalar) {
      const bool rows = pos == 0 && l->layout.kind == ConstLayout::Channel && l->layout.axis < rank - 1 &&
                        (int64_t)ys->size() == rank;
      if (!rows) {
        note_refusal(who, pass,
                     fmt::format("{} has {} scale on input {} of {}; only a scalar (or a per-row scale of input 0) "
                                 "can move past a MatMul without changing its weights",
                                 who, describe_layout(l->layout, *l->c), pos, node_id(M)));
        continue;
      }
    }
    swap_linear_past(m, *l, p, pos, scalar ? fit_rank(*l->c, (int64_t)ys->size()) : *l->c);
    return true;
  }
  return false;
}

// Conv(x*m, W, b) == Conv(x, W)*m' + b: the bias is split off into an Add
// after the Mul so it is not scaled. m' is m itself for a scalar, or m
// routed to the output channels for a depthwise Conv.
void move_mul_past_conv(Model& m, const Linear& l, int c_idx, const Tensor& newc) {
  Graph& g = m.graph;
  Node C = g.nodes[c_idx];
  const Node L = g.nodes[l.idx];
  const std::string y = C.outputs[0];
  const auto ys = tensor_shape(g, y);
  const bool bias = C.inputs.size() > 2 && !C.inputs[2].empty();
  const std::string b = bias ? C.inputs[2] : "";
  if (bias) C.inputs.resize(2);
  const std::string t1 = unique_tensor_name(g, y + "_prescale");
  C.inputs[0] = l.data;
  C.outputs[0] = t1;
  const std::string cn = add_const(g, l.cname, newc);
  g.nodes[l.idx] = C;
  if (!bias) {
    g.nodes[c_idx] = make_node("Mul", {t1, cn}, {y}, L.name, L.domain);
    refresh_datatypes(m, {t1, y});
  } else {
    const std::string t2 = unique_tensor_name(g, y + "_prebias");
    const std::string bn =
        add_const(g, b + "_bias", channel_const(g.get_initializer(b)->to_double(), (int64_t)ys->size(), 1));
    g.nodes[c_idx] = make_node("Mul", {t1, cn}, {t2}, L.name, L.domain);
    g.nodes.insert(g.nodes.begin() + c_idx + 1,
                   make_node("Add", {t2, bn}, {y}, unique_node_name(g, C.name + "_bias"), ""));
    set_tensor_shape(g, t2, ElemType::FLOAT, *ys);
    refresh_datatypes(m, {t1, t2, y});
  }
  set_tensor_shape(g, t1, ElemType::FLOAT, *ys);
  tidy(g);
}

bool is_depthwise(const Graph& g, const Node& C, const Shape& xs) {
  const auto ws = tensor_shape(g, C.inputs.at(1));
  return ws && ws->size() >= 3 && xs.size() >= 3 && (*ws)[1] == 1 && C.get_int("group", 1) == xs[1] && xs[1] > 1 &&
         (*ws)[0] % xs[1] == 0;
}

bool mul_past_conv(Model& m, bool depthwise_only) {
  Graph& g = m.graph;
  const char* pass = depthwise_only ? "MoveScalarMulPastDWConv" : "MoveScalarMulPastConv";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    auto l = match_linear(g, (int)i);
    if (!l || !l->is_mul) continue;
    const int p = sole_reader_at(g, l->out, 0);
    if (p < 0 || !is_onnx(g.nodes[p], "Conv")) continue;
    const Node& C = g.nodes[p];
    const std::string who = node_id(g.nodes[i]);
    const auto ys = tensor_shape(g, C.outputs[0]);
    if (!ys || C.inputs.size() < 2) continue;
    const bool dw = is_depthwise(g, C, l->shape);
    if (depthwise_only && !dw) continue;
    const bool bias = C.inputs.size() > 2 && !C.inputs[2].empty();
    if (bias && !const_input(g, C, 2)) {
      note_refusal(who, pass, fmt::format("the bias of {} is not constant", node_id(C)));
      continue;
    }
    if (!all_finite(*l->c)) {
      note_refusal(who, pass, "its scale is not finite (the zero padding would become NaN)");
      continue;
    }
    Tensor newc;
    if (l->layout.kind == ConstLayout::Scalar) {
      newc = fit_rank(*l->c, (int64_t)ys->size());
    } else if (dw && l->layout.kind == ConstLayout::Channel && l->layout.axis == 1) {
      if (!depthwise_only) {
        note_refusal(who, pass,
                     fmt::format("{} has {} scale; {} is depthwise, so MoveScalarMulPastDWConv can move it", who,
                                 describe_layout(l->layout, *l->c), node_id(C)));
        continue;
      }
      const auto v = l->c->to_double();
      const int64_t O = (*ys)[1], mult = O / l->shape[1];
      std::vector<double> out((size_t)O);
      for (int64_t o = 0; o < O; ++o) out[(size_t)o] = v[(size_t)(o / mult)];
      newc = channel_const(out, (int64_t)ys->size(), 1);
    } else {
      note_refusal(who, pass,
                   fmt::format("{} has {} scale; before a {}Conv ({}) only a scalar{} can move without changing the "
                               "weights",
                               who, describe_layout(l->layout, *l->c), dw ? "depthwise " : "", node_id(C),
                               dw ? " or a per-channel scale" : ""));
      continue;
    }
    move_mul_past_conv(m, *l, p, newc);
    return true;
  }
  return false;
}

bool move_scalar_mul_past_conv(Model& m) { return mul_past_conv(m, false); }
bool move_scalar_mul_past_dwconv(Model& m) { return mul_past_conv(m, true); }

}  // namespace

SF_REGISTER_PASS("MoveScalarAddPastMatMul", "streamline",
                 "Add of a scalar/per-feature bias past MatMul as the bias times the weights", move_scalar_add_past_matmul);
SF_REGISTER_PASS("MoveAddPastConv", "streamline", "Add of a scalar/per-channel bias past an unpadded Conv",
                 move_add_past_conv);
SF_REGISTER_PASS("MoveScalarMulPastMatMul", "streamline", "Mul by a scalar (or per-row scale) past MatMul",
                 move_scalar_mul_past_matmul);
SF_REGISTER_PASS("MoveScalarMulPastConv", "streamline", "Mul by a scalar past Conv (its bias split into an Add)",
                 move_scalar_mul_past_conv);
SF_REGISTER_PASS("MoveScalarMulPastDWConv", "streamline",
                 "Mul by a scalar or per-channel scale past a depthwise Conv", move_scalar_mul_past_dwconv);

}  // namespace sf::streamline
