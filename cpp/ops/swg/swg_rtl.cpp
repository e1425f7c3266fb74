// RTL emitter and cycle model of ConvolutionInputGenerator (core: sf_swg,
// cpp/ops/swg/rtl/sf_swg.sv).
#include "ops/swg/swg_rtl.h"

#include <algorithm>
#include <fmt/format.h>
#include <vector>

#include "ops/hw/common.h"
#include "ops/hw/rtl_emit.h"

namespace sf::swg_rtl {

Geom geom(const Node& n) {
  const auto k = hw::pos_ints(n, "ConvKernelDim", 2), ifm = hw::pos_ints(n, "IFMDim", 2),
             ofm = hw::pos_ints(n, "OFMDim", 2), st = hw::pos_ints(n, "Stride", 2, {1, 1}),
             dil = hw::pos_ints(n, "Dilation", 2, {1, 1});
  const int64_t c = hw::pos_int(n, "IFMChannels"), simd = hw::pos_int(n, "SIMD");
  Geom g{ifm[0], ifm[1], ofm[0], ofm[1], k[0], k[1], st[0], st[1], dil[0], dil[1], c / simd, simd, 0, 0,
         n.get_int("depthwise", 0) != 0};
  if (g.ifh == 1 && g.kh == 1 && g.ifw > 1) {
    std::swap(g.ifh, g.ifw);
    std::swap(g.ofh, g.ofw);
    std::swap(g.kh, g.kw);
    std::swap(g.sh, g.sw);
    std::swap(g.dh, g.dw);
  }
  g.span = (g.kh - 1) * g.dh + 1;
  g.rb = std::min(g.ifh, g.span + g.sh);
  return g;
}

int64_t interval_cycles(const Geom& g, int64_t* first_frame) {
  // Writer: input row r takes wr cycles and may start once the reader has
  // freed row r - rb (the occ < RB check, one cycle after the free). Reader:
  // output row j takes rd cycles and may start the cycle after the last of its
  // span rows is written (the avail >= SPAN check). Replays four frames; the
  // last difference is the steady-state interval.
  const int64_t wr = g.ifw * g.cf, rd = g.ofw * g.kh * g.kw * g.cf;
  const int frames = 4;
  std::vector<int64_t> base;
  for (int f = 0; f < frames; ++f)
    for (int64_t oy = 0; oy < g.ofh; ++oy) base.push_back(f * g.ifh + oy * g.sh);
  base.push_back(frames * g.ifh);
  std::vector<int64_t> comp, free_at, frame_end;
  size_t jf = 0;  // first reader row that frees the row the writer waits for
  auto write_upto = [&](int64_t row) {
    while ((int64_t)comp.size() <= row) {
      const int64_t r = (int64_t)comp.size();
      int64_t s = comp.empty() ? 0 : comp.back() + 1;
      const int64_t need = r - g.rb + 1;
      if (need > 0) {
        while (base[jf + 1] < need) ++jf;
        s = std::max(s, free_at[jf]);
      }
      comp.push_back(s + wr - 1);
    }
  };
  int64_t t = 0;
  for (size_t j = 0; j + 1 < base.size(); ++j) {
    write_upto(base[j] + g.span - 1);
    t = std::max(t, comp[(size_t)(base[j] + g.span - 1)] + 1) + rd;
    free_at.push_back(t + 1);
    if ((int64_t)(j + 1) % g.ofh == 0) frame_end.push_back(t);
  }
  if (first_frame) *first_frame = frame_end[0];
  return frame_end[frames - 1] - frame_end[frames - 2];
}

LineBuffer line_buffer(const Node& n, const Geom& g, const char* layer) {
  LineBuffer b;
  b.s = hw::stream_shapes(n);
  if (b.s.in_width != b.s.out_width)
    op_fail(n,
            fmt::format("inputDataType and outputDataType differ in width; {} sliding window copies elements unchanged",
                        layer),
            "give outputDataType the input's width");
  b.words = g.rb * g.ifw * g.cf;
  b.width = b.s.in_width;
  b.ram_style = n.get_string("ram_style", "auto");
  b.in_bram = b.ram_style == "block" || b.ram_style == "ultra" || (b.ram_style == "auto" && b.words * b.width > 4096);
  return b;
}

void emit(rtl::LayerEmitter& e) {
  const Node& n = e.node();
  const Geom g = geom(n);
  const LineBuffer lb = line_buffer(n, g, "the RTL");
  const hw::StreamShapes& s = lb.s;
  const int bits = (int)(s.in_width / g.simd);
  const bool block = lb.in_bram;
  e.use({"sf_skid", "sf_ram_sdp"});
  std::vector<rtl::Param> p = {
      rtl::param("BITS", bits),       rtl::param("SIMD", g.simd),     rtl::param("CF", g.cf),
      rtl::param("IFH", g.ifh),       rtl::param("IFW", g.ifw),       rtl::param("OFH", g.ofh),
      rtl::param("OFW", g.ofw),       rtl::param("KH", g.kh),         rtl::param("KW", g.kw),
      rtl::param("SH", g.sh),         rtl::param("SW", g.sw),         rtl::param("DH", g.dh),
      rtl::param("DW", g.dw),         rtl::param("DEPTHWISE", g.depthwise ? 1 : 0),
      rtl::param("RB", g.rb),         rtl::param_str("RAM_STYLE", block ? "block" : "distributed")};
  rtl::Stream out{"out_V", (int)s.out_width};
  if (g.depthwise) {
    // The normal output's window axis is (kh*kw, C/SIMD, SIMD); the core emits
    // (C/SIMD, kh*kw, SIMD).
    out.order_shape = {g.kh * g.kw, g.cf, g.simd};
    out.order_perm = {1, 0, 2};
  }
  e.top("sf_swg", p, {{"in0_V", (int)s.in_width}}, {out});
}

}  // namespace sf::swg_rtl
