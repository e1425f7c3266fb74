// RTL emitter of the VVAU (sf_vvau: sf_vvau_mac, then sf_thresholding unless
// noActivation).
//
// Stream order. The node's input tensor is (N, H, W, Kh*Kw*C) in Im2Col order
// (kh, kw, c), as the reference execution reads it. The hardware stream is
// FINN's depthwise layout, what a depthwise SWG emits: per pixel, for each
// channel fold cf (C/PE), for each tap fold sf (K/SIMD), one beat of SIMD taps
// x PE channels, element s*PE + p = tap sf*SIMD + s of channel cf*PE + p.
// (FINN: VVAU's folded input (sf*nf, SIMD*PE) with the SWG's depthwise output
// order (C/PE, K, PE); a width converter packs SIMD consecutive SWG beats.)
// So the innermost axis, viewed as (SF, SIMD, NF, PE), travels transposed to
// (NF, SF, SIMD, PE): order_shape / order_perm on in0_V. The output
// (N, H, W, C) is plain: beat cf carries channels cf*PE .. cf*PE + PE-1.
//
// Weights (C, 1, Kh, Kw): memory word cf*SF + sf holds at bits
// [(p*SIMD + s)*W +: W] the weight of channel cf*PE + p, tap sf*SIMD + s
// (bipolar as {0,1}). Thresholds: thresholding_rtl.h, rows by channel fold.
#include <algorithm>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/vvau/vvau_params.h"
#include "ops/hw/ext_weights.h"
#include "ops/hw/rtl_emit.h"
#include "ops/thresholding/thresholding_rtl.h"

namespace sf {

namespace {

// sf_vvau_mac element encodings.
int kind_code(const Node& n, const DataType& t, const char* what) {
  switch (t.kind()) {
    case DataType::Kind::BINARY:
    case DataType::Kind::UINT:
      return 0;
    case DataType::Kind::INT:
    case DataType::Kind::TERNARY:
      return 1;
    case DataType::Kind::BIPOLAR:
      return 2;
    default:
      op_fail(n, fmt::format("{} {} has no RTL VVAU", what, t.name()),
              "the RTL VVAU multiplies integers of 1 to 8 bits (INTn, UINTn, BIPOLAR, TERNARY)");
  }
}

}  // namespace

// Shared with the cost model (vvau.cpp), so the two cannot disagree.
// Accumulator: the range of K products of the two types, or accDataType when
// that is narrower (FINN minimizes it from the actual weights).
DataType vvau_rtl_acc_type(const Node& n) {
  const auto k = hw::pos_ints(n, "Kernel", 2);
  DataType acc = hw::acc_datatype(hw::dtype_attr(n, "inputDataType"), hw::dtype_attr(n, "weightDataType"),
                                  k[0] * k[1]);
  if (n.has_attr("accDataType")) {
    const DataType a = hw::dtype_attr(n, "accDataType");
    if (a.is_integer() && a.bitwidth() < acc.bitwidth()) acc = a;
  }
  return acc;
}

// Weight ROM in BRAM: ram_style block (or ultra), or auto with 256 words or
// more; otherwise LUTs (distributed ROM).
bool vvau_rtl_weights_in_bram(const Node& n) {
  const std::string rs = hw::choice(n, "ram_style", "auto", {"auto", "block", "distributed", "ultra"});
  const auto k = hw::pos_ints(n, "Kernel", 2);
  const int64_t wmem = hw::pos_int(n, "Channels") * k[0] * k[1] / (hw::pos_int(n, "PE") * hw::pos_int(n, "SIMD", 1));
  return rs == "block" || rs == "ultra" || (rs == "auto" && wmem >= 256);
}

// resType dsp puts the multipliers into DSP48E1 when both operands have 4 bits
// or more; narrower products are cheaper in LUTs.
bool vvau_rtl_uses_dsp(const Node& n) {
  return hw::choice(n, "resType", "auto", {"auto", "lut", "dsp"}) == "dsp" &&
         hw::dtype_attr(n, "inputDataType").bitwidth() >= 4 && hw::dtype_attr(n, "weightDataType").bitwidth() >= 4;
}

std::vector<rtl::Bits> rtl::vvau_weight_words(const Node& n, const Tensor& w) {
  const auto k = hw::pos_ints(n, "Kernel", 2);
  const int64_t c = hw::pos_int(n, "Channels"), pe = hw::pos_int(n, "PE"), simd = hw::pos_int(n, "SIMD", 1);
  const int64_t kk = k[0] * k[1], nf = c / pe, sf = kk / simd;
  const DataType wdt = hw::dtype_attr(n, "weightDataType");
  const int wb = wdt.bitwidth();
  const std::vector<int64_t> wc = vvau_weight_codes(n, w, c, kk, wdt);
  std::vector<rtl::Bits> words;
  words.reserve((size_t)(nf * sf));
  for (int64_t f = 0; f < nf; ++f)
    for (int64_t t = 0; t < sf; ++t) {
      rtl::Bits word((int)(pe * simd * wb));
      for (int64_t p = 0; p < pe; ++p)
        for (int64_t s = 0; s < simd; ++s)
          word.set((int)((p * simd + s) * wb), wb, wc[(size_t)((f * pe + p) * kk + t * simd + s)]);
      words.push_back(word);
    }
  return words;
}

void vvau_emit_rtl(rtl::LayerEmitter& e) {
  const Node& n = e.node();
  const VvauAttrs a = vvau_attrs(n);
  const int64_t c = a.c, pe = a.pe, simd = a.simd, nf = a.nf, sf = a.sf;
  const DataType &idt = a.idt, &wdt = a.wdt, &odt = a.odt;
  const bool no_act = a.no_act;
  const int ikind = kind_code(n, idt, "inputDataType"), wkind = kind_code(n, wdt, "weightDataType");
  const int ib = idt.bitwidth(), wb = wdt.bitwidth();
  if (ib > 8 || wb > 8)
    op_fail(n, fmt::format("{} x {}: the RTL VVAU takes inputs and weights of at most 8 bits", idt.name(), wdt.name()),
            "quantize to 8 bits or fewer");
  // mem_mode external: no ROM, the weights arrive on in1_V (ext_weights.h).
  const bool ext = n.get_string("mem_mode", "internal_embedded") == "external";
  const std::string ram_style = hw::choice(n, "ram_style", "auto", {"auto", "block", "distributed", "ultra"});

  const DataType acc = vvau_rtl_acc_type(n);
  const int aw = std::max(2, acc.bitwidth());
  const bool asigned = acc.is_signed();

  // Weight memory (or, external, the stream's words).
  const std::vector<rtl::Bits> words = rtl::vvau_weight_words(n, e.initializer(1));
  const std::string wfile = ext ? "weights.dat" : e.memh("weights", words);
  const bool block = vvau_rtl_weights_in_bram(n), use_dsp = vvau_rtl_uses_dsp(n);

  std::vector<rtl::Param> ps = {rtl::param("PE", pe),
                                rtl::param("SIMD", simd),
                                rtl::param("NF", nf),
                                rtl::param("SF", sf),
                                rtl::param("IW", ib),
                                rtl::param("WW", wb),
                                rtl::param("IKIND", ikind),
                                rtl::param("WKIND", wkind),
                                rtl::param("AW", aw),
                                rtl::param("ASIGNED", asigned ? 1 : 0),
                                rtl::param("USE_DSP", use_dsp ? 1 : 0),
                                rtl::param_str("WEIGHT_FILE", wfile),
                                rtl::param_str("RAM_STYLE", block ? "block" : "distributed"),
                                rtl::param("NO_ACT", no_act ? 1 : 0)};
  if (ext) ps.push_back(rtl::param("EXT_W", 1));
  if (no_act) {
    ps.push_back(rtl::param("OBITS", odt.bitwidth()));
  } else {
    vvau_check_thresholded(n, odt);
    const std::vector<rtl::Param> tp =
        rtl::threshold_params(e, e.initializer(2), c, pe, aw, asigned, odt, n.get_int("ActVal", 0),
                              ram_style == "ultra" ? "block" : ram_style);
    ps.insert(ps.end(), tp.begin(), tp.end());
    e.use({"sf_thresholding", "sf_mvau_outq"});
  }

  const hw::StreamShapes ss = hw::stream_shapes(n);
  const int in_w = (int)(pe * simd * ib), out_w = (int)(pe * odt.bitwidth());
  if (ss.in_width != in_w || ss.out_width != out_w)
    op_fail(n, fmt::format("stream widths {}/{} differ from the core's {}/{}", ss.in_width, ss.out_width, in_w, out_w),
            "internal error in the VVAU RTL emitter");
  rtl::Stream in{"in0_V", in_w};
  in.order_shape = {sf, simd, nf, pe};
  in.order_perm = {2, 0, 1, 3};
  e.use({"sf_vvau_mac", "sf_skid"});
  std::vector<rtl::Stream> ins = {in};
  if (ext) {
    rtl::Stream ws{"in1_V", (int)(pe * simd * wb)};
    ws.weights = true;
    ws.pass_beats = (int64_t)words.size();
    ws.repeat = hw::prod(hw::pos_ints(n, "Dim", 2));
    ins.push_back(ws);
  }
  e.top("sf_vvau", ps, ins, {{"out_V", out_w}});
}

}  // namespace sf
