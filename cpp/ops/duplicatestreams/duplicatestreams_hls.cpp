// HLS emitter of DuplicateStreams (hlslib/sf_duplicate.hpp): outputs out0_V,
// out1_V, ... as the RTL layer.
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/hw/hls_emit.h"

namespace sf {

void dup_emit_hls(hls::LayerEmitter& e) {
  const Node& n = e.node();
  const hw::StreamShapes s = hw::stream_shapes(n);
  const int64_t nout = hw::pos_int(n, "NumOutputStreams", 2);
  int64_t beats = 1;
  for (size_t i = 1; i + 1 < s.folded_in.size(); ++i) beats *= s.folded_in[i];
  std::vector<hls::Stream> outs;
  std::string args;
  for (int64_t j = 0; j < nout; ++j) {
    outs.push_back({fmt::format("out{}_V", j), (int)s.out_width});
    args += fmt::format(", out{}_V", j);
  }
  e.use({"sf_duplicate.hpp"});
  e.top(fmt::format("  sf::DuplicateStreams<{}, {}>(in0_V, 1{});\n", s.in_width, beats, args),
        {{"in0_V", (int)s.in_width}}, outs);
}

}  // namespace sf
