// RTL emitter of FMPadding (core: sf_fmpadding, cpp/ops/fmpadding/rtl/).
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/hw/rtl_emit.h"

namespace sf::fmpadding_rtl {

void emit(rtl::LayerEmitter& e) {
  const Node& n = e.node();
  const auto img = hw::pos_ints(n, "ImgDim", 2);
  const auto pad = n.get_ints("Padding");
  const int64_t c = hw::pos_int(n, "NumChannels"), simd = hw::pos_int(n, "SIMD", 1);
  const DataType dt = hw::dtype_attr(n, "inputDataType");
  const int bits = dt.bitwidth();
  int64_t pv = n.get_int("PadValue", 0);
  if (dt.kind() == DataType::Kind::BIPOLAR) pv = pv > 0 ? 1 : 0;  // BIPOLAR travels as {0,1}
  rtl::Bits word((int)(simd * bits));
  for (int64_t i = 0; i < simd; ++i) word.set((int)(i * bits), bits, pv);
  const hw::StreamShapes s = hw::stream_shapes(n);
  e.top("sf_fmpadding",
        {rtl::param("BITS", bits), rtl::param("SIMD", simd), rtl::param("CF", c / simd),
         rtl::param("OH", img[0] + pad[0] + pad[2]), rtl::param("OW", img[1] + pad[1] + pad[3]),
         rtl::param("PT", pad[0]), rtl::param("PL", pad[1]), rtl::param("IH", img[0]), rtl::param("IW", img[1]),
         {"PAD", fmt::format("{}'h{}", simd * bits, word.hex())}},
        {{"in0_V", (int)s.in_width}}, {{"out_V", (int)s.out_width}});
  e.use({"sf_skid"});
}

}  // namespace sf::fmpadding_rtl
