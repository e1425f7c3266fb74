// RTL emitter of Pool (core: sf_pool, cpp/ops/pool_hw/rtl/). The input is a
// depthwise sliding-window stream: per output pixel C/PE channel groups, each
// Kh*Kw beats (the taps) of PE channels, so the normal input's window axis
// (kh*kw, C/PE, PE) travels as (C/PE, kh*kw, PE). Parameters: pool_hw_params.h.
#include "ops/hw/rtl_emit.h"
#include "ops/pool_hw/pool_hw_params.h"

namespace sf::pool_hw_rtl {

void emit(rtl::LayerEmitter& e) {
  const PoolGeom g = pool_geom(e.node(), "RTL");
  const bool bip = g.idt.kind() == DataType::Kind::BIPOLAR;
  const bool obip = g.odt.kind() == DataType::Kind::BIPOLAR;
  e.use({"sf_skid"});
  rtl::Stream in{"in0_V", (int)g.s.in_width, {g.kk, g.c / g.pe, g.pe}, {1, 0, 2}};
  e.top("sf_pool",
        {rtl::param("BITS", g.idt.bitwidth()), rtl::param("OBITS", g.obits), rtl::param("PE", g.pe),
         rtl::param("KK", g.kk), rtl::param("FUNC", g.f), rtl::param("SHIFT", g.shift),
         rtl::param("SIGNED", g.idt.is_signed() && !bip ? 1 : 0), rtl::param("BIPOLAR", bip ? 1 : 0),
         rtl::param("OBIPOLAR", obip ? 1 : 0)},
        {in}, {{"out_V", (int)g.s.out_width}});
}

}  // namespace sf::pool_hw_rtl
