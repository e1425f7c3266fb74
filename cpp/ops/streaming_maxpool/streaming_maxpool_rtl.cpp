// RTL emitter of StreamingMaxPool (core: sf_streaming_maxpool,
// cpp/ops/streaming_maxpool/rtl/).
#include "ops/hw/common.h"
#include "ops/hw/rtl_emit.h"

namespace sf::streaming_maxpool_rtl {

void emit(rtl::LayerEmitter& e) {
  const Node& n = e.node();
  const auto img = hw::pos_ints(n, "ImgDim", 2), k = hw::pos_ints(n, "PoolDim", 2);
  const int64_t c = hw::pos_int(n, "NumChannels"), pe = hw::pos_int(n, "PE", 1);
  const bool ceil_mode = n.get_int("CeilMode", 0) != 0;
  const DataType dt = hw::dtype_attr(n, "dataType");
  const hw::StreamShapes s = hw::stream_shapes(n);
  int64_t od[2];
  for (int i = 0; i < 2; ++i) od[i] = ceil_mode ? (img[i] + k[i] - 1) / k[i] : img[i] / k[i];
  // Row buffer: one running maximum per (output column, channel group); a
  // window of one row closes within its row, so then C/PE words suffice.
  const int64_t words = (k[0] > 1 ? od[1] : 1) * (c / pe), width = s.in_width;
  const std::string rs = n.get_string("ram_style", "auto");
  const bool block = rs == "block" || rs == "ultra" || (rs == "auto" && words * width > 4096);
  // BIPOLAR travels as {0,1}: unsigned order is the value order.
  const bool is_signed = dt.is_signed() && dt.kind() != DataType::Kind::BIPOLAR;
  e.use({"sf_skid", "sf_ram_sdp"});
  e.top("sf_streaming_maxpool",
        {rtl::param("BITS", dt.bitwidth()), rtl::param("PE", pe), rtl::param("CF", c / pe),
         rtl::param("IH", img[0]), rtl::param("IW", img[1]), rtl::param("KH", k[0]), rtl::param("KW", k[1]),
         rtl::param("OH", od[0]), rtl::param("OW", od[1]), rtl::param("SIGNED", is_signed ? 1 : 0),
         rtl::param_str("RAM_STYLE", block ? "block" : "distributed")},
        {{"in0_V", (int)s.in_width}}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf::streaming_maxpool_rtl
