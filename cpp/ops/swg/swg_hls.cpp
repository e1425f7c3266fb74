// HLS emitter of ConvolutionInputGenerator (hlslib/sf_swg.hpp). The geometry
// is the RTL core's (swg_rtl::geom: a 1-D window along the width runs as a
// column of single-pixel rows), and so are the beat order (depthwise:
// order_shape/order_perm as the RTL emitter states it) and the line buffer's
// storage rule, so an HLS and an RTL SWG are interchangeable node by node.
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/hw/hls_emit.h"
#include "ops/swg/swg_rtl.h"

namespace sf::swg_rtl {

void emit_hls(hls::LayerEmitter& e) {
  const Node& n = e.node();
  const Geom g = geom(n);
  const LineBuffer lb = line_buffer(n, g, "the HLS");
  const hw::StreamShapes& s = lb.s;
  const int64_t words = lb.words, width = lb.width;
  // The RTL layer's memory rule (line_buffer), with ultra as URAM.
  const char* impl = lb.ram_style == "ultra" ? "uram" : lb.in_bram ? "bram" : "lutram";
  e.use({"sf_swg.hpp"});
  // static: the line buffer can be large, and cppsim must not put it on the stack.
  const std::string body = fmt::format(
      "  static ap_uint<{0}> buf[{1}];\n"
      "#pragma HLS BIND_STORAGE variable=buf type=ram_s2p impl={2}\n"
      "  sf::ConvolutionInputGenerator<{0}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}, {11}, {12}, {13}, {14}, {15}>"
      "(in0_V, out_V, buf, 1);\n",
      width, words, impl, g.cf, g.ifh, g.ifw, g.ofh, g.ofw, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.rb,
      g.depthwise ? "true" : "false");
  hls::Stream out{"out_V", (int)s.out_width};
  if (g.depthwise) {
    // As the RTL: the normal window axis (kh*kw, C/SIMD, SIMD) travels as (C/SIMD, kh*kw, SIMD).
    out.order_shape = {g.kh * g.kw, g.cf, g.simd};
    out.order_perm = {1, 0, 2};
  }
  e.top(body, {{"in0_V", (int)s.in_width}}, {out});
}

}  // namespace sf::swg_rtl
