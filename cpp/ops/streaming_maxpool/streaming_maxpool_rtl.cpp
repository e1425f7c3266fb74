// RTL emitter of StreamingMaxPool (core: sf_streaming_maxpool,
// cpp/ops/streaming_maxpool/rtl/), geometry from streaming_maxpool_params.h.
#include "ops/hw/rtl_emit.h"
#include "ops/streaming_maxpool/streaming_maxpool_params.h"

namespace sf::streaming_maxpool_rtl {

void emit(rtl::LayerEmitter& e) {
  const Node& n = e.node();
  const MaxPoolGeom g = maxpool_geom(n);
  // Row buffer: one running maximum per (output column, channel group); a
  // window of one row closes within its row, so then C/PE words suffice.
  const int64_t words = (g.k[0] > 1 ? g.od[1] : 1) * (g.c / g.pe), width = g.s.in_width;
  const std::string rs = n.get_string("ram_style", "auto");
  const bool block = rs == "block" || rs == "ultra" || (rs == "auto" && words * width > 4096);
  e.use({"sf_skid", "sf_ram_sdp"});
  e.top("sf_streaming_maxpool",
        {rtl::param("BITS", g.dt.bitwidth()), rtl::param("PE", g.pe), rtl::param("CF", g.c / g.pe),
         rtl::param("IH", g.img[0]), rtl::param("IW", g.img[1]), rtl::param("KH", g.k[0]), rtl::param("KW", g.k[1]),
         rtl::param("OH", g.od[0]), rtl::param("OW", g.od[1]), rtl::param("SIGNED", g.is_signed ? 1 : 0),
         rtl::param_str("RAM_STYLE", block ? "block" : "distributed")},
        {{"in0_V", (int)g.s.in_width}}, {{"out_V", (int)g.s.out_width}});
}

}  // namespace sf::streaming_maxpool_rtl
