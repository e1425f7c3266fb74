// Element-wise sum of two streams (FINN's AddStreams, the residual add) for
// Vitis HLS and g++ cppsim. Input i carries PE lanes of Bi bits of element
// kind Ki (KIND_UNSIGNED, KIND_SIGNED or KIND_BIPOLAR, {0,1} = -1/+1); the
// output's PE lanes of OB bits hold the sums (the op's output type holds
// every sum, so the OB bits kept are the two's complement of the exact
// value). One beat per iteration, like the RTL core.
#pragma once
#include "sf_common.hpp"

namespace sf {

template <unsigned PE, unsigned B0, unsigned B1, int K0, int K1, unsigned OB,
          unsigned BEATS,  // per frame
          typename TI0, typename TI1, typename TO>
void AddStreams(hls::stream<TI0>& in0, hls::stream<TI1>& in1, hls::stream<TO>& out, unsigned reps) {
  constexpr unsigned VW = (B0 > B1 ? B0 : B1) + 2;  // either value as signed, plus the carry
frame:
  for (unsigned long long i = 0; i < (unsigned long long)reps * BEATS; ++i) {
#pragma HLS PIPELINE II=1
    const ap_uint<PE * B0> a = ap_uint<PE * B0>(in0.read());
    const ap_uint<PE * B1> b = ap_uint<PE * B1>(in1.read());
    ap_uint<PE * OB> r = 0;
    for (unsigned p = 0; p < PE; ++p) {
#pragma HLS UNROLL
      const ap_int<VW> s = ap_int<VW>(value<B0, K0>(field<B0>(a, p))) + ap_int<VW>(value<B1, K1>(field<B1>(b, p)));
      set_field<OB>(r, p, ap_int<OB>(s));
    }
    out.write(TO(r));
  }
}

}  // namespace sf
