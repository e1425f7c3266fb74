// HLS emitter of FMPadding (hlslib/sf_fmpadding.hpp): the RTL layer's
// geometry and pad word (BIPOLAR's -1 travels as 0).
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/hw/hls_emit.h"

namespace sf::fmpadding_rtl {

void emit_hls(hls::LayerEmitter& e) {
  const Node& n = e.node();
  const auto img = hw::pos_ints(n, "ImgDim", 2);
  const auto pad = n.get_ints("Padding");
  const int64_t c = hw::pos_int(n, "NumChannels"), simd = hw::pos_int(n, "SIMD", 1);
  const DataType dt = hw::dtype_attr(n, "inputDataType");
  const int bits = dt.bitwidth();
  int64_t pv = n.get_int("PadValue", 0);
  if (dt.kind() == DataType::Kind::BIPOLAR) pv = pv > 0 ? 1 : 0;
  // The pad value's bits-bit two's complement pattern.
  const uint64_t pattern = bits >= 64 ? (uint64_t)pv : (uint64_t)pv & ((uint64_t(1) << bits) - 1);
  const hw::StreamShapes s = hw::stream_shapes(n);
  e.use({"sf_fmpadding.hpp"});
  e.top(fmt::format("  sf::FMPadding<{}, {}, {}, {}, {}, {}, {}, {}, {}, {}ULL>(in0_V, out_V, 1);\n", bits, simd,
                    c / simd, img[0], img[1], img[0] + pad[0] + pad[2], img[1] + pad[1] + pad[3], pad[0], pad[1],
                    pattern),
        {{"in0_V", (int)s.in_width}}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf::fmpadding_rtl
