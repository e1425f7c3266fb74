// FINN's VVAU (vector-vector-activation unit): the depthwise convolution after
// a depthwise SWG. Input (1, H, W, Kh*Kw*C) in Im2Col order (kh, kw, c),
// weights (C, 1, Kh, Kw) as a depthwise Conv's, optional thresholds (C or 1,
// steps) with the same ActVal activation as the MVAU.
#include <cmath>
#include <fmt/format.h>

#include "ops/hw/common.h"

namespace sf {

void vvau_emit_rtl(rtl::LayerEmitter& e);  // vvau_rtl.cpp

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
  d.emit_rtl = vvau_emit_rtl;
  d.estimate = [](const Node& n, const Model& m) {
    const VvauAttrs a = read(n);
    HwEstimate e;
    const int64_t kk = a.k[0] * a.k[1];
    e.cycles = a.c * kk / a.pe / a.simd * a.dim[0] * a.dim[1];
    // The MVAU's FINN-R terms with P*SIMD multipliers; weights in LUTRAM.
    const int W = a.wdt.bitwidth(), A = a.idt.bitwidth();
    const int acc_bits = n.has_attr("accDataType") ? hw::dtype_attr(n, "accDataType").bitwidth()
                                                   : hw::acc_datatype(a.idt, a.wdt, kk).bitwidth();
    const double mult = a.res_type == "dsp" ? 0.0 : (double)a.simd * (2 * std::ceil((W + A) / 6.0) - 1) * (W + A);
    const double adder = (double)(W + A) * (2 * a.simd - 1);
    const double act = a.no_act ? 0.0 : (std::pow(2.0, a.odt.bitwidth()) - 1) * acc_bits * 2;
    const int64_t wmem = a.c * kk / (a.pe * a.simd);
    e.lut = 300 + 1.1 * a.pe * (mult + adder + acc_bits + act) + (double)(a.pe * a.simd * W) * std::ceil(wmem / 64.0);
    e.dsp = a.res_type == "dsp" ? (double)(a.pe * a.simd) * std::ceil((W + A) / 48.0) : 0.0;
    // FF: a first-order model, to be calibrated against Yosys later. Per PE an
    // accumulator and an output register; PE*SIMD input and weight registers
    // (each lane has its own channel, nothing is shared as in the MVAU); ~32
    // control bits and the weight address counter.
    const int out_bits = a.no_act ? acc_bits : a.odt.bitwidth();
    e.ff = (double)a.pe * (acc_bits + out_bits) + (double)(a.pe * a.simd) * (A + W) + 32 + hw::clog2(wmem);
    return e;
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(make_vvau_def());

}  // namespace sf
