// Stream FIFO (FINN's StreamingFIFO) for Vitis HLS and g++ cppsim. The layer
// top declares an hls::stream<ap_uint<W>> q with
//   #pragma HLS DATAFLOW
//   #pragma HLS STREAM variable=q depth=<depth>
//   #pragma HLS BIND_STORAGE variable=q type=fifo impl=srl|lutram|bram (from ram_style)
// and runs StreamingFIFO_push(in, q) and StreamingFIFO_pop(q, out): two
// dataflow processes joined by a FIFO of that depth, which is what Vitis HLS
// builds. In cppsim an hls::stream is unbounded and the processes run one
// after the other; values and order are a FIFO's, the depth only shows in
// hardware.
#pragma once
#include "sf_common.hpp"

namespace sf {

template <unsigned W, unsigned BEATS /* per frame */, typename TI>
void StreamingFIFO_push(hls::stream<TI>& in, hls::stream<ap_uint<W> >& q, unsigned reps) {
  for (unsigned long long i = 0; i < (unsigned long long)reps * BEATS; ++i) {
#pragma HLS PIPELINE II=1
    q.write(ap_uint<W>(in.read()));
  }
}

template <unsigned W, unsigned BEATS /* per frame */, typename TO>
void StreamingFIFO_pop(hls::stream<ap_uint<W> >& q, hls::stream<TO>& out, unsigned reps) {
  for (unsigned long long i = 0; i < (unsigned long long)reps * BEATS; ++i) {
#pragma HLS PIPELINE II=1
    out.write(TO(q.read()));
  }
}

}  // namespace sf
