// Stream schedule of the RTL sliding-window generator (sf_swg,
// cpp/ops/swg/rtl/sf_swg.sv) on the geometry its emitter passes (swg_rtl.h:
// the 1-D-as-column swap, RB = min(IFH, SPAN + SH) rows of line buffer).
// Exact, beat for beat, with an always-ready sink.
#include <algorithm>

#include "ops/swg/swg_rtl.h"

namespace sf::swg_rtl {

hw::Schedule schedule(const Node& n, const Model&) {
  const Geom g = geom(n);
  const int64_t roww = g.ifw * g.cf;                 // input beats per buffered row (ROWW)
  const int64_t rd = g.ofw * g.kh * g.kw * g.cf;     // output beats per output row
  hw::Schedule s;
  s.in_beats = {g.ifh * roww};
  s.out_beats = {g.ofh * rd};

  // Output side. With the sink always ready the skid never fills, so
  // adv = 1 and each issued beat leaves three cycles later (issue -> A ->
  // RAM/B -> skid register -> handshake). The reader issues output row oy
  // once avail >= SPAN, i.e. once input row oy*SH + SPAN - 1 of the frame is
  // complete; avail is a register, so it sees the row's last write (at the
  // cycle w of its input handshake) at w+1: the first beat leaves at w+4,
  // hence latency 4 on the last beat of that row. Within an output row avail
  // only grows, so the row issues one beat per cycle (gap 1), and the
  // row-end decrement of avail lands before the next row's first issue
  // check, so row boundaries cost nothing beyond the next need.
  s.latency = 4;
  std::vector<int64_t> need((size_t)s.out_beats[0]);
  for (int64_t oy = 0; oy < g.ofh; ++oy)
    for (int64_t k = 0; k < rd; ++k) need[(size_t)(oy * rd + k)] = (oy * g.sh + g.span) * roww;
  s.need = {{need}};

  // Input side. in_tready = occ < RB, occ = complete rows minus the reader's
  // freed base row. Only the writer's own row completions raise occ, so
  // within a row the writer never stalls; the first beat of row r (frame
  // local) needs freed base >= r - RB + 1. The base is freed when the last
  // read of an output row leaves A (free_now one cycle after its issue);
  // occ, a register, drops one cycle later, which is the cycle before that
  // beat's output handshake (issue + 3): hold_offset = -1. After output row
  // oy the freed base is (oy+1)*SH, after the frame's last row it is the
  // next frame's row 0 (+JF); a frame's first rows may wait on the previous
  // frame's rows (negative hold index).
  s.hold_offset = -1;
  std::vector<int64_t> hold((size_t)s.in_beats[0], hw::kNoHold);
  auto freed_after = [&](int64_t j) {  // freed base (rows, from this frame's start) after output row j
    const int64_t f = j < 0 ? -1 : 0, oy = j - f * g.ofh;
    return f * g.ifh + (oy + 1 < g.ofh ? (oy + 1) * g.sh : g.ifh);
  };
  for (int64_t r = 0; r < g.ifh; ++r) {
    const int64_t want = r - g.rb + 1;
    // Before the previous frame's first row ends the base is -IFH, below any
    // want (r >= 0, RB <= IFH), so some row of the previous or this frame
    // frees it. In the first frame, want <= 0 is met at reset (base 0):
    // run_schedule skips holds that reach before the first frame.
    int64_t j = -g.ofh;
    while (freed_after(j) < want) ++j;
    hold[(size_t)(r * roww)] = (j + 1) * rd - 1;
  }
  s.hold = {hold};
  return s;
}

}  // namespace sf::swg_rtl
