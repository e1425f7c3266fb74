// HLS emitter of StreamingMaxPool (hlslib/sf_streaming_maxpool.hpp), on the
// RTL layer's geometry (streaming_maxpool_params.h).
#include <fmt/format.h>

#include "ops/hw/hls_emit.h"
#include "ops/streaming_maxpool/streaming_maxpool_params.h"

namespace sf::streaming_maxpool_rtl {

void emit_hls(hls::LayerEmitter& e) {
  const MaxPoolGeom g = maxpool_geom(e.node());
  e.use({"sf_streaming_maxpool.hpp"});
  e.top(fmt::format("  sf::StreamingMaxPool<{}, {}, {}, {}, {}, {}, {}, {}, {}, {}>(in0_V, out_V, 1);\n",
                    g.dt.bitwidth(), g.pe, g.c / g.pe, g.img[0], g.img[1], g.k[0], g.k[1], g.od[0], g.od[1],
                    g.is_signed ? "true" : "false"),
        {{"in0_V", (int)g.s.in_width}}, {{"out_V", (int)g.s.out_width}});
}

}  // namespace sf::streaming_maxpool_rtl
