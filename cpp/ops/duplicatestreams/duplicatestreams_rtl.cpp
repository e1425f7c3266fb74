// RTL emitter of DuplicateStreams: sf_duplicate with NumOutputStreams outputs
// named out0_V, out1_V, ... (FINN's names).
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/hw/rtl_emit.h"

namespace sf {

void dup_emit_rtl(rtl::LayerEmitter& e) {
  const Node& n = e.node();
  const hw::StreamShapes s = hw::stream_shapes(n);
  const int64_t nout = hw::pos_int(n, "NumOutputStreams", 2);
  std::vector<rtl::Stream> outs;
  for (int64_t j = 0; j < nout; ++j) outs.push_back({fmt::format("out{}_V", j), (int)s.out_width});
  e.top("sf_duplicate", {rtl::param("W", s.in_width), rtl::param("NO", nout)}, {{"in0_V", (int)s.in_width}}, outs);
}

}  // namespace sf
