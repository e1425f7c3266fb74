// The RTL sliding-window generator's geometry and cycle model, shared by the
// op's estimate (swg.cpp) and its RTL emitter (swg_rtl.cpp).
#pragma once
#include <cstdint>
#include <string>

#include "ops/hw/common.h"
#include "ops/op.h"

namespace sf {
namespace rtl {
class LayerEmitter;
}
namespace hls {
class LayerEmitter;
}
namespace swg_rtl {

// The window problem as the core runs it: a 1-D window along the width
// (IFMDim [1, L], kernel [1, K]) is turned into a column ([L, 1], [K, 1]),
// whose "rows" are single pixels; the output order is the same.
struct Geom {
  int64_t ifh, ifw, ofh, ofw, kh, kw, sh, sw, dh, dw, cf, simd;
  int64_t span;  // (kh-1)*dh+1 rows per window
  int64_t rb;    // rows in the line buffer: min(ifh, span + sh)
  bool depthwise;
};
Geom geom(const Node& n);
// Cycles per frame in steady state (frames back to back, no stalls), from a
// row-level replay of the core's writer/reader handshake; and the latency of
// the first frame (its last output beat).
int64_t interval_cycles(const Geom& g, int64_t* first_frame = nullptr);
// The line buffer as both layers size it: RB rows x IFW x CF words of the
// stream width (in = out: the window copies elements unchanged, which this
// checks, `layer` ("the RTL", "the HLS") naming the back end in the error);
// in block RAM for ram_style block/ultra, or auto above 4 kbit (the estimate's rule).
struct LineBuffer {
  hw::StreamShapes s;
  int64_t words, width;
  std::string ram_style;
  bool in_bram;
};
LineBuffer line_buffer(const Node& n, const Geom& g, const char* layer);
void emit(rtl::LayerEmitter& e);
// OpDef::schedule: when sf_swg takes and offers beats (swg_schedule.cpp).
hw::Schedule schedule(const Node& n, const Model& m);
// The HLS layer (swg_hls.cpp), on the same geometry.
void emit_hls(hls::LayerEmitter& e);

}  // namespace swg_rtl
}  // namespace sf
