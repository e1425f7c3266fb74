// streamfold HLS library: FINN's MVAU (matrix-vector-activation unit), the
// fully connected / convolution (after an SWG) layer.
//
// Per input vector of MW elements (SF = MW/SIMD beats of SIMD elements) the
// layer produces MH outputs (NF = MH/PE beats of PE elements). The weights
// are PE lanes of WMEM = NF*SF words, word nf*SF + sf of lane p holding the
// SIMD weights W[sf*SIMD + s][nf*PE + p] at bits [s*WBITS +: WBITS] (the RTL
// layer's memory words cut into lanes). The input vector is read during the
// first output fold and replayed from a buffer for the others, one
// (nf, sf) step per cycle. Products in DSP48s or LUTs (DSP, the RTL layer's
// resType rule). XNOR: 1-bit inputs and weights, the product is
// the bit equality (popcount of matches).
#pragma once
#include "sf_activation.hpp"

namespace sf {

template <int SIMD, int IBITS, int IKIND, int WBITS, int WKIND, bool XNOR, bool DSP, int AW, int IW>
inline ap_int<AW> dot(const ap_uint<IW>& x, const ap_uint<SIMD * WBITS>& w) {
#pragma HLS INLINE
  ap_int<AW> s = 0;
  for (int k = 0; k < SIMD; ++k) {
#pragma HLS UNROLL
    const ap_uint<IBITS> xb = field<IBITS>(x, k);
    const ap_uint<WBITS> wb = field<WBITS>(w, k);
    if (XNOR)
      s += (xb == wb) ? 1 : 0;
    else
      s += mul<DSP, IBITS, IKIND, WBITS, WKIND>(xb, wb);
  }
  return s;
}

template <int MW, int MH, int SIMD, int PE, int IBITS, int IKIND, int WBITS, int WKIND, bool XNOR, bool DSP, int AW,
          int OBITS, long VECS, bool NOACT, int OBIAS, int IW, int OW, int TPE, int TROWS, int STEPS, int TW>
void mvau(hls::stream<ap_uint<IW>>& in, hls::stream<ap_uint<OW>>& out,
          const ap_uint<SIMD * WBITS> (&weights)[PE][(MW / SIMD) * (MH / PE)],
          const ap_uint<TW> (&thr)[TPE][TROWS][STEPS]) {
  const int SF = MW / SIMD, NF = MH / PE;
  ap_uint<IW> buf[SF];
  ap_int<AW> acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete
  for (long v = 0; v < VECS; ++v) {
    int sf = 0, nf = 0;
    for (int i = 0; i < NF * SF; ++i) {
#pragma HLS PIPELINE II = 1
      ap_uint<IW> x;
      if (nf == 0) {
        x = in.read();
        buf[sf] = x;
      } else {
        x = buf[sf];
      }
      for (int p = 0; p < PE; ++p) {
#pragma HLS UNROLL
        const ap_int<AW> d = dot<SIMD, IBITS, IKIND, WBITS, WKIND, XNOR, DSP, AW>(x, weights[p][nf * SF + sf]);
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
