// Pooling over unrolled windows (FINN's Pool_Batch) for Vitis HLS and g++
// cppsim. The input is a depthwise sliding-window stream: per output pixel CF
// channel groups, each KK consecutive beats (the kernel taps) of PE lanes
// (BITS bits of element kind KIND: KIND_UNSIGNED, KIND_SIGNED or
// KIND_BIPOLAR, {0,1} = -1/+1).
// FUNC 0: maximum; 1: sum (AccPool); 2: sum, then an arithmetic right shift
// by SHIFT (QuantAvgPool: floor division by 2^SHIFT). Each group's result,
// PE lanes of OBITS bits (OBIPOLAR: result > 0 as {0,1}), leaves with its
// last tap: one input beat per iteration, the RTL core's
// (cpp/ops/pool_hw/rtl/sf_pool.sv) arithmetic and timing.
#pragma once
#include "sf_common.hpp"

namespace sf {
namespace pool_detail {
constexpr unsigned clog2(unsigned long long n) { return n <= 1 ? 0 : 1 + clog2((n + 1) / 2); }
}  // namespace pool_detail

template <unsigned BITS, unsigned OBITS, unsigned PE, unsigned KK,
          unsigned GROUPS,  // per frame: output pixels * CF
          unsigned FUNC, unsigned SHIFT, int KIND, bool OBIPOLAR, typename TI, typename TO>
void Pool(hls::stream<TI>& in, hls::stream<TO>& out, unsigned reps) {
  static_assert(FUNC <= 2, "FUNC: 0 max, 1 sum, 2 sum >> SHIFT");
  // The value as a signed number plus the growth of KK terms.
  constexpr unsigned VW = KIND == KIND_BIPOLAR ? 2 : BITS + 1;
  constexpr unsigned ACCW = VW + pool_detail::clog2(KK + 1);
  ap_int<ACCW> acc[PE];
#pragma HLS ARRAY_PARTITION variable=acc complete
  unsigned t = 0;
frame:
  for (unsigned long long i = 0; i < (unsigned long long)reps * GROUPS * KK; ++i) {
#pragma HLS PIPELINE II=1
    const ap_uint<PE * BITS> w = ap_uint<PE * BITS>(in.read());
    ap_uint<PE * OBITS> res = 0;
    for (unsigned p = 0; p < PE; ++p) {
#pragma HLS UNROLL
      const ap_int<ACCW> v = value<BITS, KIND>(field<BITS>(w, p));
      ap_int<ACCW> nxt;
      if (FUNC == 0) nxt = (t == 0 || v > acc[p]) ? v : acc[p];
      else nxt = (t == 0 ? ap_int<ACCW>(0) : acc[p]) + v;
      acc[p] = nxt;
      const ap_int<ACCW> shifted = nxt >> SHIFT;  // arithmetic on ap_int
      if (OBIPOLAR) res[p * OBITS] = shifted > 0;
      else set_field<OBITS>(res, p, ap_int<OBITS>(shifted));  // sign-extends or truncates
    }
    if (t + 1 == KK) {
      out.write(TO(res));
      t = 0;
    } else {
      ++t;
    }
  }
}

}  // namespace sf
