// Sliding-window generator (FINN's ConvolutionInputGenerator) for Vitis HLS
// and g++ cppsim. Input: one frame of IFH x IFW pixels, CF beats per pixel
// (SIMD channels each). Output per window (OFH x OFW of them): the beats of
// the KH x KW taps, in the order
//   standard  (DEPTHWISE = false): (ky, kx, cf)  -- an MVAU sees SIMD channels of one tap per beat;
//   depthwise (DEPTHWISE = true):  (cf, ky, kx)  -- a VVAU/Pool sees all taps of one channel group in a row,
// the same beat order as the RTL core (cpp/ops/swg/rtl/sf_swg.sv), so HLS
// and RTL layers can be mixed. Tap (ky, kx) of window (oy, ox) is input pixel
// (oy*SH + ky*DH, ox*SW + kx*DW).
//
// A 1-D window along the width is passed transposed (IFH = L, IFW = 1, ...),
// as the RTL emitter's swg_rtl::geom does: the "rows" are then single pixels
// and the line buffer holds RB pixels instead of a whole row.
//
// Structure: a circular line buffer of RB rows (RB = min(IFH, span + SH),
// span = (KH-1)*DH + 1) and one pipelined loop in which a writer (input row
// wy) and a reader (output row oy) each move at most one beat per iteration.
// Both are driven by counters only, never by stream state, so the schedule is
// fixed: the reader may emit output row oy once rows < oy*SH + span are
// complete; the writer may fill row wy once wy < oy*SH + RB, i.e. the slot it
// overwrites (row wy - RB) lies above the current window. The two never touch
// the same word in one iteration, hence the DEPENDENCE pragma, and the loop
// reaches II=1 with one write and one read port on the buffer. Each side sees
// the other's progress two iterations late (wy, lim and rdone pass through
// two registers), so a word is read no sooner than three iterations after it
// was written and overwritten no sooner than three after its last read:
// declaring the dependence false is then safe for any pipeline depth up to
// that distance, whatever stages the scheduler gives the read and the write.
//
// The caller (the layer top) owns the buffer `buf`, RB * IFW * CF words, so
// that its storage pragma (BIND_STORAGE impl=bram|lutram, from the node's
// ram_style) sits next to its declaration.
#pragma once
#include "sf_common.hpp"

namespace sf {

template <unsigned W,   // bits per beat: SIMD * element bits
          unsigned CF,  // beats per pixel: IFMChannels / SIMD
          unsigned IFH, unsigned IFW, unsigned OFH, unsigned OFW, unsigned KH, unsigned KW, unsigned SH,
          unsigned SW, unsigned DH, unsigned DW,
          unsigned RB,     // rows in the line buffer
          bool DEPTHWISE,  // output beat order, see above
          typename TI, typename TO>
void ConvolutionInputGenerator(hls::stream<TI>& in, hls::stream<TO>& out, ap_uint<W> buf[RB * IFW * CF],
                               unsigned reps) {
  static_assert(W >= 1 && CF >= 1 && IFH >= 1 && IFW >= 1 && OFH >= 1 && OFW >= 1, "empty geometry");
  static_assert(RB >= 1 && RB <= IFH, "the line buffer holds 1..IFH rows");
  static_assert((KH - 1) * DH + 1 <= RB, "a window must fit in the line buffer");
  static_assert((OFH - 1) * SH + (KH - 1) * DH < IFH && (OFW - 1) * SW + (KW - 1) * DW < IFW,
                "the last window leaves the input");
  constexpr unsigned SPAN = (KH - 1) * DH + 1;
  constexpr unsigned ROW = IFW * CF;  // words per buffered row

#pragma HLS INLINE

  for (unsigned rep = 0; rep < reps; ++rep) {
    // Writer: input row wy, pixel wx, channel group wc; wslot = wy % RB.
    unsigned wy = 0, wx = 0, wc = 0, wslot = 0;
    // Reader: output row oy (base = oy*SH % RB its first row's slot; need =
    // oy*SH + SPAN rows must be complete; lim = oy*SH + RB rows may be
    // written), window column ox and the three tap/channel counters, of which
    // t0 is the outermost: (ky, kx, cf) or, depthwise, (cf, ky, kx).
    unsigned oy = 0, ox = 0, t0 = 0, t1 = 0, t2 = 0, base = 0, need = SPAN, lim = RB;
    bool rdone = false;
    // The other side's progress as seen two iterations late (see above).
    unsigned wy_1 = 0, wy_2 = 0, lim_1 = RB, lim_2 = RB;
    bool rdone_1 = false, rdone_2 = false;
  frame:
    while (wy < IFH || !rdone) {
#pragma HLS PIPELINE II=1
#pragma HLS DEPENDENCE variable=buf inter false
#pragma HLS DEPENDENCE variable=buf intra false
      const bool can_r = !rdone && wy_2 >= need;
      const bool can_w = wy < IFH && (rdone_2 || wy < lim_2);
      wy_2 = wy_1;
      wy_1 = wy;
      lim_2 = lim_1;
      lim_1 = lim;
      rdone_2 = rdone_1;
      rdone_1 = rdone;
      if (can_r) {
        const unsigned ky = DEPTHWISE ? t1 : t0, kx = DEPTHWISE ? t2 : t1, cf = DEPTHWISE ? t0 : t2;
        unsigned slot = base + ky * DH;  // < 2 RB: base < RB, ky*DH < SPAN <= RB
        if (slot >= RB) slot -= RB;
        out.write(TO(buf[slot * ROW + (ox * SW + kx * DW) * CF + cf]));
        // Advance (t0, t1, t2) with extents (KH, KW, CF) or, depthwise, (CF, KH, KW).
        constexpr unsigned E1 = DEPTHWISE ? KH : KW, E2 = DEPTHWISE ? KW : CF, E0 = DEPTHWISE ? CF : KH;
        if (t2 + 1 < E2) {
          ++t2;
        } else {
          t2 = 0;
          if (t1 + 1 < E1) {
            ++t1;
          } else {
            t1 = 0;
            if (t0 + 1 < E0) {
              ++t0;
            } else {
              t0 = 0;
              if (ox + 1 < OFW) {
                ++ox;
              } else {
                ox = 0;
                if (oy + 1 < OFH) {
                  ++oy;
                  // SH > RB only when RB = IFH, which leaves a single output
                  // row: then the reader is done before base matters.
                  base += SH;
                  if (base >= RB) base -= RB;
                  need += SH;
                  lim += SH;
                } else {
                  rdone = true;
                }
              }
            }
          }
        }
      }
      if (can_w) {
        buf[wslot * ROW + wx * CF + wc] = ap_uint<W>(in.read());
        if (wc + 1 < CF) {
          ++wc;
        } else {
          wc = 0;
          if (wx + 1 < IFW) {
            ++wx;
          } else {
            wx = 0;
            ++wy;
            wslot = wslot + 1 == RB ? 0 : wslot + 1;
          }
        }
      }
    }
  }
}

}  // namespace sf
