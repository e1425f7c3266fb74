// FINN's StreamingConcat: concatenation of channels-last streams along the
// channel axis; ChannelsPerStream gives each input's channel count.
#include <algorithm>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/streaming_concat/streaming_concat_params.h"

namespace sf {

void concat_emit_rtl(rtl::LayerEmitter& e);  // streaming_concat_rtl.cpp
void concat_emit_hls(hls::LayerEmitter& e);  // streaming_concat_hls.cpp
namespace {

struct CatAttrs {
  std::vector<int64_t> ch;
  int64_t simd;
  Shape niv;
};

CatAttrs read(const Node& n) {
  CatAttrs a;
  a.ch = hw::pos_ints(n, "ChannelsPerStream", 0);
  a.simd = hw::pos_int(n, "SIMD", 1);
  for (int64_t c : a.ch) hw::check_fold(n, "SIMD", a.simd, "ChannelsPerStream entry", c);
  a.niv = hw::pos_ints(n, "numInputVectors", 0, {1});
  if (a.ch.size() != n.inputs.size())
    op_fail(n, fmt::format("has {} inputs but ChannelsPerStream lists {}", n.inputs.size(), a.ch.size()),
            "give one ChannelsPerStream entry per input");
  return a;
}

OpDef make_concat_def() {
  OpDef d;
  d.op_type = "StreamingConcat";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = 1;
  d.max_inputs = 64;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    const CatAttrs a = read(c.node);
    Shape s = c.shape(0);
    for (size_t i = 0; i < a.ch.size(); ++i) {
      Shape si = c.shape(i);
      if (si.empty() || si.back() != a.ch[i] || si.size() != s.size() ||
          !std::equal(si.begin(), si.end() - 1, s.begin()))
        op_fail(c.node, fmt::format("input {} has shape {}, expected channels {} last", i, shape_str(si), a.ch[i]),
                "inputs must agree on all but the last axis, which ChannelsPerStream gives");
    }
    s.back() = 0;
    for (int64_t ch : a.ch) s.back() += ch;
    c.set_out(0, ElemType::FLOAT, s);
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> {
    if (c.node.has_attr("inputDataTypes")) {
      const auto& names = c.node.attr("inputDataTypes")->strings;
      if (!names.empty() && DataType::is_valid_name(names[0])) return {DataType::from_name(names[0])};
    }
    return {c.in.empty() ? DataType() : c.in[0]};
  };
  d.execute = [](ExecCtx& c) {
    const CatAttrs a = read(c.node);
    const Shape& s0 = c.input(0).shape();
    const int64_t rows = c.input(0).numel() / a.ch[0];
    int64_t total = 0;
    for (int64_t ch : a.ch) total += ch;
    Shape os = s0;
    os.back() = total;
    Tensor out(ElemType::FLOAT, os);
    float* o = out.data<float>();
    int64_t off = 0;
    for (size_t i = 0; i < a.ch.size(); ++i) {
      const Tensor& x = c.input(i);
      if (x.numel() != rows * a.ch[i])
        op_fail(c.node, fmt::format("input {} has shape {}, expected {} channels", i, shape_str(x.shape()), a.ch[i]),
                "fix ChannelsPerStream");
      const std::vector<float> xv = x.to_float();
      for (int64_t r = 0; r < rows; ++r)
        std::copy(xv.begin() + r * a.ch[i], xv.begin() + (r + 1) * a.ch[i], o + r * total + off);
      off += a.ch[i];
    }
    c.out.resize(1);
    c.out[0] = std::move(out);
  };
  d.estimate = [](const Node& n, const Model& m) {
    const CatAttrs a = read(n);
    HwEstimate e;
    int64_t total = 0;
    for (int64_t ch : a.ch) total += ch;
    e.cycles = hw::prod(a.niv) * total / a.simd;
    // sf_concat (calibrated against Yosys): an N:1 input mux into a two-entry
    // skid buffer, the input-select and channel-fold counters. Without
    // inputDataTypes the element is taken as a byte.
    int bits = 8;
    if (const Attribute* t = n.attr("inputDataTypes"))
      if (!t->strings.empty() && DataType::is_valid_name(t->strings[0]))
        bits = DataType::from_name(t->strings[0]).bitwidth();
    const double w = (double)a.simd * bits;
    e.lut = 10 + w * (1 + a.ch.size() / 2.0);
    e.ff = 2 * w + hw::clog2((int64_t)a.ch.size()) + hw::clog2(*std::max_element(a.ch.begin(), a.ch.end()) / a.simd) + 2;
    return e;
  };
  d.schedule = [](const Node& n, const Model&) {
    // The emitter's geometry: FOLDS[i] = ch[i] / SIMD beats of input i per pixel.
    const ConcatGeom g = concat_geom(n, "the RTL");
    const size_t ni = g.ch.size();
    std::vector<int64_t> folds(ni), off(ni);
    int64_t per_px = 0;
    for (size_t i = 0; i < ni; ++i) {
      folds[i] = g.ch[i] / g.simd;
      off[i] = per_px;
      per_px += folds[i];
    }
    const int64_t ob = hw::prod(g.s.folded_out) / g.s.folded_out.back(), px = ob / per_px;
    hw::Schedule s;
    s.out_beats = {ob};
    s.need.assign(1, std::vector<std::vector<int64_t>>(ni, std::vector<int64_t>((size_t)ob)));
    s.hold.assign(ni, {});
    for (size_t i = 0; i < ni; ++i) {
      s.in_beats.push_back(px * folds[i]);
      s.hold[i].resize((size_t)(px * folds[i]));
    }
    // sf_concat passes the beats in one fixed order (pixel, then input i =
    // 0..N-1 by `sel`, then fold), and only input `sel` sees in_tready. `sel`
    // and `fold` advance on the firing edge, so beat b of that order can be
    // taken from the cycle after beat b-1 fired, which is the cycle output
    // beat b-1 is offered (the skid buffer: fire in cycle t, out_tvalid at
    // t+1; with an always-ready sink its room stays 1). So each input beat is
    // held for the previous output beat with no offset, and output beat b
    // needs its own input beat, latency 1. need[0][p][b] counts input p's
    // beats among 0..b of that order (already taken for p other than b's).
    std::vector<int64_t> taken(ni, 0);
    for (int64_t p = 0; p < px; ++p)
      for (size_t i = 0; i < ni; ++i)
        for (int64_t f = 0; f < folds[i]; ++f) {
          const int64_t gi = p * per_px + off[i] + f;
          s.hold[i][(size_t)taken[i]] = gi - 1;  // -1: the previous frame's last beat
          ++taken[i];
          for (size_t q = 0; q < ni; ++q) s.need[0][q][(size_t)gi] = taken[q];
        }
    s.latency = 1;
    s.hold_offset = 0;
    return s;
  };
  d.emit_rtl = concat_emit_rtl;
  d.emit_hls = concat_emit_hls;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_concat_def());

}  // namespace sf
