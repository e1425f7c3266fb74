// RTL emitter of StreamingDataWidthConverter: the sf_dwc gearbox, working in
// chunks of gcd(inWidth, outWidth) bits.
#include <numeric>

#include "ops/hw/common.h"
#include "ops/hw/rtl_emit.h"

namespace sf {

void dwc_emit_rtl(rtl::LayerEmitter& e) {
  const hw::StreamShapes s = hw::stream_shapes(e.node());
  const int64_t g = std::gcd(s.in_width, s.out_width);
  e.top("sf_dwc", {rtl::param("IW", s.in_width), rtl::param("OW", s.out_width), rtl::param("G", g)},
        {{"in0_V", (int)s.in_width}}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf
