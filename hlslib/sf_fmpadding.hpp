// Spatial padding (FINN's FMPadding) for Vitis HLS and g++ cppsim: an IH x IW
// image of CF beats per pixel (SIMD elements of BITS bits) becomes
// OH x OW pixels, the input at rows PT.. and columns PL.., every other beat
// SIMD copies of PADV (the pad value's BITS-bit two's complement pattern;
// BIPOLAR -1 travels as 0). One output beat per iteration, so a frame takes
// OH * OW * CF cycles like the RTL core (cpp/ops/fmpadding/rtl/sf_fmpadding.sv).
#pragma once
#include "sf_common.hpp"

namespace sf {

template <unsigned BITS, unsigned SIMD, unsigned CF, unsigned IH, unsigned IW, unsigned OH, unsigned OW, unsigned PT,
          unsigned PL, unsigned long long PADV, typename TI, typename TO>
void FMPadding(hls::stream<TI>& in, hls::stream<TO>& out, unsigned reps) {
  static_assert(PT + IH <= OH && PL + IW <= OW, "the image must fit in the padded frame");
  ap_uint<SIMD * BITS> pad = 0;
  for (unsigned i = 0; i < SIMD; ++i) {
#pragma HLS UNROLL
    set_field<BITS>(pad, i, ap_uint<BITS>(PADV));
  }
  for (unsigned rep = 0; rep < reps; ++rep) {
    unsigned y = 0, x = 0, c = 0;
  frame:
    for (unsigned i = 0; i < OH * OW * CF; ++i) {
#pragma HLS PIPELINE II=1
      const bool inside = y >= PT && y < PT + IH && x >= PL && x < PL + IW;
      ap_uint<SIMD * BITS> v = pad;
      if (inside) v = ap_uint<SIMD * BITS>(in.read());
      out.write(TO(v));
      if (c + 1 < CF) {
        ++c;
      } else {
        c = 0;
        if (x + 1 < OW) {
          ++x;
        } else {
          x = 0;
          ++y;
        }
      }
    }
  }
}

}  // namespace sf
