// FINN's VVAU (vector-vector-activation unit): the depthwise convolution after
// a depthwise SWG. Input (1, H, W, Kh*Kw*C) in Im2Col order (kh, kw, c),
// weights (C, 1, Kh, Kw) as a depthwise Conv's, optional thresholds (C or 1,
// steps) with the same ActVal activation as the MVAU.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "ops/hw/common.h"

namespace sf {
namespace hls {
void vvau_emit_hls(LayerEmitter& e);  // vvau_hls.cpp
}

// vvau_rtl.cpp: the emitter and the RTL choices the cost model shares.
void vvau_emit_rtl(rtl::LayerEmitter& e);
DataType vvau_rtl_acc_type(const Node& n);
bool vvau_rtl_weights_in_bram(const Node& n);
bool vvau_rtl_uses_dsp(const Node& n);
hw::Schedule vvau_schedule(const Node& n, const Model& m);  // vvau_schedule.cpp

namespace {

struct VvauAttrs {
  std::vector<int64_t> dim, k;
  int64_t c, pe, simd, act_val;
  DataType idt, wdt, odt;
  bool no_act;
  std::string res_type;
};

VvauAttrs read(const Node& n) {
  VvauAttrs a;
  a.dim = hw::pos_ints(n, "Dim", 2);
  a.k = hw::pos_ints(n, "Kernel", 2);
  a.c = hw::pos_int(n, "Channels");
  a.pe = hw::pos_int(n, "PE");
  a.simd = hw::pos_int(n, "SIMD", 1);
  hw::check_fold(n, "PE", a.pe, "Channels", a.c);
  hw::check_fold(n, "SIMD", a.simd, "Kernel h*w", a.k[0] * a.k[1]);
  a.idt = hw::dtype_attr(n, "inputDataType");
  a.wdt = hw::dtype_attr(n, "weightDataType");
  a.odt = hw::dtype_attr(n, "outputDataType");
  a.act_val = n.get_int("ActVal", 0);
  a.no_act = n.get_int("noActivation", 0) != 0;
  a.res_type = hw::choice(n, "resType", "auto", {"auto", "lut", "dsp"});
  return a;
}

Shape in_shape(const VvauAttrs& a) { return {1, a.dim[0], a.dim[1], a.k[0] * a.k[1] * a.c}; }

void check_input(const Node& n, const VvauAttrs& a, const Shape& s) {
  Shape want = in_shape(a);
  if (!s.empty()) want[0] = s[0];
  if (s != want)
    op_fail(n, fmt::format("input has shape {}, expected {}", shape_str(s), shape_str(want)),
            "the input is (N, Dim_h, Dim_w, Kh*Kw*Channels) from a depthwise ConvolutionInputGenerator");
}

void vvau_execute(ExecCtx& c) {
  const Node& n = c.node;
  const VvauAttrs a = read(n);
  const Tensor& x = c.input(0);
  check_input(n, a, x.shape());
  const Tensor& w = c.input(1);
  const int64_t kk = a.k[0] * a.k[1];
  if (w.numel() != a.c * kk)
    op_fail(n, fmt::format("weights have shape {}, expected (C, 1, Kh, Kw) = ({}, 1, {}, {})", shape_str(w.shape()),
                           a.c, a.k[0], a.k[1]),
            "use the depthwise Conv weight layout");
  const std::vector<double> xv = x.to_double(), wv = w.to_double();
  const int64_t pix = x.numel() / (kk * a.c);
  std::vector<double> acc((size_t)(pix * a.c), 0.0);
  for (int64_t p = 0; p < pix; ++p)
    for (int64_t t = 0; t < kk; ++t)
      for (int64_t ch = 0; ch < a.c; ++ch) acc[p * a.c + ch] += xv[(p * kk + t) * a.c + ch] * wv[ch * kk + t];
  const Shape os = {x.shape()[0], a.dim[0], a.dim[1], a.c};
  hw::write_activation(c, a.no_act, os, acc, a.c, a.odt, a.act_val);
}

OpDef make_vvau_def() {
  OpDef d;
  d.op_type = "VVAU";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = 2;
  d.max_inputs = 3;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    const VvauAttrs a = read(c.node);
    const Shape& s = c.shape(0);
    check_input(c.node, a, s);
    c.set_out(0, ElemType::FLOAT, {s[0], a.dim[0], a.dim[1], a.c});
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> { return {read(c.node).odt}; };
  d.execute = vvau_execute;
  d.schedule = vvau_schedule;
  d.emit_rtl = vvau_emit_rtl;
  d.emit_hls = hls::vvau_emit_hls;
  d.estimate = [](const Node& n, const Model& m) {
    const VvauAttrs a = read(n);
    HwEstimate e;
    const int64_t kk = a.k[0] * a.k[1];
    e.cycles = a.c * kk / a.pe / a.simd * a.dim[0] * a.dim[1];
    // Resources of the RTL (rtl/sf_vvau*.sv), first order; Yosys figures for
    // representative layers are in the RTL report (issue 10). P = PE,
    // Q = SIMD, A/W input/weight bits, acc = accumulator bits.
    const double P = (double)a.pe, Q = (double)a.simd;
    const int W = a.wdt.bitwidth(), A = a.idt.bitwidth();
    const int acc = std::max(2, vvau_rtl_acc_type(n).bitwidth());
    const int prod = std::min(A + W + 2, acc);  // registered product width
    // mem_mode external: no weight memory (the weights stream in from DDR,
    // one word per cycle, so the cycles stay the same).
    const bool ext = n.get_string("mem_mode", "internal_embedded") == "external";
    const bool dsp = vvau_rtl_uses_dsp(n), bram = !ext && vvau_rtl_weights_in_bram(n);
    const int64_t wmem = a.c * kk / (a.pe * a.simd);
    const int levels = hw::clog2(a.simd);
    // LUT: FINN-R's multiplier term (LUT MACs only), one LUT per bit for each
    // tree adder, the accumulator and the output skid mux, the weight ROM as
    // LUTs (distributed) at one LUT per bit per 64 words.
    // With one weight word (PE = C, SIMD = K) the weights are constants and
    // synthesis folds them into the multipliers (Yosys: about a third).
    const double mult = dsp ? 0.0 : Q * (2 * std::ceil((W + A) / 6.0) - 1) * (W + A) * (wmem == 1 && !ext ? 0.35 : 1.0);
    e.lut = 40 + P * (mult + (Q - 1) * acc + 2.0 * acc);
    if (bram) e.bram18 = (double)hw::bram18_count(a.pe * a.simd * W, wmem);
    else if (wmem > 1 && !ext) e.lut += P * Q * W * std::ceil(wmem / 64.0);
    e.dsp = dsp ? P * Q : 0.0;
    // FF: input and weight registers, products, the registered adder tree,
    // accumulator and the two-entry output skid; control counters. In DSP
    // mode the operand and product registers (and with SIMD = 1 the
    // accumulator) are the DSP48E1's own.
    e.ff = P * (Q - 1) * acc + 2.0 * P * acc + 16 + 3 * (levels + 3) + hw::clog2(wmem);
    if (!dsp) e.ff += P * Q * (A + W + prod) + P * acc;
    else if (a.simd > 1) e.ff += P * acc;
    if (!a.no_act) {
      // sf_thresholding: K = log2(steps + 1) binary-search stages per lane, each
      // a ROM read and a compare of acc + 1 bits (two pipeline registers of the
      // value and count), its ROM holding rows * 2^k thresholds; the output
      // queue (LUTRAM) and register.
      const Tensor* thr = n.inputs.size() > 2 ? m.graph.get_initializer(n.inputs[2]) : nullptr;
      const bool bip = a.odt.kind() == DataType::Kind::BIPOLAR;
      const int64_t steps = thr && thr->shape().size() == 2 ? thr->shape()[1]
                            : bip                             ? 1
                                                              : ((int64_t)1 << a.odt.bitwidth()) - 1;
      const int64_t rows = thr && thr->shape().size() == 2 && thr->shape()[0] == 1 ? 1 : a.c / a.pe;
      const int kst = std::max(1, hw::clog2(steps + 1)), tw = acc + 1, ob = a.odt.bitwidth();
      const std::string rs = n.get_string("ram_style", "auto");
      double rom_lut = 0, rom_bram = 0;
      for (int st = 0; st < kst; ++st) {
        const int64_t depth = rows << st;
        const bool blk = (rs == "block" || rs == "ultra") ? depth >= 64 : rs == "distributed" ? false : depth >= 256;
        if (blk) rom_bram += (double)hw::bram18_count(tw, depth);
        else rom_lut += tw * std::ceil(depth / 64.0);
      }
      e.lut += P * (kst * tw / 2.0 + rom_lut + ob) + 2.0 * P * ob;
      e.bram18 += P * rom_bram;
      e.ff += P * (acc + 2.0 * kst * (acc + kst) + ob) + 2 * kst * hw::clog2(rows) + 16;
    }
    return e;
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(make_vvau_def());

}  // namespace sf
