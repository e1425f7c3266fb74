// HLS emitter of Pool (hlslib/sf_pool.hpp): MaxPool, AccPool and
// QuantAvgPool with the RTL layer's arithmetic (pool_hw_params.h) and input
// order (the depthwise SWG stream: the window axis (kh*kw, C/PE, PE) travels
// as (C/PE, kh*kw, PE)). AvgPool's float mean has no HLS layer either.
#include <fmt/format.h>

#include "ops/hw/hls_emit.h"
#include "ops/pool_hw/pool_hw_params.h"
#include "ops/thresholding/thresholding_hls.h"

namespace sf::pool_hw_rtl {

void emit_hls(hls::LayerEmitter& e) {
  const PoolGeom g = pool_geom(e.node(), "HLS");
  const bool obip = g.odt.kind() == DataType::Kind::BIPOLAR;
  e.use({"sf_pool.hpp"});
  hls::Stream in{"in0_V", (int)g.s.in_width, {g.kk, g.c / g.pe, g.pe}, {1, 0, 2}};
  e.top(fmt::format("  sf::Pool<{}, {}, {}, {}, {}, {}, {}, {}, {}>(in0_V, out_V, 1);\n", g.idt.bitwidth(), g.obits,
                    g.pe, g.kk, g.od[0] * g.od[1] * (g.c / g.pe), g.f, g.shift, hls::kind_of(g.idt),
                    obip ? "true" : "false"),
        {in}, {{"out_V", (int)g.s.out_width}});
}

}  // namespace sf::pool_hw_rtl
