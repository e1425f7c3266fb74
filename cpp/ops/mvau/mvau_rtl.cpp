// RTL emitter of the MVAU (sf_mvau): parameters from the node, the weight ROM
// as (PE, WMEM, SIMD) words (PE0/SIMD0 in the LSBs, BIPOLAR as {0,1}) and the
// threshold ROMs of the binary-search activation (thresholding_rtl.h).
#include <algorithm>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/hw/ext_weights.h"
#include "ops/mvau/mvau_params.h"
#include "ops/thresholding/thresholding_rtl.h"

namespace sf::rtl {
namespace {

// 0 unsigned, 1 signed (two's complement, TERNARY included), 2 bipolar.
int kind_of(const DataType& t) {
  if (t.kind() == DataType::Kind::BIPOLAR) return 2;
  return t.is_signed() ? 1 : 0;
}

DataType acc_type(const Node& n, const DataType& idt, const DataType& wdt, int64_t mw, bool xnor) {
  if (n.has_attr("accDataType")) return hw::dtype_attr(n, "accDataType");
  if (xnor) return hw::range_datatype(0, (double)mw);
  return hw::acc_datatype(idt, wdt, mw);
}

}  // namespace

bool mvau_uses_dsp(const Node& n) {
  const DataType idt = hw::dtype_attr(n, "inputDataType"), wdt = hw::dtype_attr(n, "weightDataType");
  if (n.get_int("binaryXnorMode", 0) != 0 || kind_of(idt) == 2 || kind_of(wdt) == 2) return false;
  const std::string r = n.get_string("resType", "auto");
  if (r == "dsp") return true;
  if (r == "lut") return false;
  return idt.bitwidth() >= 4 && wdt.bitwidth() >= 4;
}

bool mvau_weights_in_bram(const Node& n) {
  const std::string s = n.get_string("ram_style", "auto");
  if (s == "block" || s == "ultra") return true;
  if (s == "distributed") return false;
  const int64_t wmem = hw::pos_int(n, "MW") * hw::pos_int(n, "MH") / (hw::pos_int(n, "PE") * hw::pos_int(n, "SIMD"));
  return wmem > 128;
}

// Weights: W[c][k] = w[k][c]; word nf*SF + sf holds (p, s) at bits (p*SIMD + s)*WBITS.
std::vector<Bits> mvau_weight_words(const Node& n, const Tensor& wt) {
  const int64_t mw = hw::pos_int(n, "MW"), mh = hw::pos_int(n, "MH");
  const int64_t simd = hw::pos_int(n, "SIMD"), pe = hw::pos_int(n, "PE");
  const DataType wdt = hw::dtype_attr(n, "weightDataType");
  const int wb = wdt.bitwidth();
  const int64_t sf = mw / simd, nf = mh / pe;
  const std::vector<int64_t> wc = mvau_weight_codes(n, wt, mw, mh, wdt);
  std::vector<Bits> words;
  words.reserve((size_t)(sf * nf));
  for (int64_t f = 0; f < nf; ++f)
    for (int64_t s = 0; s < sf; ++s) {
      Bits b((int)(pe * simd * wb));
      for (int64_t p = 0; p < pe; ++p)
        for (int64_t q = 0; q < simd; ++q)
          b.set((int)((p * simd + q) * wb), wb, wc[(size_t)((s * simd + q) * mh + f * pe + p)]);
      words.push_back(b);
    }
  return words;
}

void mvau_emit_rtl(LayerEmitter& e) {
  const Node& n = e.node();
  const MvauAttrs a = mvau_attrs(n, "RTL");
  const int64_t mw = a.mw, mh = a.mh, simd = a.simd, pe = a.pe;
  const DataType &idt = a.idt, &wdt = a.wdt;
  const bool xnor = a.xnor, no_act = a.no_act;
  // mem_mode external: no ROM, the weights arrive on in1_V (ext_weights.h).
  const bool ext = n.get_string("mem_mode", "internal_decoupled") == "external";
  const DataType acc = acc_type(n, idt, wdt, mw, xnor);
  if (!acc.is_integer() || acc.bitwidth() > 48)
    op_fail(n, fmt::format("accumulator type {} is not an integer type of at most 48 bits", acc.name()),
            "run step_minimize_bit_width, or set accDataType");
  const DataType odt = no_act && !n.has_attr("outputDataType") ? acc : hw::dtype_attr(n, "outputDataType");
  const int ib = idt.bitwidth(), wb = wdt.bitwidth(), aw = acc.bitwidth(), ob = odt.bitwidth();
  const bool as = acc.is_signed();

  // Product range (x * w over the operand value ranges).
  const double c[4] = {idt.min() * wdt.min(), idt.min() * wdt.max(), idt.max() * wdt.min(), idt.max() * wdt.max()};
  const double plo = std::min(0.0, *std::min_element(c, c + 4)), phi = std::max(0.0, *std::max_element(c, c + 4));
  const DataType pt = hw::range_datatype(plo, phi);

  const std::vector<Bits> words = mvau_weight_words(n, e.initializer(1));
  const std::string wfile = ext ? "" : e.memh("weights", words);

  std::vector<Param> ps = {param("MW", mw),          param("MH", mh),
                           param("SIMD", simd),      param("PE", pe),
                           param("IBITS", ib),       param("IKIND", kind_of(idt)),
                           param("WBITS", wb),       param("WKIND", kind_of(wdt)),
                           param("XNOR", xnor),      param("PW", pt.bitwidth()),
                           param("PSIGNED", plo < 0), param("AW", aw),
                           param("ASIGNED", as),     param("DSP", mvau_uses_dsp(n)),
                           param("NOACT", no_act),   param("REG_EVERY", kMvauRegEvery)};
  if (ext)
    ps.push_back(param("EXT_W", 1));
  else
    ps.insert(ps.end(), {param_str("WMEM_FILE", wfile), param("W_BLOCK", mvau_weights_in_bram(n))});
  if (no_act) {
    ps.push_back(param("OBITS", ob));
  } else {
    if (n.inputs.size() < 3 || n.inputs[2].empty())
      op_fail(n, "noActivation=0 but no thresholds (input 2) are connected", "connect the thresholds or set noActivation=1");
    const std::vector<Param> tp =
        threshold_params(e, e.initializer(2), mh, pe, aw, as, odt, n.get_int("ActVal", 0),
                         n.get_string("ram_style_thresholds", "auto"));  // SetFolding may choose it (issue 16)
    ps.insert(ps.end(), tp.begin(), tp.end());
  }
  if (n.has_attr("outputDataType")) {  // (hw::stream_shapes needs it)
    const hw::StreamShapes ss = hw::stream_shapes(n);
    if (ss.in_width != simd * ib || ss.out_width != pe * ob)
      op_fail(n, fmt::format("stream widths {}/{} differ from the core's {}/{}", ss.in_width, ss.out_width, simd * ib,
                             pe * ob),
              "internal error");
  }
  e.use({"sf_mvau_outq", xnor ? "sf_popcount" : "sf_addtree", "sf_addtree"});
  std::vector<Stream> ins = {{"in0_V", (int)(simd * ib)}};
  if (ext) {
    Stream w{"in1_V", (int)(pe * simd * wb)};
    w.weights = true;
    w.pass_beats = (int64_t)words.size();
    w.repeat = hw::prod(hw::pos_ints(n, "numInputVectors", 0, {1}));
    ins.push_back(w);
  } else {
    e.use({"sf_rom"});
  }
  e.top("sf_mvau", ps, ins, {{"out_V", (int)(pe * ob)}});
}

}  // namespace sf::rtl
