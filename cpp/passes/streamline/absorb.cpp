// Absorb the remaining scales and biases: into MultiThreshold thresholds
// (exactly: see threshold_preimage), into out_bias, and (for +-1/0 scales)
// into the integer weights of the MatMul/Conv before them.
#include <cmath>
#include <fmt/format.h>
#include <limits>

#include "ops/op.h"
#include "passes/streamline/common.h"

namespace sf::streamline {
namespace {

// Thresholds are always float32; their finn_datatype says whether they are
// integers (after RoundAndClipThresholds) so it is re-derived on every change.
void set_thresholds(Graph& g, int mt_idx, const Shape& s, const std::vector<float>& v) {
  set_node_const(g, mt_idx, 1, Tensor::from_vector<float>(s, v));
  const std::vector<double> d(v.begin(), v.end());
  g.set_datatype(g.nodes[mt_idx].inputs[1], smallest_type_for(d));
}

// Add(c) or Mul(c >= 0) right before a MultiThreshold: every threshold t
// becomes the smallest float32 y with fl(y op c) >= t, which counts exactly
// the same inputs as before, bit for bit.
bool absorb_linear_into_mt(Model& m, bool mul) {
  Graph& g = m.graph;
  const char* pass = mul ? "AbsorbMulIntoMultiThreshold" : "AbsorbAddIntoMultiThreshold";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!is_multithreshold(g.nodes[i]) || g.nodes[i].inputs.size() < 2) continue;
    const Node T = g.nodes[i];
    auto l = match_linear_producer(g, T.inputs[0]);
    if (!l || l->is_mul != mul) continue;
    const std::string who = node_id(g.nodes[l->idx]);
    if (single_consumer(g, l->out) != (int)i) {
      note_refusal(who, pass, "its output also feeds other nodes or is a graph output (run MoveLinearPastFork)");
      continue;
    }
    const Tensor* thr = const_input(g, T, 1);
    if (!thr || thr->rank() != 2) {
      note_refusal(who, pass, fmt::format("the thresholds of {} are not a constant (C, B) matrix", node_id(T)));
      continue;
    }
    const int64_t rank = (int64_t)l->shape.size();
    if (rank < 2) continue;
    const int64_t ax = mt_channel_axis(T, rank);
    if (ax >= rank) continue;
    const int64_t C = l->shape[ax], rows = thr->shape()[0], B = thr->shape()[1];
    if (rows != 1 && rows != C) continue;  // a malformed MultiThreshold; execution reports it
    if (l->layout.kind == ConstLayout::Other ||
        (l->layout.kind == ConstLayout::Channel && l->layout.axis != ax)) {
      note_refusal(who, pass,
                   fmt::format("{} has {} {}, but {} counts channels on axis {} (data_layout '{}')", who,
                               describe_layout(l->layout, *l->c), mul ? "scale" : "bias", node_id(T), ax,
                               T.get_string("data_layout", "")));
      continue;
    }
    const auto cv = l->c->to_double();
    if (!all_finite(*l->c)) {
      note_refusal(who, pass, fmt::format("its {} is not finite", mul ? "scale" : "bias"));
      continue;
    }
    if (mul) {
      std::vector<double> neg;
      for (double v : cv)
        if (v < 0) neg.push_back(v);
      if (!neg.empty()) {
        note_refusal(who, pass,
                     fmt::format("{} has {} scale with {} negative value(s) (e.g. {}); a negative scale reverses the "
                                 "threshold order. Run FactorOutMulSignMagnitude and Absorb1BitMulIntoMatMul/Conv "
                                 "to move the signs into the weights",
                                 who, describe_layout(l->layout, *l->c), neg.size(), preview(neg, 3)));
        continue;
      }
    }
    const int64_t R = (l->layout.kind == ConstLayout::Channel) ? C : rows;
    const auto tv = thr->to_double();
    std::vector<float> nt((size_t)(R * B));
    for (int64_t r = 0; r < R; ++r) {
      const float c = (float)(cv.size() == 1 ? cv[0] : cv[(size_t)r]);
      for (int64_t b = 0; b < B; ++b) {
        const double t = tv[(size_t)((rows == 1 ? 0 : r) * B + b)];
        float v;
        if (mul && c == 0.0f) {
          // x*0 is 0 for every finite x: the threshold is always or never met.
          v = std::isnan(t) ? (float)t
                            : (0.0 >= t ? -std::numeric_limits<float>::infinity()
                                        : std::numeric_limits<float>::infinity());
        } else if (mul) {
          v = threshold_preimage(t, [c](float y) { return y * c; });
        } else {
          v = threshold_preimage(t, [c](float y) { return y + c; });
        }
        nt[(size_t)(r * B + b)] = v;
      }
    }
    set_thresholds(g, (int)i, {R, B}, nt);
    g.nodes[i].inputs[0] = l->data;
    g.nodes.erase(g.nodes.begin() + l->idx);
    tidy(g);
    return true;
  }
  return false;
}

bool absorb_add_into_mt(Model& m) { return absorb_linear_into_mt(m, false); }
bool absorb_mul_into_mt(Model& m) { return absorb_linear_into_mt(m, true); }

// MultiThreshold -> Add(b) with a scalar b: out_bias += b when that gives
// the same float32 value for every output level (checked level by level).
// Several readers that all add the same b (a fork the Add was copied into)
// are absorbed together; any other reader would see the shifted levels.
bool absorb_sign_bias_into_mt(Model& m) {
  Graph& g = m.graph;
  const char* pass = "AbsorbSignBiasIntoMultiThreshold";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!is_multithreshold(g.nodes[i]) || g.nodes[i].inputs.size() < 2) continue;
    const Node T = g.nodes[i];
    const std::string y = T.outputs[0];
    const auto readers = g.find_consumers(y);
    if (readers.empty() || is_graph_output(g, y)) continue;
    std::vector<Linear> adds;
    for (int r : readers) {
      auto l = match_linear(g, r);
      if (l && !l->is_mul && l->data == y) adds.push_back(*l);
    }
    if (adds.empty()) continue;
    const std::string who = node_id(g.nodes[adds[0].idx]);
    const ElemType xt = elem_type_of(g, T.inputs[0]);
    const auto ts = tensor_shape(g, T.inputs[1]);
    if (!ts || ts->size() != 2 || (xt != ElemType::FLOAT && xt != ElemType::UNDEFINED)) continue;
    if (adds.size() != readers.size()) {
      note_refusal(who, pass, fmt::format("{}'s output also feeds nodes other than bias Adds", node_id(T)));
      continue;
    }
    const float c = adds[0].layout.kind == ConstLayout::Scalar ? adds[0].c->to_float()[0] : 0.f;
    bool uniform = true;
    for (const auto& a : adds)
      uniform = uniform && a.layout.kind == ConstLayout::Scalar && a.c->to_float()[0] == c;
    if (!uniform) {
      note_refusal(who, pass,
                   fmt::format("{} adds {} bias{}, but {} has a single out_bias", who,
                               describe_layout(adds[0].layout, *adds[0].c),
                               adds.size() > 1 ? " (or its readers add different biases)" : "", node_id(T)));
      continue;
    }
    const float s = T.get_float("out_scale", 1.f), ob = T.get_float("out_bias", 0.f);
    const float nb = no_fuse(ob + c);
    bool same = true;
    std::vector<double> levels;
    for (int64_t k = 0; k <= (*ts)[1] && same; ++k) {
      const float sk = no_fuse(s * (float)k);
      const float before = no_fuse(no_fuse(sk + ob) + c), after = no_fuse(sk + nb);
      same = before == after || (std::isnan(before) && std::isnan(after));
      levels.push_back(after);
    }
    if (!same) {
      note_refusal(who, pass,
                   fmt::format("folding its bias {:g} into the out_bias {:g} of {} would round some output level "
                               "differently in float32",
                               c, ob, node_id(T)));
      continue;
    }
    bool graph_out = false;
    for (const auto& a : adds) graph_out = graph_out || is_graph_output(g, a.out);
    if (graph_out && adds.size() > 1) continue;
    Node& N = g.nodes[i];
    N.set_float("out_bias", nb);
    const DataType dt = smallest_type_for(levels);
    if (dt.is_integer()) N.set_string("out_dtype", dt.name());
    std::vector<int> drop;
    if (adds.size() == 1) {
      N.outputs[0] = adds[0].out;  // keeps the name a graph output may have
    } else {
      for (const auto& a : adds) replace_uses(g, a.out, y);
    }
    for (const auto& a : adds) drop.push_back(a.idx);
    erase_nodes(g, drop);
    refresh_datatypes(m, {adds.size() == 1 ? adds[0].out : y});
    tidy(g);
    return true;
  }
  return false;
}

// Mul(c) with negative entries -> Mul(sign(c)) -> Mul(|c|): exact, since
// negation commutes with rounding. The +-1 part can then go into weights and
// the magnitude into the next thresholds.
bool factor_out_mul_sign_magnitude(Model& m) {
  Graph& g = m.graph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    auto l = match_linear(g, (int)i);
    if (!l || !l->is_mul) continue;
    const auto v = l->c->to_double();
    bool neg = false, all_unit = true, nan = false;
    for (double x : v) {
      neg = neg || x < 0;
      all_unit = all_unit && std::fabs(x) == 1.0;
      nan = nan || std::isnan(x);
    }
    if (!neg || all_unit || nan) continue;
    std::vector<float> sg(v.size()), mag(v.size());
    for (size_t k = 0; k < v.size(); ++k) {
      sg[k] = v[k] < 0 ? -1.f : 1.f;
      mag[k] = (float)std::fabs(v[k]);
    }
    const Node L = g.nodes[i];
    const Shape cs = l->c->shape();  // l->c dangles once initializers are added
    const std::string t = unique_tensor_name(g, l->out + "_signed");
    const std::string sn = add_const(g, l->cname + "_sign", Tensor::from_vector<float>(cs, sg));
    const std::string mn = add_const(g, l->cname + "_magnitude", Tensor::from_vector<float>(cs, mag));
    g.set_datatype(sn, DataType::bipolar());
    g.nodes[i] = make_node("Mul", {t, mn}, {l->out}, L.name, L.domain);
    g.nodes.insert(g.nodes.begin() + (long)i,
                   make_node("Mul", {l->data, sn}, {t}, unique_node_name(g, L.name + "_sign"), L.domain));
    set_tensor_shape(g, t, ElemType::FLOAT, l->shape);
    refresh_datatypes(m, {t, l->out});
    tidy(g);
    return true;
  }
  return false;
}

bool is_sign_like(const std::vector<double>& v) {
  for (double x : v)
    if (x != 1.0 && x != -1.0 && x != 0.0) return false;
  return true;
}

// The weights' datatype after W*c for c in {-1, 0, +1}: kept when it still
// holds every value (e.g. BIPOLAR, narrow INTn), else the smallest that does.
void retype_weights(Graph& g, const std::string& w, const Tensor& nw) {
  const DataType old = g.get_datatype(w);
  if (!old.is_integer()) return;
  const auto v = nw.to_double();
  bool ok = true;
  for (double x : v) ok = ok && old.allowed(x);
  if (!ok) g.set_datatype(w, smallest_type_for(v));
}

// MatMul(x, W) -> Mul(c), c in {-1, 0, 1} per output column (or scalar):
// W's columns scaled by c, exactly (negating or zeroing a column negates or
// zeroes its dot products).
bool absorb_1bit_mul_into_matmul(Model& m) {
  Graph& g = m.graph;
  const char* pass = "Absorb1BitMulIntoMatMul";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!is_onnx(g.nodes[i], "MatMul")) continue;
    const Node M = g.nodes[i];
    const Tensor* W = const_input(g, M, 1);
    if (!W || W->rank() != 2 || !is_float_type(W->type()) || const_input(g, M, 0)) continue;
    const int p = single_consumer(g, M.outputs[0]);
    if (p < 0) continue;
    auto l = match_linear(g, p);
    if (!l || !l->is_mul || l->data != M.outputs[0]) continue;
    const auto cv = l->c->to_double();
    if (!is_sign_like(cv)) continue;  // an ordinary scale, not this pass's business
    const int64_t rank = (int64_t)l->shape.size();
    if (l->layout.kind == ConstLayout::Other ||
        (l->layout.kind == ConstLayout::Channel && l->layout.axis != rank - 1)) {
      note_refusal(node_id(g.nodes[p]), pass,
                   fmt::format("its +-1 scale is {}, not per output column of {}", describe_layout(l->layout, *l->c),
                               node_id(M)));
      continue;
    }
    const int64_t K = W->shape()[0], N = W->shape()[1];
    auto w = W->to_double();
    std::vector<float> nw((size_t)(K * N));
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n)
        nw[(size_t)(k * N + n)] = (float)(w[(size_t)(k * N + n)] * (cv.size() == 1 ? cv[0] : cv[(size_t)n]));
    const Tensor nwt = Tensor::from_vector<float>(W->shape(), nw);
    set_node_const(g, (int)i, 1, nwt);
    const std::string wname = g.nodes[i].inputs[1];
    if (wname != M.inputs[1]) g.set_datatype(wname, g.get_datatype(M.inputs[1]));
    retype_weights(g, wname, nwt);
    bypass_node(g, p);
    refresh_datatypes(m, {M.outputs[0], l->out});
    tidy(g);
    return true;
  }
  return false;
}

// Conv(x, W, b) -> Mul(c), c in {-1, 0, 1} per output channel: W[o] and b[o]
// scaled by c[o].
bool absorb_1bit_mul_into_conv(Model& m) {
  Graph& g = m.graph;
  const char* pass = "Absorb1BitMulIntoConv";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!is_onnx(g.nodes[i], "Conv")) continue;
    const Node C = g.nodes[i];
    const Tensor* W = const_input(g, C, 1);
    if (!W || W->rank() < 3 || !is_float_type(W->type())) continue;
    const int p = single_consumer(g, C.outputs[0]);
    if (p < 0) continue;
    auto l = match_linear(g, p);
    if (!l || !l->is_mul || l->data != C.outputs[0]) continue;
    const auto cv = l->c->to_double();
    if (!is_sign_like(cv)) continue;
    const std::string who = node_id(g.nodes[p]);
    if (l->layout.kind == ConstLayout::Other || (l->layout.kind == ConstLayout::Channel && l->layout.axis != 1)) {
      note_refusal(who, pass,
                   fmt::format("its +-1 scale is {}, not per output channel of {}", describe_layout(l->layout, *l->c),
                               node_id(C)));
      continue;
    }
    const bool bias = C.inputs.size() > 2 && !C.inputs[2].empty();
    if (bias && !const_input(g, C, 2)) {
      note_refusal(who, pass, fmt::format("the bias of {} is not constant", node_id(C)));
      continue;
    }
    const int64_t O = W->shape()[0], per = W->numel() / O;
    auto sgn = [&](int64_t o) { return cv.size() == 1 ? cv[0] : cv[(size_t)o]; };
    auto w = W->to_double();
    std::vector<float> nw(w.size());
    for (int64_t o = 0; o < O; ++o)
      for (int64_t k = 0; k < per; ++k) nw[(size_t)(o * per + k)] = (float)(w[(size_t)(o * per + k)] * sgn(o));
    const Tensor nwt = Tensor::from_vector<float>(W->shape(), nw);
    set_node_const(g, (int)i, 1, nwt);
    const std::string wname = g.nodes[i].inputs[1];
    if (wname != C.inputs[1]) g.set_datatype(wname, g.get_datatype(C.inputs[1]));
    retype_weights(g, wname, nwt);
    if (bias) {
      const Tensor* b = const_input(g, g.nodes[i], 2);
      auto bv = b->to_double();
      std::vector<float> nb(bv.size());
      for (size_t o = 0; o < bv.size(); ++o) nb[o] = (float)(bv[o] * sgn((int64_t)o));
      const std::string old_b = g.nodes[i].inputs[2];
      set_node_const(g, (int)i, 2, Tensor::from_vector<float>(b->shape(), nb));
      if (g.nodes[i].inputs[2] != old_b) g.set_datatype(g.nodes[i].inputs[2], g.get_datatype(old_b));
      retype_weights(g, g.nodes[i].inputs[2], *g.get_initializer(g.nodes[i].inputs[2]));
    }
    bypass_node(g, p);
    refresh_datatypes(m, {C.outputs[0], l->out});
    tidy(g);
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS("AbsorbAddIntoMultiThreshold", "streamline",
                 "Add of a scalar/per-channel bias before MultiThreshold into its thresholds (exact)",
                 absorb_add_into_mt);
SF_REGISTER_PASS("AbsorbMulIntoMultiThreshold", "streamline",
                 "Mul by a non-negative scalar/per-channel scale before MultiThreshold into its thresholds (exact)",
                 absorb_mul_into_mt);
SF_REGISTER_PASS("AbsorbSignBiasIntoMultiThreshold", "streamline",
                 "scalar Add after MultiThreshold into its out_bias (re-deriving out_dtype)", absorb_sign_bias_into_mt);
SF_REGISTER_PASS("FactorOutMulSignMagnitude", "streamline", "Mul(c) with negative c -> Mul(sign c) -> Mul(|c|)",
                 factor_out_mul_sign_magnitude);
SF_REGISTER_PASS("Absorb1BitMulIntoMatMul", "streamline",
                 "Mul by +-1/0 per output column after MatMul into its weights", absorb_1bit_mul_into_matmul);
SF_REGISTER_PASS("Absorb1BitMulIntoConv", "streamline",
                 "Mul by +-1/0 per output channel after Conv into its weights and bias", absorb_1bit_mul_into_conv);

}  // namespace sf::streamline
