// HLS emitter of the MVAU (hlslib/sf_mvau.hpp): the weights as PE lanes of
// WMEM words of SIMD weights (the RTL layer's memory words, cut per lane),
// the threshold activation of thresholding_hls.h or the accumulator itself.
// mem_mode internal_embedded and internal_decoupled are the same C++ (the
// weights are a constant array either way); external is refused, as by the RTL.
#include <algorithm>
#include <fmt/format.h>

#include "ops/mvau/mvau_params.h"
#include "ops/thresholding/thresholding_hls.h"
#include "ops/thresholding/thresholding_rtl.h"

namespace sf::hls {

void mvau_emit_hls(LayerEmitter& e) {
  const Node& n = e.node();
  const MvauAttrs a = mvau_attrs(n, "HLS");
  const int64_t mw = a.mw, mh = a.mh, simd = a.simd, pe = a.pe;
  const DataType &idt = a.idt, &wdt = a.wdt;
  const bool xnor = a.xnor, no_act = a.no_act;
  if (n.get_string("mem_mode", "internal_decoupled") == "external")
    op_fail(n, "mem_mode=external (weights streamed in) is not implemented by the HLS MVAU",
            "use mem_mode=internal_embedded or internal_decoupled (weights in a memory inside the layer)");
  // The accumulator holds the exact range of MW products (or matches): a
  // narrower accDataType would change results, a wider one only costs.
  const DataType acc = xnor ? hw::range_datatype(0, (double)mw) : hw::acc_datatype(idt, wdt, mw);
  const DataType odt = no_act && !n.has_attr("outputDataType") ? acc : hw::dtype_attr(n, "outputDataType");
  const int ib = idt.bitwidth(), wb = wdt.bitwidth(), ob = odt.bitwidth();
  const int aw = acc.bitwidth() + 1;  // signed container of the signed or unsigned range
  const int64_t sf = a.sf, nf = a.nf;

  const std::vector<int64_t> wc = mvau_weight_codes(n, e.initializer(1), mw, mh, wdt);
  // One ROM per PE lane (word f*SF + s), in block RAM or LUTs by the RTL
  // layer's rule (rtl::mvau_weights_in_bram), so the estimate describes both styles.
  const std::string rs = n.get_string("ram_style", "auto");
  const LaneRom rom = lane_rom(
      e, "weights", pe, nf * sf, simd, wb,
      [&](int64_t p, int64_t word, int64_t q) {
        const int64_t f = word / sf, s = word % sf;
        return wc[(size_t)((s * simd + q) * mh + f * pe + p)];
      },
      rs == "ultra" ? "uram" : rtl::mvau_weights_in_bram(n) ? "bram" : "lutram");
  const std::string& w = rom.name;
  std::string pragmas = rom.pragmas;
  std::string thr = "sf::no_thresholds";
  if (!no_act) {
    if (n.inputs.size() < 3 || n.inputs[2].empty())
      op_fail(n, "noActivation=0 but no thresholds (input 2) are connected",
              "connect the thresholds or set noActivation=1");
    if (!odt.is_integer())
      op_fail(n, fmt::format("outputDataType {} is not an integer type", odt.name()), "use e.g. UINT4 or BIPOLAR");
    thr = threshold_array(e, e.initializer(2), mh, pe, acc.bitwidth(), acc.is_signed(), pragmas);
  }
  const hw::StreamShapes ss = hw::stream_shapes(n);
  if (ss.in_width != simd * ib || ss.out_width != pe * ob)
    op_fail(n, fmt::format("stream widths {}/{} differ from the layer's {}/{}", ss.in_width, ss.out_width, simd * ib,
                           pe * ob),
            "internal error");
  const int64_t vecs = hw::prod(ss.normal_in) / mw;
  e.use({"sf_mvau.hpp"});
  e.need_width(aw);
  e.top(pragmas + fmt::format("  sf::mvau<{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}L, {}, {}>"
                              "(in0_V, out_V, {}, {});\n",
                              mw, mh, simd, pe, ib, kind_of(idt), wb, kind_of(wdt), xnor ? "true" : "false",
                              rtl::mvau_uses_dsp(n) ? "true" : "false", aw, ob,
                              vecs, no_act ? "true" : "false", threshold_bias(odt, n.get_int("ActVal", 0)), w, thr),
        {{"in0_V", (int)(simd * ib)}}, {{"out_V", (int)(pe * ob)}});
}

}  // namespace sf::hls
