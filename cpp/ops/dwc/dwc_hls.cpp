// HLS emitter of StreamingDataWidthConverter (hlslib/sf_dwc.hpp): any two
// widths, like the RTL gearbox.
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/hw/hls_emit.h"

namespace sf {

void dwc_emit_hls(hls::LayerEmitter& e) {
  const hw::StreamShapes s = hw::stream_shapes(e.node());
  int64_t beats = 1;
  for (size_t i = 1; i + 1 < s.folded_in.size(); ++i) beats *= s.folded_in[i];
  e.use({"sf_dwc.hpp"});
  e.need_width((int)(s.in_width + s.out_width));  // the gearbox buffer
  e.top(fmt::format("  sf::StreamingDataWidthConverter<{}, {}, {}>(in0_V, out_V, 1);\n", s.in_width, s.out_width,
                    beats),
        {{"in0_V", (int)s.in_width}}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf
