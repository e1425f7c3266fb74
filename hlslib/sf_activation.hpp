// streamfold HLS library: what the MVAU, VVAU and Thresholding share: the
// products (mul) and the output stage: one accumulator (or input value) of output lane `pe` in channel row
// `row` to its OBITS-bit output field.
//
// NOACT: the accumulator itself, truncated to the output type's bits (two's
// complement), as the RTL's NOACT path; the thresholds are not read (layers
// without activation pass sf::no_thresholds).
// Otherwise multi-threshold: OBIAS + #{t <= acc} over the STEPS thresholds of
// row `row` (TROWS = 1: one row shared by all channels) of lane `pe`. The
// thresholds are integers of TW bits (two's complement; the emitter clamps
// them to the compared type's range plus one, which keeps every count exact).
// A BIPOLAR output has one step and OBIAS = 0: count 0/1 is its {0,1} code.
// The thresholds are a plain array parameter (partitioned by the layer top on
// the lane and step dimensions), so every lane compares all steps at once.
#pragma once
#include "sf_common.hpp"

namespace sf {

static const ap_uint<1> no_thresholds[1][1][1] = {{{0}}};

// One product of an IBITS-bit element (kind IKIND) and a WBITS-bit one (WKIND),
// in a DSP48 or in LUTs as the layer's resType asks (the RTL layers' rule).
template <int IBITS, int IKIND, int WBITS, int WKIND>
inline ap_int<IBITS + WBITS + 2> mul_dsp(const ap_uint<IBITS>& x, const ap_uint<WBITS>& w) {
#pragma HLS INLINE
  const ap_int<IBITS + WBITS + 2> p = value<IBITS, IKIND>(x) * value<WBITS, WKIND>(w);
#pragma HLS BIND_OP variable = p op = mul impl = dsp
  return p;
}
template <int IBITS, int IKIND, int WBITS, int WKIND>
inline ap_int<IBITS + WBITS + 2> mul_lut(const ap_uint<IBITS>& x, const ap_uint<WBITS>& w) {
#pragma HLS INLINE
  const ap_int<IBITS + WBITS + 2> p = value<IBITS, IKIND>(x) * value<WBITS, WKIND>(w);
#pragma HLS BIND_OP variable = p op = mul impl = fabric
  return p;
}
template <bool DSP, int IBITS, int IKIND, int WBITS, int WKIND>
inline ap_int<IBITS + WBITS + 2> mul(const ap_uint<IBITS>& x, const ap_uint<WBITS>& w) {
#pragma HLS INLINE
  return DSP ? mul_dsp<IBITS, IKIND, WBITS, WKIND>(x, w) : mul_lut<IBITS, IKIND, WBITS, WKIND>(x, w);
}

template <bool NOACT, int OBITS, int OBIAS, int TPE, int TROWS, int STEPS, int TW, typename A>
inline ap_uint<OBITS> activate(const ap_uint<TW> (&thr)[TPE][TROWS][STEPS], int row, int pe, const A& acc) {
#pragma HLS INLINE
  if (NOACT) return ap_uint<OBITS>(acc);
  ap_uint<16> count = 0;
  for (int s = 0; s < STEPS; ++s) {
#pragma HLS UNROLL
    if (ap_int<TW>(thr[TPE == 1 ? 0 : pe][TROWS == 1 ? 0 : row][s]) <= acc) ++count;
  }
  const ap_int<24> v = ap_int<24>(OBIAS) + ap_int<24>(count);
  return ap_uint<OBITS>(v);
}

}  // namespace sf
