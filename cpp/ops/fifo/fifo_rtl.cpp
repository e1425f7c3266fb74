// RTL emitter of StreamingFIFO: sf_streaming_fifo (sf_fifo without its
// occupancy ports). SRL storage up to depth 256, block RAM above, unless
// ram_style says otherwise ("block"/"ultra" force BRAM, "distributed" SRL).
#include <algorithm>

#include "ops/hw/common.h"
#include "ops/hw/rtl_emit.h"

namespace sf {

void fifo_emit_rtl(rtl::LayerEmitter& e) {
  const Node& n = e.node();
  const hw::StreamShapes s = hw::stream_shapes(n);
  const int64_t depth = std::max<int64_t>(2, hw::pos_int(n, "depth"));
  const std::string style = hw::choice(n, "ram_style", "auto", {"auto", "block", "distributed", "ultra"});
  const bool bram = style == "block" || style == "ultra" || (style == "auto" && depth > 256);
  e.use({"sf_fifo"});
  e.top("sf_streaming_fifo",
        {rtl::param("W", s.in_width), rtl::param("DEPTH", depth), rtl::param("BRAM", bram ? 1 : 0)},
        {{"in0_V", (int)s.in_width}}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf
