// streamfold HLS library: FINN's VVAU (vector-vector-activation unit), the
// depthwise convolution after a depthwise SWG.
//
// Input beats in FINN's depthwise order (what the RTL VVAU reads): per pixel,
// for each channel fold nf (C/PE), for each tap fold sf (K/SIMD), one beat of
// SIMD taps x PE channels, element s*PE + p = tap sf*SIMD + s of channel
// nf*PE + p. Weights: PE lanes of NF*SF words, word nf*SF + sf of lane p
// holding the SIMD taps of channel nf*PE + p at bits [s*WBITS +: WBITS].
// One output beat of PE channels per channel fold.
#pragma once
#include "sf_activation.hpp"

namespace sf {

template <int C, int K, int SIMD, int PE, int IBITS, int IKIND, int WBITS, int WKIND, bool DSP, int AW, int OBITS,
          long PIX, bool NOACT, int OBIAS, int IW, int OW, int TPE, int TROWS, int STEPS, int TW>
void vvau(hls::stream<ap_uint<IW>>& in, hls::stream<ap_uint<OW>>& out,
          const ap_uint<SIMD * WBITS> (&weights)[PE][(C / PE) * (K / SIMD)],
          const ap_uint<TW> (&thr)[TPE][TROWS][STEPS]) {
  const int SF = K / SIMD, NF = C / PE;
  ap_int<AW> acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete
  for (long px = 0; px < PIX; ++px) {
    int sf = 0, nf = 0;
    for (int i = 0; i < NF * SF; ++i) {
#pragma HLS PIPELINE II = 1
      const ap_uint<IW> x = in.read();
      for (int p = 0; p < PE; ++p) {
#pragma HLS UNROLL
        const ap_uint<SIMD * WBITS> w = weights[p][nf * SF + sf];
        ap_int<AW> d = 0;
        for (int s = 0; s < SIMD; ++s) {
#pragma HLS UNROLL
          d += mul<DSP, IBITS, IKIND, WBITS, WKIND>(field<IBITS>(x, s * PE + p), field<WBITS>(w, s));
        }
        acc[p] = (sf == 0 ? ap_int<AW>(0) : acc[p]) + d;
      }
      if (sf == SF - 1) {
        ap_uint<OW> y = 0;
        for (int p = 0; p < PE; ++p) {
#pragma HLS UNROLL
          set_field<OBITS>(y, p, activate<NOACT, OBITS, OBIAS>(thr, nf, p, acc[p]));
        }
        out.write(y);
        sf = 0;
        ++nf;
      } else {
        ++sf;
      }
    }
  }
}

}  // namespace sf
