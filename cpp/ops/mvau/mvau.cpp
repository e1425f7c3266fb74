// FINN's MVAU (matrix-vector-activation unit): a MatMul of the (…, MW) input
// with the (MW, MH) weight initializer, then (unless noActivation) the
// threshold activation ActVal + #{t <= acc}. In binaryXnorMode inputs and
// weights are bipolar values encoded as {0,1} and the dot product is the
// XNOR-popcount (number of matching bits), as FINN computes it. Cost models
// (cycles, LUT, BRAM18, URAM, DSP) follow DESIGN §5 / FINN-R.
#include <cmath>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/thresholding/thresholding_rtl.h"

namespace sf::hls {
void mvau_emit_hls(LayerEmitter& e);  // mvau_hls.cpp
}
namespace sf::rtl {
hw::Schedule mvau_schedule(const Node& n, const Model& m);  // mvau_schedule.cpp
}

namespace sf {
namespace {

struct MvauAttrs {
  int64_t mw, mh, simd, pe;
  Shape niv;
  DataType idt, wdt, odt;
  int64_t act_val;
  bool xnor, no_act;
  std::string mem_mode, ram_style, res_type, ram_style_thr;
};

DataType acc_type(const Node& n, const MvauAttrs& a);

MvauAttrs read(const Node& n) {
  MvauAttrs a;
  a.mw = hw::pos_int(n, "MW");
  a.mh = hw::pos_int(n, "MH");
  a.simd = hw::pos_int(n, "SIMD");
  a.pe = hw::pos_int(n, "PE");
  hw::check_fold(n, "SIMD", a.simd, "MW", a.mw);
  hw::check_fold(n, "PE", a.pe, "MH", a.mh);
  a.niv = hw::pos_ints(n, "numInputVectors", 0, {1});
  a.idt = hw::dtype_attr(n, "inputDataType");
  a.wdt = hw::dtype_attr(n, "weightDataType");
  a.act_val = n.get_int("ActVal", 0);
  a.xnor = n.get_int("binaryXnorMode", 0) != 0;
  a.no_act = n.get_int("noActivation", 0) != 0;
  a.mem_mode = hw::choice(n, "mem_mode", "internal_decoupled",
                          {"internal_embedded", "internal_decoupled", "external", "const", "decoupled"});
  a.ram_style = hw::choice(n, "ram_style", "auto", {"auto", "block", "distributed", "ultra"});
  a.res_type = hw::choice(n, "resType", "auto", {"auto", "lut", "dsp"});
  a.ram_style_thr = hw::choice(n, "ram_style_thresholds", "auto", {"auto", "block", "distributed"});
  // Without an activation the accumulator is the output; its type may be left implicit.
  a.odt = a.no_act && !n.has_attr("outputDataType") ? acc_type(n, a) : hw::dtype_attr(n, "outputDataType");
  if (a.xnor && (a.idt.bitwidth() != 1 || a.wdt.bitwidth() != 1))
    op_fail(n,
            fmt::format("binaryXnorMode=1 needs 1-bit input and weight types, got {} and {}", a.idt.name(),
                        a.wdt.name()),
            "set binaryXnorMode=0 for multi-bit layers (XNOR-popcount is for bipolar x bipolar)");
  if (!a.odt.is_integer() && !a.no_act)
    op_fail(n, fmt::format("outputDataType {} is not an integer type", a.odt.name()),
            "a thresholded MVAU outputs integers; use e.g. UINT4 or BIPOLAR");
  return a;
}

DataType acc_type(const Node& n, const MvauAttrs& a) {
  if (n.has_attr("accDataType")) return hw::dtype_attr(n, "accDataType");
  if (a.xnor) return hw::range_datatype(0, (double)a.mw);  // popcount of MW matches
  return hw::acc_datatype(a.idt, a.wdt, a.mw);
}

// The MVAU's output shape for input shape s: s with the last axis MW
// replaced by MH, or, for an FC head reading a whole (1, H, W, C) feature map
// as one vector (the flatten is a no-op on the stream, so AbsorbFlattenIntoMVAU
// drops the Reshape), (1, MH) when H*W*C == MW.
Shape mvau_out_shape(const Node& n, const Shape& s, int64_t mw, int64_t mh) {
  // numInputVectors [1]: one vector per frame, whatever axes it arrives in.
  const auto niv = n.get_ints("numInputVectors", {});
  if (niv.size() == 1 && niv[0] == 1 && s.size() >= 2 && s[0] == 1 && shape_numel(s) == mw) return Shape{1, mh};
  if (!s.empty() && s.back() == mw) {
    Shape o = s;
    o.back() = mh;
    return o;
  }
  op_fail(n, fmt::format("input has shape {}, its last axis must be MW={}", shape_str(s), mw),
          "set MW to the input's last dimension");
}

void mvau_execute(ExecCtx& c) {
  const Node& n = c.node;
  const MvauAttrs a = read(n);
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  const Shape os = mvau_out_shape(n, x.shape(), a.mw, a.mh);
  if (w.shape() != Shape{a.mw, a.mh})
    op_fail(n, fmt::format("weights have shape {}, expected (MW, MH) = ({}, {})", shape_str(w.shape()), a.mw, a.mh),
            "the weight initializer is (MW, MH), like a MatMul's second input");
  const std::vector<double> xv = x.to_double(), wv = w.to_double();
  const int64_t rows = x.numel() / a.mw;
  std::vector<double> acc((size_t)(rows * a.mh), 0.0);
  // Integer values below 2^53 add exactly in double, in any order.
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < a.mw; ++k) {
      const double xk = xv[(size_t)(r * a.mw + k)];
      const double* wr = wv.data() + k * a.mh;
      double* ar = acc.data() + r * a.mh;
      if (a.xnor)
        for (int64_t j = 0; j < a.mh; ++j) ar[j] += (xk == wr[j]) ? 1.0 : 0.0;
      else
        for (int64_t j = 0; j < a.mh; ++j) ar[j] += xk * wr[j];
    }
  hw::write_activation(c, a.no_act, os, acc, a.mh, a.odt, a.act_val);
}

// The estimate describes what the RTL emitter builds (mvau_rtl.cpp): the
// products in DSP48E1s or LUTs and the weights in BRAM or LUTRAM by the
// emitter's own rules (rtl::mvau_uses_dsp / mvau_weights_in_bram), and the
// activation as a binary search over the thresholds (sf_thresh_bsearch, the
// Thresholding layer's calibrated lane cost): B = output bits comparisons
// per PE instead of FINN's 2^B-1 (255 at 8 bits: ~10k LUT per PE with the
// thresholds in LUTs, the figure that put 8-bit CNNs over small boards), the
// stage memories in LUTRAM or BRAM by ram_style_thresholds.
HwEstimate mvau_estimate(const Node& n, const Model& m) {
  const MvauAttrs a = read(n);
  HwEstimate e;
  const int64_t P = a.pe, Q = a.simd;
  const int64_t wmem = a.mw * a.mh / (P * Q), tmem = a.mh / P;
  e.cycles = tmem * (a.mw / Q) * hw::prod(a.niv);
  const int W = a.wdt.bitwidth(), A = a.idt.bitwidth();
  const DataType adt = acc_type(n, a);
  const int acc_bits = adt.bitwidth();
  const bool external = a.mem_mode == "external";
  const bool ultra = a.ram_style == "ultra" && !external;
  const bool bram_w = !external && !ultra && rtl::mvau_weights_in_bram(n);
  // Weights in LUTs instead of BRAM (FINN's c2 term), as the RTL places them
  // (rtl::mvau_weights_in_bram: distributed, or auto with WMEM <= 128).
  const bool lutram = !external && !ultra && !bram_w;
  const double c2 = lutram ? (double)(P * Q * W) * std::ceil(wmem / 64.0) : 0.0;
  // Multipliers in DSP48E1 where the RTL puts them (rtl::mvau_uses_dsp: resType
  // dsp, or auto with both operands >= 4 bits and neither bipolar).
  const bool dsp = rtl::mvau_uses_dsp(n);
  const double mult = dsp ? 0.0 : (double)Q * (2 * std::ceil((W + A) / 6.0) - 1) * (W + A);
  const double adder = (double)(W + A) * (2 * Q - 1);
  hw::ThresholdLaneCost lane;
  if (!a.no_act) {
    // Thresholds are stored one bit wider than the accumulator (two for an
    // unsigned one): the emitter clamps them to [min, max + 1].
    const int tw = acc_bits + (adt.min() < 0 ? 1 : 2);
    int stages = 1;
    const int64_t steps = a.odt.kind() == DataType::Kind::BIPOLAR ? 1 : ((int64_t)1 << a.odt.bitwidth()) - 1;
    while (((int64_t)1 << stages) - 1 < steps) ++stages;
    lane = hw::bsearch_threshold_lane(stages, tmem, tw, a.ram_style_thr);
  }
  e.lut = 300 + 1.1 * P * (mult + adder + acc_bits) + (double)P * lane.lut + c2;
  // DSP48E1: one 25x18 multiplier per MAC up to those widths (FINN's figure).
  e.dsp = dsp ? (double)(P * Q) * std::ceil((W + A) / 48.0) : 0.0;
  const int64_t width = P * Q * W;
  e.bram18 = (bram_w ? (double)hw::bram18_count(width, wmem) : 0.0) + (double)P * lane.bram18;
  // UltraRAM: 4K x 72 blocks.
  if (ultra) e.uram = std::ceil(wmem / 4096.0) * std::ceil(width / 72.0);
  // FF: a first-order model, to be calibrated against Yosys later. Per PE an
  // accumulator and an output register; the SIMD-wide input register; the
  // PE*SIMD weight word read each cycle; ~32 bits of handshake/control and the
  // weight and threshold address counters.
  const int out_bits = a.no_act ? acc_bits : a.odt.bitwidth();
  e.ff = (double)P * (acc_bits + out_bits) + (double)Q * A + (double)(P * Q * W) + 32 + hw::clog2(wmem) +
         hw::clog2(tmem);
  return e;
}

OpDef make_mvau_def() {
  OpDef d;
  d.op_type = "MVAU";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = 2;
  d.max_inputs = 3;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    const MvauAttrs a = read(c.node);
    c.set_out(0, ElemType::FLOAT, mvau_out_shape(c.node, c.shape(0), a.mw, a.mh));
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> {
    return {read(c.node).odt};
  };
  d.execute = mvau_execute;
  d.estimate = mvau_estimate;
  d.schedule = rtl::mvau_schedule;
  d.emit_rtl = rtl::mvau_emit_rtl;
  d.emit_hls = hls::mvau_emit_hls;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_mvau_def());

}  // namespace sf
