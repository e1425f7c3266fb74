// RTL emitter of ChannelwiseOp: sf_channelwise with the per-channel parameters
// (input 1, C values or one broadcast value) in a ROM of C/PE words, PE lanes
// of paramDataType bits each; ram_style picks the memory (auto: block RAM from
// 1024 words x 18 bits up).
#include <fmt/format.h>

#include "ops/channelwise/channelwise_params.h"
#include "ops/hw/rtl_emit.h"

namespace sf {

void cw_emit_rtl(rtl::LayerEmitter& e) {
  const Node& n = e.node();
  const CwParams g = cw_params(e, "the RTL");
  const hw::StreamShapes& s = g.s;
  const int64_t pe = g.pe, cf = g.cf;
  const DataType &idt = g.idt, &pdt = g.pdt, &odt = g.odt;
  const int pb = pdt.bitwidth(), fn = g.fn;
  std::vector<rtl::Bits> words;
  for (int64_t f = 0; f < cf; ++f) {
    rtl::Bits w((int)(pe * pb));
    for (int64_t k = 0; k < pe; ++k) w.set((int)(k * pb), pb, g.v[(size_t)(f * pe + k)]);
    words.push_back(w);
  }
  const std::string style = hw::choice(n, "ram_style", "auto", {"auto", "block", "distributed", "ultra"});
  const bool block = style == "block" || style == "ultra" || (style == "auto" && cf * pe * pb >= 1024 * 18);
  const std::string file = e.memh("params", words);
  e.use({"sf_skid"});
  e.top("sf_channelwise",
        {rtl::param("PE", pe), rtl::param("IB", idt.bitwidth()), rtl::param("IS", idt.is_signed()),
         rtl::param("IBP", idt.kind() == DataType::Kind::BIPOLAR), rtl::param("PB", pb),
         rtl::param("PS", pdt.is_signed()), rtl::param("OB", odt.bitwidth()), rtl::param("FUNC", fn),
         rtl::param("CF", cf), rtl::param("BLOCK", block ? 1 : 0), rtl::param_str("FILE", file)},
        {{"in0_V", (int)s.in_width}}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf
