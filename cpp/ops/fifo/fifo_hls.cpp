// HLS emitter of StreamingFIFO (hlslib/sf_fifo.hpp): a dataflow region of two
// copy processes joined by an hls::stream of the node's depth. Storage as the
// RTL layer chooses it: SRL up to depth 256, block RAM above, unless
// ram_style says otherwise ("block": BRAM, "ultra": URAM, "distributed": SRL).
#include <algorithm>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/hw/hls_emit.h"

namespace sf {

void fifo_emit_hls(hls::LayerEmitter& e) {
  const Node& n = e.node();
  const hw::StreamShapes s = hw::stream_shapes(n);
  const int64_t depth = std::max<int64_t>(2, hw::pos_int(n, "depth"));
  const std::string style = hw::choice(n, "ram_style", "auto", {"auto", "block", "distributed", "ultra"});
  const char* impl = style == "ultra" ? "uram" : (style == "block" || (style == "auto" && depth > 256)) ? "bram" : "srl";
  int64_t beats = 1;
  for (size_t i = 1; i + 1 < s.folded_in.size(); ++i) beats *= s.folded_in[i];
  e.use({"sf_fifo.hpp"});
  e.top(fmt::format("#pragma HLS DATAFLOW\n"
                    "  hls::stream<ap_uint<{0}> > q(\"q\");\n"
                    "#pragma HLS STREAM variable=q depth={1}\n"
                    "#pragma HLS BIND_STORAGE variable=q type=fifo impl={2}\n"
                    "  sf::StreamingFIFO_push<{0}, {3}>(in0_V, q, 1);\n"
                    "  sf::StreamingFIFO_pop<{0}, {3}>(q, out_V, 1);\n",
                    s.in_width, depth, impl, beats),
        {{"in0_V", (int)s.in_width}}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf
