// Non-overlapping max pooling (FINN's StreamingMaxPool) for Vitis HLS and g++
// cppsim. Input: IH x IW pixels of CF beats (PE lanes of BITS bits; two's
// complement when SIGNED, else unsigned -- BIPOLAR's {0,1} orders as unsigned).
// Windows are KH x KW with stride = kernel; OH x OW of them. Floor mode drops
// the rows/columns past the last whole window; ceil mode (OH = ceil(IH/KH))
// closes the partial windows at the bottom/right edge with what is there.
//
// One input beat per iteration, as the RTL core: a row buffer keeps one
// running maximum per (window column, channel group), and a window's result
// leaves with its last pixel, so a frame takes IH * IW * CF cycles.
#pragma once
#include "sf_common.hpp"

namespace sf {
namespace maxpool_detail {

// Lane-wise maximum of two PE x BITS words.
template <unsigned BITS, unsigned PE, bool SIGNED>
ap_uint<PE * BITS> lane_max(const ap_uint<PE * BITS>& a, const ap_uint<PE * BITS>& b) {
  ap_uint<PE * BITS> r;
  for (unsigned i = 0; i < PE; ++i) {
#pragma HLS UNROLL
    const ap_uint<BITS> ua = field<BITS>(a, i), ub = field<BITS>(b, i);
    bool b_larger;
    if (SIGNED) {
      const ap_int<BITS> sa = ua, sb = ub;  // same width: the bits reinterpreted
      b_larger = sb > sa;
    } else {
      b_larger = ub > ua;
    }
    set_field<BITS>(r, i, b_larger ? ub : ua);
  }
  return r;
}

}  // namespace maxpool_detail

template <unsigned BITS, unsigned PE, unsigned CF, unsigned IH, unsigned IW, unsigned KH, unsigned KW, unsigned OH,
          unsigned OW, bool SIGNED, typename TI, typename TO>
void StreamingMaxPool(hls::stream<TI>& in, hls::stream<TO>& out, unsigned reps) {
  static_assert(OH >= 1 && OW >= 1 && OH * KH < IH + KH && OW * KW < IW + KW, "OH/OW: floor or ceil of IH/KH, IW/KW");
  constexpr unsigned WW = PE * BITS;
  // One row of windows; a window one row high closes within its row, so then
  // one entry per channel group suffices (as the RTL core).
  constexpr unsigned COLS = KH > 1 ? OW : 1;
  ap_uint<WW> acc[COLS * CF];
  // The running maximum of an entry is read back CF beats after it was
  // written (the next pixel of the same window), as early as the next beat
  // when CF = 1. The last two writes are kept in registers and forwarded, so
  // the loop needs no memory round trip within two iterations and the
  // dependence on acc can be declared false for the scheduler (II=1).
  for (unsigned rep = 0; rep < reps; ++rep) {
    unsigned y = 0, x = 0, c = 0, ky = 0, kx = 0, ox = 0, oy = 0;
    unsigned fa1 = COLS * CF, fa2 = COLS * CF;  // addresses of the last two writes (none yet)
    ap_uint<WW> fv1 = 0, fv2 = 0;
  frame:
    for (unsigned i = 0; i < IH * IW * CF; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS DEPENDENCE variable=acc inter false
      const ap_uint<WW> v = ap_uint<WW>(in.read());
      const bool used = oy < OH && ox < OW;
      // Columns past the last window (floor mode) are dropped; keep their address in range.
      const unsigned a = used ? (KH > 1 ? ox : 0) * CF + c : 0;
      const bool first = ky == 0 && kx == 0;
      const bool last = (ky + 1 == KH || y + 1 == IH) && (kx + 1 == KW || x + 1 == IW);
      const ap_uint<WW> old = a == fa1 ? fv1 : a == fa2 ? fv2 : acc[a];
      const ap_uint<WW> m = first ? v : maxpool_detail::lane_max<BITS, PE, SIGNED>(old, v);
      if (used) {
        if (last) {
          out.write(TO(m));
        } else {
          acc[a] = m;
          fa2 = fa1;
          fv2 = fv1;
          fa1 = a;
          fv1 = m;
        }
      }
      if (c + 1 < CF) {
        ++c;
      } else {
        c = 0;
        if (x + 1 < IW) {
          ++x;
          if (kx + 1 < KW) {
            ++kx;
          } else {
            kx = 0;
            ++ox;
          }
        } else {
          x = 0;
          kx = 0;
          ox = 0;
          ++y;
          if (ky + 1 < KH) {
            ++ky;
          } else {
            ky = 0;
            ++oy;
          }
        }
      }
    }
  }
}

}  // namespace sf
