// RTL emitter of FMPadding (core: sf_fmpadding, cpp/ops/fmpadding/rtl/).
#include <fmt/format.h>

#include "ops/fmpadding/fmpadding_params.h"
#include "ops/hw/rtl_emit.h"

namespace sf::fmpadding_rtl {

void emit(rtl::LayerEmitter& e) {
  const FMPaddingGeom g = fmpadding_geom(e.node());
  rtl::Bits word((int)(g.simd * g.bits));
  for (int64_t i = 0; i < g.simd; ++i) word.set((int)(i * g.bits), g.bits, g.pad_value);
  e.top("sf_fmpadding",
        {rtl::param("BITS", g.bits), rtl::param("SIMD", g.simd), rtl::param("CF", g.cf), rtl::param("OH", g.oh),
         rtl::param("OW", g.ow), rtl::param("PT", g.pt), rtl::param("PL", g.pl), rtl::param("IH", g.ih),
         rtl::param("IW", g.iw), {"PAD", fmt::format("{}'h{}", g.simd * g.bits, word.hex())}},
        {{"in0_V", (int)g.s.in_width}}, {{"out_V", (int)g.s.out_width}});
  e.use({"sf_skid"});
}

}  // namespace sf::fmpadding_rtl
