// streamfold HLS library: FINN's Thresholding layer. Each beat carries PE
// channels of IBITS bits (kind IKIND); channel fold nf = beat % NF picks the
// threshold row. BEATS beats per frame (all pixels x NF), one per cycle.
#pragma once
#include "sf_activation.hpp"

namespace sf {

template <int PE, int NF, int IBITS, int IKIND, int OBITS, int OBIAS, long BEATS, int IW, int OW, int TROWS,
          int STEPS, int TW>
void thresholding(hls::stream<ap_uint<IW>>& in, hls::stream<ap_uint<OW>>& out,
                  const ap_uint<TW> (&thr)[PE][TROWS][STEPS]) {
  int nf = 0;
  for (long i = 0; i < BEATS; ++i) {
#pragma HLS PIPELINE II = 1
    const ap_uint<IW> x = in.read();
    ap_uint<OW> y = 0;
    for (int p = 0; p < PE; ++p) {
#pragma HLS UNROLL
      const ap_int<IBITS + 1> v = value<IBITS, IKIND>(field<IBITS>(x, p));
      set_field<OBITS>(y, p, activate<false, OBITS, OBIAS>(thr, nf, p, v));
    }
    out.write(y);
    if (++nf == NF) nf = 0;
  }
}

}  // namespace sf
