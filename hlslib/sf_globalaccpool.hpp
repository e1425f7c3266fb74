// streamfold HLS library: FINN's GlobalAccPool, per channel the sum over the
// PX pixels of a frame (PE channels per beat, CF = C/PE beats per pixel),
// then CF output beats of the OBITS-bit sums.
#pragma once
#include "sf_common.hpp"

namespace sf {

template <int PE, int CF, int IBITS, int IKIND, int OBITS, long PX, int IW, int OW>
void globalaccpool(hls::stream<ap_uint<IW>>& in, hls::stream<ap_uint<OW>>& out) {
  ap_int<OBITS + 1> acc[CF][PE];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
  for (long px = 0; px < PX; ++px) {
    for (int cf = 0; cf < CF; ++cf) {
#pragma HLS PIPELINE II = 1
      const ap_uint<IW> x = in.read();
      for (int p = 0; p < PE; ++p) {
#pragma HLS UNROLL
        const ap_int<OBITS + 1> v = value<IBITS, IKIND>(field<IBITS>(x, p));
        acc[cf][p] = (px == 0 ? ap_int<OBITS + 1>(0) : acc[cf][p]) + v;
      }
    }
  }
  for (int cf = 0; cf < CF; ++cf) {
#pragma HLS PIPELINE II = 1
    ap_uint<OW> y = 0;
    for (int p = 0; p < PE; ++p) {
#pragma HLS UNROLL
      set_field<OBITS>(y, p, acc[cf][p]);
    }
    out.write(y);
  }
}

}  // namespace sf
