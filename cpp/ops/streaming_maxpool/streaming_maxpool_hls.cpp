// HLS emitter of StreamingMaxPool (hlslib/sf_streaming_maxpool.hpp), on the
// RTL layer's geometry (floor/ceil mode output size, BIPOLAR compared as its
// {0,1} code, which orders like the values).
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/hw/hls_emit.h"

namespace sf::streaming_maxpool_rtl {

void emit_hls(hls::LayerEmitter& e) {
  const Node& n = e.node();
  const auto img = hw::pos_ints(n, "ImgDim", 2), k = hw::pos_ints(n, "PoolDim", 2);
  const int64_t c = hw::pos_int(n, "NumChannels"), pe = hw::pos_int(n, "PE", 1);
  const bool ceil_mode = n.get_int("CeilMode", 0) != 0;
  const DataType dt = hw::dtype_attr(n, "dataType");
  const hw::StreamShapes s = hw::stream_shapes(n);
  int64_t od[2];
  for (int i = 0; i < 2; ++i) od[i] = ceil_mode ? (img[i] + k[i] - 1) / k[i] : img[i] / k[i];
  const bool is_signed = dt.is_signed() && dt.kind() != DataType::Kind::BIPOLAR;
  e.use({"sf_streaming_maxpool.hpp"});
  e.top(fmt::format("  sf::StreamingMaxPool<{}, {}, {}, {}, {}, {}, {}, {}, {}, {}>(in0_V, out_V, 1);\n",
                    dt.bitwidth(), pe, c / pe, img[0], img[1], k[0], k[1], od[0], od[1], is_signed ? "true" : "false"),
        {{"in0_V", (int)s.in_width}}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf::streaming_maxpool_rtl
