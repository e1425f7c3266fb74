// HLS emitter of StreamingConcat (hlslib/sf_concat.hpp): inputs in0_V ..
// in{N-1}_V of one width (as the RTL layer), the folds as a constant array.
#include <fmt/format.h>

#include "ops/hw/hls_emit.h"
#include "ops/streaming_concat/streaming_concat_params.h"

namespace sf {

void concat_emit_hls(hls::LayerEmitter& e) {
  const ConcatGeom g = concat_geom(e.node(), "the HLS layer");
  // Pixels per frame: the frame is the normal input without its leading axis.
  int64_t pixels = 1;
  for (size_t i = 1; i + 1 < g.s.normal_in.size(); ++i) pixels *= g.s.normal_in[i];
  int64_t sum = 0;
  std::string folds, args;
  std::vector<hls::Stream> ins;
  for (size_t i = 0; i < g.ch.size(); ++i) {
    sum += g.ch[i] / g.simd;
    folds += fmt::format("{}{}", i ? ", " : "", g.ch[i] / g.simd);
    args += fmt::format(", in{}_V", i);
    ins.push_back({fmt::format("in{}_V", i), (int)g.s.in_width});
  }
  e.use({"sf_concat.hpp"});
  e.top(fmt::format("  static const unsigned folds[{}] = {{{}}};\n"
                    "  sf::StreamingConcat<{}, {}, {}>(out_V, folds, 1{});\n",
                    g.ch.size(), folds, g.s.in_width, pixels, sum, args),
        ins, {{"out_V", (int)g.s.out_width}});
}

}  // namespace sf
