// streamfold HLS library: FINN's ChannelwiseOp, out = x op p[c] per channel
// (FUNC 0 add, 1 mul, 2 cmp_le (x <= p -> 1), 3 cmp_ge (x >= p -> 1)), the
// result truncated to the output type's OBITS. Parameters: PE lanes of CF
// words of PBITS bits (kind PKIND); beat i carries channels (i % CF)*PE + p.
#pragma once
#include "sf_common.hpp"

namespace sf {

template <int PE, int CF, int IBITS, int IKIND, int PBITS, int PKIND, int OBITS, int FUNC, long BEATS, int IW, int OW>
void channelwise(hls::stream<ap_uint<IW>>& in, hls::stream<ap_uint<OW>>& out, const ap_uint<PBITS> (&params)[PE][CF]) {
  int cf = 0;
  for (long i = 0; i < BEATS; ++i) {
#pragma HLS PIPELINE II = 1
    const ap_uint<IW> x = in.read();
    ap_uint<OW> y = 0;
    for (int p = 0; p < PE; ++p) {
#pragma HLS UNROLL
      const ap_int<IBITS + 1> a = value<IBITS, IKIND>(field<IBITS>(x, p));
      const ap_int<PBITS + 1> b = value<PBITS, PKIND>(params[p][cf]);
      ap_int<IBITS + PBITS + 2> r;
      if (FUNC == 0)
        r = a + b;
      else if (FUNC == 1)
        r = a * b;
      else if (FUNC == 2)
        r = a <= b ? 1 : 0;
      else
        r = a >= b ? 1 : 0;
      set_field<OBITS>(y, p, r);
    }
    out.write(y);
    if (++cf == CF) cf = 0;
  }
}

}  // namespace sf
