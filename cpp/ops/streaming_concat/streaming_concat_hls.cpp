// HLS emitter of StreamingConcat (hlslib/sf_concat.hpp): inputs in0_V ..
// in{N-1}_V of one width (as the RTL layer), the folds as a constant array.
#include <fmt/format.h>

#include "ops/hw/hls_emit.h"
#include "ops/streaming_concat/streaming_concat_params.h"

namespace sf {

void concat_emit_hls(hls::LayerEmitter& e) {
  const ConcatGeom g = concat_geom(e.node(), "the HLS layer");
  const hw::StreamShapes& s = g.s;
  const std::vector<int64_t>& ch = g.ch;
  const int64_t simd = g.simd;
  // Pixels per frame: the frame is the normal input without its leading axis.
  int64_t pixels = 1;
  for (size_t i = 1; i + 1 < s.normal_in.size(); ++i) pixels *= s.normal_in[i];
  int64_t sum = 0;
  std::string folds, args;
  std::vector<hls::Stream> ins;
  for (size_t i = 0; i < ch.size(); ++i) {
    sum += ch[i] / simd;
    folds += fmt::format("{}{}", i ? ", " : "", ch[i] / simd);
    args += fmt::format(", in{}_V", i);
    ins.push_back({fmt::format("in{}_V", i), (int)s.in_width});
  }
  e.use({"sf_concat.hpp"});
  e.top(fmt::format("  static const unsigned folds[{}] = {{{}}};\n"
                    "  sf::StreamingConcat<{}, {}, {}>(out_V, folds, 1{});\n",
                    ch.size(), folds, s.in_width, pixels, sum, args),
        ins, {{"out_V", (int)s.out_width}});
}

}  // namespace sf
