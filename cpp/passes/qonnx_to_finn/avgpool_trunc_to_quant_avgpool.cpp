// AvgPoolAndTruncToQuantAvgPool: Brevitas' quantized average pool,
//   AveragePool(k, stride) -> [Mul(k*k)] -> Trunc      (Trunc v1 or v2)
// becomes FINN's integer pool
//   [Div(s_in)] -> QuantAvgPool2d(kernel, stride, ibits, obits, signed) -> [Mul(out scale)].
//
// Exactness argument, checked per site rather than assumed:
// * The pool's input must provably be a * s_in with integers a in a known
//   range [lo, hi] (a Mul by a scalar after MultiThreshold [+ integer Add],
//   through MaxPool, or an activation Quant with zero point 0). Then both the
//   Trunc's first rounding and QuantAvgPool2d's round(avg * k^2) land on the
//   window sum S = sum(a), because the float32 errors are bounded far below
//   1/2 (checked from the range and the scale ratio).
// * The Trunc must then reduce to floor(S / 2^shift) with QuantAvgPool2d's
//   shift: rounding FLOOR (or no shift at all), zero point 0, and for v2 an
//   output clamp that the range of S can never reach.
// * The output scale is the Trunc's (v1: its scale; v2: out_scale).
// Anything else is noted as a refusal and left alone.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "ops/op.h"
#include "ops/quant/quant_common.h"
#include "passes/pass.h"
#include "passes/qonnx_to_finn/quant_util.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

constexpr const char* kPass = "AvgPoolAndTruncToQuantAvgPool";

struct IntRange {
  double lo, hi;
};

struct Grid {
  float scale;
  IntRange range;
};

const Tensor* scalar_const(const Graph& g, const std::string& t) {
  const Tensor* c = g.get_initializer(t);
  return c && c->numel() == 1 ? c : nullptr;
}

bool is_onnx(const Node& n, const char* op) { return n.op_type == op && domain_family(n.domain) == OpDomain::ONNX; }

// Range of integer values tensor t is known to hold.
std::optional<IntRange> int_range(const Graph& g, const std::string& t, int depth) {
  if (depth > 16) return std::nullopt;
  const int p = g.find_producer(t);
  if (p < 0) {
    const DataType dt = g.get_datatype(t);
    if (g.get_initializer(t) || !is_graph_input(g, t) || !dt.is_integer()) return std::nullopt;
    return IntRange{dt.min(), dt.max()};
  }
  const Node& n = g.nodes[p];
  if (n.op_type == "MultiThreshold" && domain_family(n.domain) == OpDomain::QONNX && n.inputs.size() == 2) {
    const Tensor* thr = g.get_initializer(n.inputs[1]);
    const double sc = n.get_float("out_scale", 1.0f), b = n.get_float("out_bias", 0.0f);
    if (!thr || thr->rank() != 2 || sc != std::floor(sc) || b != std::floor(b)) return std::nullopt;
    const double steps = (double)thr->shape()[1];
    return IntRange{std::min(b, b + sc * steps), std::max(b, b + sc * steps)};
  }
  if (is_onnx(n, "Add") && n.inputs.size() == 2) {
    for (size_t k : {size_t(1), size_t(0)}) {
      const Tensor* c = scalar_const(g, n.inputs[k]);
      if (!c) continue;
      const double v = c->item_double();
      if (v != std::floor(v)) return std::nullopt;
      auto r = int_range(g, n.inputs[1 - k], depth + 1);
      if (!r) return std::nullopt;
      return IntRange{r->lo + v, r->hi + v};
    }
    return std::nullopt;
  }
  if (is_onnx(n, "MaxPool") && n.outputs.size() == 1) return int_range(g, n.inputs.at(0), depth + 1);
  return std::nullopt;
}

// Whether t = a * scale exactly for integers a in a known range.
std::optional<Grid> grid_of(const Graph& g, const std::string& t, int depth = 0) {
  if (depth > 16) return std::nullopt;
  const int p = g.find_producer(t);
  if (p < 0) {
    if (auto r = int_range(g, t, depth + 1)) return Grid{1.0f, *r};
    return std::nullopt;
  }
  const Node& n = g.nodes[p];
  if (is_onnx(n, "MaxPool") && n.outputs.size() == 1) return grid_of(g, n.inputs.at(0), depth + 1);
  if (is_onnx(n, "Mul") && n.inputs.size() == 2) {
    for (size_t k : {size_t(1), size_t(0)}) {
      const Tensor* c = scalar_const(g, n.inputs[k]);
      if (!c || c->type() != ElemType::FLOAT) continue;
      const float s = c->to_float()[0];
      if (!(s > 0) || !std::isfinite(s)) return std::nullopt;
      auto r = int_range(g, n.inputs[1 - k], depth + 1);
      if (!r) return std::nullopt;
      return Grid{s, *r};
    }
    return std::nullopt;
  }
  if (q2f::is_quantizer(n) && n.op_type != "BipolarQuant" && n.inputs.size() == 4) {
    const Tensor* s = scalar_const(g, n.inputs[1]);
    const Tensor* z = scalar_const(g, n.inputs[2]);
    const Tensor* b = scalar_const(g, n.inputs[3]);
    if (!s || !z || !b || z->item_double() != 0 || s->type() != ElemType::FLOAT) return std::nullopt;
    const bool sg = qnt::bool_attr(n, "signed", true), nr = qnt::bool_attr(n, "narrow", false);
    const int64_t bw = qnt::bitwidth_value(n, *b, "bitwidth (input 3)");
    if (bw == 1 && sg) return Grid{s->to_float()[0], {-1, 1}};
    return Grid{s->to_float()[0], {qnt::min_int(sg, nr, bw), qnt::max_int(sg, nr, bw)}};
  }
  if (auto r = int_range(g, t, depth + 1)) return Grid{1.0f, *r};  // integers themselves
  return std::nullopt;
}

int bit_length(uint64_t v) {
  int n = 0;
  for (; v; v >>= 1) ++n;
  return n;
}

int qap_shift(int64_t ibits, int64_t k, int64_t obits) {
  return std::max<int>(0, bit_length(((uint64_t(1) << ibits) - 1) * uint64_t(k * k)) - (int)obits);
}

bool convert_at(Model& m, int ai) {
  Graph& g = m.graph;
  const Node pool = g.nodes[ai];
  if (pool.inputs.empty() || pool.outputs.size() != 1) return false;
  int c1 = single_consumer(g, pool.outputs[0]);
  if (c1 < 0) return false;
  int mul_idx = -1, t_idx = c1;
  if (is_onnx(g.nodes[c1], "Mul")) {
    mul_idx = c1;
    t_idx = single_consumer(g, g.nodes[c1].outputs.at(0));
    if (t_idx < 0) return false;
  }
  const Node& t = g.nodes[t_idx];
  if (t.op_type != "Trunc" || domain_family(t.domain) != OpDomain::QONNX) return false;
  if (t.inputs.size() < 5 || t.inputs.size() > 7 || t.inputs[0] != g.nodes[mul_idx >= 0 ? mul_idx : ai].outputs[0])
    return false;  // malformed or reading the pool elsewhere than as its data: the executor reports it
  auto refuse = [&](const std::string& why) {
    note_refusal(t.name, kPass, why);
    note_refusal(pool.name, kPass, why);
    return false;
  };

  const auto ks = pool.get_ints("kernel_shape", {});
  const auto st = pool.get_ints("strides", {1, 1});
  const auto pads = pool.get_ints("pads", {0, 0, 0, 0});
  const auto dil = pool.get_ints("dilations", {1, 1});
  const std::string auto_pad = pool.get_string("auto_pad", "NOTSET");
  bool pads_zero = true;
  for (int64_t v : pads) pads_zero &= v == 0;
  if (ks.size() != 2 || ks[0] != ks[1] || st.size() != 2 || st[0] != st[1] || !pads_zero ||
      (auto_pad != "NOTSET" && auto_pad != "VALID") || pool.get_int("ceil_mode", 0) != 0 || dil != std::vector<int64_t>{1, 1})
    return refuse("QuantAvgPool2d needs a square kernel, equal strides, no padding, no dilation and ceil_mode 0");
  const int64_t k = ks[0], kk = k * k, stride = st[0];
  auto xs = tensor_shape(g, pool.inputs.at(0));
  if (!xs || xs->size() != 4) return refuse("the pool input must be a 4-D NCHW tensor of known shape");

  double mul = 1;
  if (mul_idx >= 0) {
    const Node& mn = g.nodes[mul_idx];
    const Tensor* c = nullptr;
    for (size_t j : {size_t(1), size_t(0)})
      if (mn.inputs.size() == 2 && mn.inputs[1 - j] == pool.outputs[0]) c = scalar_const(g, mn.inputs[j]);
    if (!c) return refuse("the Mul between AveragePool and Trunc must multiply by a scalar constant");
    mul = c->item_double();
  }
  const bool v1 = t.inputs.size() == 5;
  for (size_t j = 1; j < t.inputs.size(); ++j)
    if (!scalar_const(g, t.inputs[j])) return refuse(fmt::format("Trunc input {} must be a scalar constant", j));
  const double scale = g.get_initializer(t.inputs[1])->item_double();
  const double zp = g.get_initializer(t.inputs[2])->item_double();
  const int64_t in_bw = qnt::bitwidth_value(t, *g.get_initializer(t.inputs[3]), "in_bitwidth (input 3)");
  const size_t obi = v1 ? 4 : (t.inputs.size() == 7 ? 6 : 5);
  const int64_t out_bw = qnt::bitwidth_value(t, *g.get_initializer(t.inputs[obi]), "out_bitwidth");
  const double out_scale = v1 ? scale : g.get_initializer(t.inputs[4])->item_double();
  if (zp != 0) return refuse(fmt::format("Trunc zero point {} is not 0", zp));
  const qnt::RoundingMode mode = qnt::rounding_mode_attr(t, "FLOOR");

  auto grid = grid_of(g, pool.inputs[0]);
  if (!grid) return refuse("cannot show that the pool input is integers times a scalar scale");
  const double lo = grid->range.lo, hi = grid->range.hi;
  const double smax = kk * std::max(std::fabs(lo), std::fabs(hi));
  // Ratio of the Trunc's grid to the sum's grid, and how far the float32
  // steps can move the sum from an integer: both rounds must land on it.
  const double rho = (double)grid->scale * mul / (kk * scale);
  const double drift = smax * (std::fabs(rho - 1) + (kk + 8) * std::ldexp(1.0, -24));
  if (drift >= 0.25)
    return refuse(fmt::format("the Trunc scale {} does not match the pool input scale {} / {} (ratio {})", scale,
                              grid->scale, kk, rho));
  const double ts = v1 ? std::ldexp(1.0, (int)(in_bw - out_bw))
                       : std::ldexp(1.0, (int)std::nearbyint(std::log2(out_scale / scale)));
  const int shift = (int)std::nearbyint(std::log2(ts));
  if (shift < 0) return refuse(fmt::format("the Trunc scales up by 2^{}; QuantAvgPool2d only shifts right", -shift));
  const bool floors = mode == qnt::RoundingMode::FLOOR || shift == 0 || (mode == qnt::RoundingMode::DOWN && lo >= 0);
  if (!floors) return refuse("the Trunc rounds the shifted sum other than by FLOOR; QuantAvgPool2d floors");
  const double out_lo = std::floor(kk * lo / ts), out_hi = std::floor(kk * hi / ts);
  const bool is_signed = lo < 0;
  if (!v1) {
    const bool sg = qnt::bool_attr(t, "signed", true), nr = qnt::bool_attr(t, "narrow", false);
    if (kk * lo / ts < qnt::min_int(sg, nr, out_bw) || kk * hi / ts > qnt::max_int(sg, nr, out_bw))
      return refuse(fmt::format("the Trunc output clamp [{}, {}] can cut window sums in [{}, {}]",
                                qnt::min_int(sg, nr, out_bw), qnt::max_int(sg, nr, out_bw), kk * lo, kk * hi));
  }
  const DataType odt = is_signed ? DataType::sint((int)out_bw) : DataType::uint((int)out_bw);
  if (out_bw > 32 || !odt.allowed(out_lo) || !odt.allowed(out_hi))
    return refuse(fmt::format("pooled values [{}, {}] do not fit {}", out_lo, out_hi, odt.name()));
  // FINN's choice of ibits first (the input width that makes the sum fit
  // in_bw bits), then any width with the right shift.
  int64_t ibits = (int64_t)std::floor(std::log2(std::ldexp(1.0, (int)in_bw) / kk));
  if (ibits < 1 || ibits > 32 || qap_shift(ibits, k, out_bw) != shift) ibits = -1;
  for (int64_t cand = 1; ibits < 0 && cand <= 32; ++cand)
    if (qap_shift(cand, k, out_bw) == shift) ibits = cand;
  if (ibits < 0) return refuse(fmt::format("no QuantAvgPool2d ibits gives a shift of {} bits", shift));

  // Build: [Div] -> QuantAvgPool2d -> [Mul], writing the Trunc's output.
  const std::string base = pool.name.empty() ? "AveragePool" : pool.name;
  const std::string out = t.outputs.at(0);
  auto os = tensor_shape(g, pool.outputs[0]);
  std::vector<Node> nodes;
  std::string cur = pool.inputs[0];
  if (grid->scale != 1.0f) {
    const std::string sn = unique_tensor_name(g, base + "_in_scale");
    g.set_initializer(sn, Tensor::scalar<float>(grid->scale));
    const std::string dn = unique_tensor_name(g, base + "_int_in");
    set_tensor_shape(g, dn, ElemType::FLOAT, *xs);
    nodes.push_back(make_node("Div", {cur, sn}, {dn}, unique_node_name(g, base + "_in_scale")));
    cur = dn;
  }
  const bool need_mul = out_scale != 1.0;
  const std::string qo = need_mul ? unique_tensor_name(g, out + "_int") : out;
  if (need_mul && os) set_tensor_shape(g, qo, ElemType::FLOAT, *os);
  Node qap = make_node("QuantAvgPool2d", {cur}, {qo}, unique_node_name(g, base + "_quant"), q2f::kQonnxDomain);
  qap.set_int("kernel", k);
  qap.set_int("stride", stride);
  qap.set_int("ibits", ibits);
  qap.set_int("obits", out_bw);
  qap.set_int("signed", is_signed ? 1 : 0);
  qap.set_string("data_layout", "NCHW");
  nodes.push_back(qap);
  g.set_datatype(qo, odt);
  if (need_mul) {
    const std::string sn = unique_tensor_name(g, base + "_out_scale");
    g.set_initializer(sn, Tensor::scalar<float>((float)out_scale));
    nodes.push_back(make_node("Mul", {qo, sn}, {out}, unique_node_name(g, base + "_out_scale")));
  }
  std::vector<int> gone = {ai, t_idx};
  if (mul_idx >= 0) gone.push_back(mul_idx);
  const int at = std::max({ai, t_idx, mul_idx});
  g.nodes.insert(g.nodes.begin() + at + 1, nodes.begin(), nodes.end());
  erase_nodes(g, gone);
  remove_unused_tensors(g);
  return true;
}

bool avgpool_trunc_to_quant_avgpool(Model& m) {
  for (int i = 0; i < (int)m.graph.nodes.size(); ++i)
    if (is_onnx(m.graph.nodes[i], "AveragePool") && convert_at(m, i)) return true;
  return false;
}

}  // namespace

SF_REGISTER_PASS("AvgPoolAndTruncToQuantAvgPool", "qonnx_to_finn",
                 "AveragePool [-> Mul k*k] -> Trunc (Brevitas TruncAvgPool2d) -> QuantAvgPool2d", avgpool_trunc_to_quant_avgpool);

}  // namespace sf
