// HLS emitter of FMPadding (hlslib/sf_fmpadding.hpp): the RTL layer's
// geometry and pad word (fmpadding_params.h).
#include <fmt/format.h>

#include "ops/fmpadding/fmpadding_params.h"
#include "ops/hw/hls_emit.h"

namespace sf::fmpadding_rtl {

void emit_hls(hls::LayerEmitter& e) {
  const FMPaddingGeom g = fmpadding_geom(e.node());
  // The pad value's bits-bit two's complement pattern.
  const uint64_t pattern =
      g.bits >= 64 ? (uint64_t)g.pad_value : (uint64_t)g.pad_value & ((uint64_t(1) << g.bits) - 1);
  e.use({"sf_fmpadding.hpp"});
  e.top(fmt::format("  sf::FMPadding<{}, {}, {}, {}, {}, {}, {}, {}, {}, {}ULL>(in0_V, out_V, 1);\n", g.bits, g.simd,
                    g.cf, g.ih, g.iw, g.oh, g.ow, g.pt, g.pl, pattern),
        {{"in0_V", (int)g.s.in_width}}, {{"out_V", (int)g.s.out_width}});
}

}  // namespace sf::fmpadding_rtl
