// RTL emitter of StreamingConcat: sf_concat over N inputs in0_V..in{N-1}_V,
// all SIMD elements of one datatype wide.
#include <algorithm>
#include <fmt/format.h>

#include "ops/hw/rtl_emit.h"
#include "ops/streaming_concat/streaming_concat_params.h"

namespace sf {

void concat_emit_rtl(rtl::LayerEmitter& e) {
  const ConcatGeom g = concat_geom(e.node(), "the RTL");
  const int nin = (int)g.ch.size();
  rtl::Bits folds(32 * nin);
  int64_t fmax = 1;
  for (int i = 0; i < nin; ++i) {
    folds.set(32 * i, 32, g.ch[(size_t)i] / g.simd);
    fmax = std::max(fmax, g.ch[(size_t)i] / g.simd);
  }
  std::vector<rtl::Stream> ins;
  for (int i = 0; i < nin; ++i) ins.push_back({fmt::format("in{}_V", i), (int)g.s.in_width});
  e.use({"sf_skid"});
  e.top("sf_concat",
        {rtl::param("N", nin), rtl::param("W", g.s.in_width), {"FOLDS", fmt::format("{}'h{}", 32 * nin, folds.hex())},
         rtl::param("FMAX", fmax)},
        ins, {{"out_V", (int)g.s.out_width}});
}

}  // namespace sf
