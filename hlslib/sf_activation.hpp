// streamfold HLS library: the output stage the MVAU, VVAU and Thresholding
// share. An activation maps one accumulator (or input value) of output lane
// `pe` in channel row `row` to the OBITS-bit output field.
#pragma once
#include "sf_common.hpp"

namespace sf {

// noActivation: the accumulator itself, truncated to the output type's bits
// (two's complement), as the RTL's NOACT path.
template <int OBITS>
struct PassThrough {
  template <typename A>
  ap_uint<OBITS> activate(int row, int pe, const A& acc) const {
#pragma HLS INLINE
    (void)row;
    (void)pe;
    return ap_uint<OBITS>(acc);
  }
};

// Multi-threshold: OBIAS + #{t <= acc} over the STEPS thresholds of row `row`
// (TROWS = 1: one row shared by all channels) of lane `pe`. The thresholds are
// integers of TW bits (two's complement; the emitter clamps them to the
// compared type's range plus one, which keeps every count exact). A BIPOLAR
// output has one step and OBIAS = 0: count 0/1 is its {0,1} encoding.
template <int PE, int TROWS, int STEPS, int TW, int OBITS, int OBIAS>
struct ThresholdActivation {
  const ap_uint<TW> (&thr)[PE][TROWS][STEPS];
  explicit ThresholdActivation(const ap_uint<TW> (&t)[PE][TROWS][STEPS]) : thr(t) {}

  template <typename A>
  ap_uint<OBITS> activate(int row, int pe, const A& acc) const {
#pragma HLS INLINE
    ap_uint<16> count = 0;
    for (int s = 0; s < STEPS; ++s) {
#pragma HLS UNROLL
      if (ap_int<TW>(thr[pe][TROWS == 1 ? 0 : row][s]) <= acc) ++count;
    }
    const ap_int<24> v = ap_int<24>(OBIAS) + ap_int<24>(count);
    return ap_uint<OBITS>(v);
  }
};

}  // namespace sf
