// FINN's GlobalAccPool: sums an NHWC map over H and W per channel, output
// (N, 1, 1, C); the division of a global average pool stays a Mul after it.
#include <cmath>
#include <fmt/format.h>

#include "ops/hw/common.h"

namespace sf {
namespace hls {
void gap_emit_hls(LayerEmitter& e);  // globalaccpool_hls.cpp
}

void gap_emit_rtl(rtl::LayerEmitter& e);  // globalaccpool_rtl.cpp
namespace {

struct GapAttrs {
  int64_t c, pe;
  Shape niv;  // (N, H, W) as FINN writes it
  DataType idt;
};

GapAttrs read(const Node& n) {
  GapAttrs a;
  a.c = hw::pos_int(n, "NumChannels");
  a.pe = hw::pos_int(n, "PE", 1);
  hw::check_fold(n, "PE", a.pe, "NumChannels", a.c);
  a.niv = hw::pos_ints(n, "numInputVectors", 0, {1});
  a.idt = hw::dtype_attr(n, "inputDataType");
  return a;
}

void check_input(const Node& n, const GapAttrs& a, const Shape& s) {
  if (s.size() != 4 || s[3] != a.c)
    op_fail(n, fmt::format("input has shape {}, expected NHWC (N, H, W, {})", shape_str(s), a.c),
            "GlobalAccPool works on NHWC maps; set NumChannels to the last dimension");
}

OpDef make_gap_def() {
  OpDef d;
  d.op_type = "GlobalAccPool";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = d.max_inputs = 1;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    const GapAttrs a = read(c.node);
    check_input(c.node, a, c.shape(0));
    c.set_out(0, ElemType::FLOAT, {c.shape(0)[0], 1, 1, a.c});
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> {
    const GapAttrs a = read(c.node);
    if (c.node.has_attr("outputDataType")) return {hw::dtype_attr(c.node, "outputDataType")};
    // Sum of H*W pixels: numInputVectors without the batch.
    const double px = (double)hw::prod(a.niv) / (double)a.niv[0];
    return {hw::range_datatype(std::min(0.0, a.idt.min() * px), a.idt.max() * px)};
  };
  d.execute = [](ExecCtx& c) {
    const GapAttrs a = read(c.node);
    const Tensor& x = c.input(0);
    check_input(c.node, a, x.shape());
    const Shape& s = x.shape();
    const std::vector<double> xv = x.to_double();
    std::vector<double> acc((size_t)(s[0] * a.c), 0.0);
    const int64_t px = s[1] * s[2];
    for (int64_t b = 0; b < s[0]; ++b)
      for (int64_t p = 0; p < px; ++p)
        for (int64_t ch = 0; ch < a.c; ++ch) acc[b * a.c + ch] += xv[(b * px + p) * a.c + ch];
    c.out.resize(1);
    c.out[0] = hw::float_tensor({s[0], 1, 1, a.c}, acc);
  };
  d.estimate = [](const Node& n, const Model& m) {
    const GapAttrs a = read(n);
    HwEstimate e;
    // One input beat per cycle; the sums leave during the last pixel's beats
    // (sf_globalaccpool), so no drain phase (FINN's model adds C/PE).
    e.cycles = hw::prod(a.niv) * a.c / a.pe;
    // sf_globalaccpool (calibrated against Yosys): PE adders of the sum width
    // into a two-entry skid buffer, the running sums in LUTRAM (C/PE words;
    // RAM32M: 6 bits x 32, RAM64M: 3 bits x 64), the counters.
    const int64_t px = hw::prod(a.niv) / a.niv[0], cf = a.c / a.pe;
    const int acc = a.idt.bitwidth() + hw::clog2(px);
    const double w = (double)a.pe * acc;
    const double lutram = cf <= 1 ? 0.0 : cf <= 32 ? std::ceil(w / 6.0) : std::ceil(w / 3.0) * std::ceil(cf / 64.0);
    // Above 64 words the LUTRAM read needs a mux over the RAM64M blocks.
    e.lut = 20 + 2.0 * w + lutram + (cf > 64 ? w * std::ceil(cf / 64.0) / 2.0 : 0.0);
    e.ff = 2.0 * w + (cf <= 1 ? w : 0.0) + hw::clog2(px) + hw::clog2(cf) + 4;
    return e;
  };
  d.schedule = [](const Node& n, const Model&) {
    const GapAttrs a = read(n);
    // The emitter's CF = C/PE and PX = H*W (numInputVectors without the batch).
    const int64_t cf = a.c / a.pe, px = hw::prod(a.niv) / a.niv[0], nimg = a.niv[0];
    hw::Schedule s;
    s.in_beats = {nimg * px * cf};
    s.out_beats = {nimg * cf};
    // The input is never held: rdy waits for the skid buffer's room only on
    // the last pixel, and with an always-ready sink the skid never fills. The
    // last pixel's beat f fires its sum into the skid buffer, offered the next
    // cycle: output f of an image needs that image's last-pixel beat f, latency 1.
    s.need = {{std::vector<int64_t>((size_t)(nimg * cf))}};
    for (int64_t b = 0; b < nimg; ++b)
      for (int64_t f = 0; f < cf; ++f) s.need[0][0][(size_t)(b * cf + f)] = (b * px + px - 1) * cf + f + 1;
    s.latency = 1;
    return s;
  };
  d.emit_rtl = gap_emit_rtl;
  d.emit_hls = hls::gap_emit_hls;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_gap_def());

}  // namespace sf
