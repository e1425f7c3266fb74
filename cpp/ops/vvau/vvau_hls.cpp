// HLS emitter of the VVAU (hlslib/sf_vvau.hpp). The input stream has the RTL
// VVAU's depthwise beat order (vvau_rtl.cpp: the innermost axis viewed as
// (SF, SIMD, NF, PE) travels as (NF, SF, SIMD, PE)), so an HLS VVAU reads what
// an RTL or HLS depthwise SWG writes. Weights (C, 1, Kh, Kw): PE lanes of
// NF*SF words of SIMD taps.
#include <fmt/format.h>

#include "ops/vvau/vvau_params.h"
#include "ops/thresholding/thresholding_hls.h"

namespace sf {
bool vvau_rtl_weights_in_bram(const Node& n);  // vvau_rtl.cpp
bool vvau_rtl_uses_dsp(const Node& n);
}

namespace sf::hls {

void vvau_emit_hls(LayerEmitter& e) {
  const Node& n = e.node();
  const VvauAttrs a = vvau_attrs(n);
  const int64_t c = a.c, pe = a.pe, simd = a.simd, kk = a.kk, nf = a.nf, sf = a.sf;
  const DataType &idt = a.idt, &wdt = a.wdt, &odt = a.odt;
  const bool no_act = a.no_act;
  if (!idt.is_integer() || !wdt.is_integer())
    op_fail(n, fmt::format("the HLS VVAU needs integer input and weight types, got {} and {}", idt.name(), wdt.name()),
            "quantize inputs and weights to INTn/UINTn/BIPOLAR/TERNARY");
  if (n.get_string("mem_mode", "internal_embedded") == "external")
    op_fail(n, "mem_mode=external is not supported by the HLS VVAU", "use internal_embedded or internal_decoupled");
  const DataType acc = hw::acc_datatype(idt, wdt, kk);  // exact range of K products
  const int ib = idt.bitwidth(), wb = wdt.bitwidth(), ob = odt.bitwidth();
  const int aw = acc.bitwidth() + 1;

  const std::vector<int64_t> wc = vvau_weight_codes(n, e.initializer(1), c, kk, wdt);
  // One ROM per PE lane (word f*SF + t), in block RAM or LUTs by the RTL layer's rule.
  const LaneRom rom = lane_rom(
      e, "weights", pe, nf * sf, simd, wb,
      [&](int64_t p, int64_t word, int64_t s) {
        const int64_t f = word / sf, t = word % sf;
        return wc[(size_t)((f * pe + p) * kk + t * simd + s)];
      },
      n.get_string("ram_style", "auto") == "ultra" ? "uram" : vvau_rtl_weights_in_bram(n) ? "bram" : "lutram");
  const std::string& w = rom.name;
  std::string pragmas = rom.pragmas;
  std::string thr = "sf::no_thresholds";
  if (!no_act) {
    vvau_check_thresholded(n, odt);
    thr = threshold_array(e, e.initializer(2), c, pe, acc.bitwidth(), acc.is_signed(), pragmas);
  }
  const hw::StreamShapes ss = hw::stream_shapes(n);
  const int in_w = (int)(pe * simd * ib), out_w = (int)(pe * ob);
  if (ss.in_width != in_w || ss.out_width != out_w)
    op_fail(n, fmt::format("stream widths {}/{} differ from the layer's {}/{}", ss.in_width, ss.out_width, in_w, out_w),
            "internal error in the VVAU HLS emitter");
  const int64_t pix = hw::prod(ss.normal_out) / c;
  Stream in{"in0_V", in_w};
  in.order_shape = {sf, simd, nf, pe};
  in.order_perm = {2, 0, 1, 3};
  e.use({"sf_vvau.hpp"});
  e.need_width(aw);
  e.top(pragmas + fmt::format("  sf::vvau<{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}L, {}, {}>"
                              "(in0_V, out_V, {}, {});\n",
                              c, kk, simd, pe, ib, kind_of(idt), wb, kind_of(wdt),
                              vvau_rtl_uses_dsp(n) ? "true" : "false", aw, ob, pix,
                              no_act ? "true" : "false", threshold_bias(odt, n.get_int("ActVal", 0)), w, thr),
        {in}, {{"out_V", out_w}});
}

}  // namespace sf::hls
