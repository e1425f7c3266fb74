// HLS emitter of AddStreams (hlslib/sf_addstreams.hpp): in0_V PE*bits0 and
// in1_V PE*bits1 wide, as the RTL layer; the sum in the op's output type.
#include <fmt/format.h>

#include "ops/addstreams/addstreams_params.h"
#include "ops/hw/hls_emit.h"
#include "ops/thresholding/thresholding_hls.h"

namespace sf {

void addstreams_emit_hls(hls::LayerEmitter& e) {
  const Node& n = e.node();
  const AddStreamsTypes t = addstreams_types(n);
  const hw::StreamShapes s = hw::stream_shapes(n);
  int64_t beats = 1;
  for (size_t i = 1; i + 1 < s.folded_in.size(); ++i) beats *= s.folded_in[i];
  e.use({"sf_addstreams.hpp"});
  e.top(fmt::format("  sf::AddStreams<{}, {}, {}, {}, {}, {}, {}>(in0_V, in1_V, out_V, 1);\n", t.pe, t.b0, t.b1,
                    hls::kind_of(t.d0), hls::kind_of(t.d1), t.ob, beats),
        {{"in0_V", (int)t.pe * t.b0}, {"in1_V", (int)t.pe * t.b1}}, {{"out_V", (int)t.pe * t.ob}});
}

}  // namespace sf
