// Stream data-width converter (FINN's StreamingDataWidthConverter) for Vitis
// HLS and g++ cppsim: IW-bit beats in, OW-bit beats out, bit 0 of the stream
// first -- any two widths, not only multiples of each other (the RTL core
// cpp/ops/dwc/rtl/sf_dwc.sv does the same). A frame of IN_BEATS input beats
// must be a whole number of output beats (the op guarantees it).
//
// The buffer holds fewer than IW + OW bits. Each iteration first takes an
// input beat if fewer than OW bits wait, then sends an output beat if OW bits
// are there: the narrow side moves one beat per iteration, so a frame takes
// max(IN_BEATS, OUT_BEATS) iterations, the RTL core's cycle count.
#pragma once
#include "sf_common.hpp"

namespace sf {

namespace dwc_detail {
constexpr unsigned gcd(unsigned a, unsigned b) { return b == 0 ? a : gcd(b, a % b); }
}  // namespace dwc_detail

template <unsigned IW, unsigned OW, unsigned IN_BEATS /* per frame */, typename TI, typename TO>
void StreamingDataWidthConverter(hls::stream<TI>& in, hls::stream<TO>& out, unsigned reps) {
  static_assert((unsigned long long)IN_BEATS * IW % OW == 0, "a frame must be whole output beats");
  constexpr unsigned OUT_BEATS = (unsigned)((unsigned long long)IN_BEATS * IW / OW);
  constexpr unsigned ITERS = IN_BEATS > OUT_BEATS ? IN_BEATS : OUT_BEATS;
  constexpr unsigned BW = IW + OW;
  // The fill level is always a multiple of G = gcd(IW, OW): counting it in
  // G-bit chunks makes the input's shift a multiplexer over (IW+OW)/G places
  // instead of a bit-granular barrel shifter.
  constexpr unsigned G = dwc_detail::gcd(IW, OW), NI = IW / G, NO = OW / G;
  for (unsigned rep = 0; rep < reps; ++rep) {
    ap_uint<BW> buf = 0;
    unsigned held = 0;  // valid chunks at the bottom of buf
  frame:
    for (unsigned i = 0; i < ITERS; ++i) {
#pragma HLS PIPELINE II=1
      if (held < NO) {
        buf |= ap_uint<BW>(ap_uint<IW>(in.read())) << (held * G);
        held += NI;
      }
      if (held >= NO) {
        out.write(TO(ap_uint<OW>(buf)));
        buf >>= OW;
        held -= NO;
      }
    }
  }
}

}  // namespace sf
