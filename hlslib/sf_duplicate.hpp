// Stream fork (FINN's DuplicateStreams) for Vitis HLS and g++ cppsim: every
// W-bit input beat is written to each of the output streams (as many as the
// call passes, out0_V, out1_V, ...). One beat per iteration.
#pragma once
#include "sf_common.hpp"

namespace sf {
namespace duplicate_detail {

template <unsigned W>
void write_all(const ap_uint<W>&) {}
template <unsigned W, typename T, typename... Rest>
void write_all(const ap_uint<W>& v, hls::stream<T>& s, Rest&... rest) {
  s.write(T(v));
  write_all<W>(v, rest...);
}

}  // namespace duplicate_detail

template <unsigned W, unsigned BEATS /* per frame */, typename TI, typename... TO>
void DuplicateStreams(hls::stream<TI>& in, unsigned reps, hls::stream<TO>&... outs) {
  static_assert(sizeof...(TO) >= 1, "at least one output stream");
frame:
  for (unsigned long long i = 0; i < (unsigned long long)reps * BEATS; ++i) {
#pragma HLS PIPELINE II=1
    const ap_uint<W> v = ap_uint<W>(in.read());
    duplicate_detail::write_all<W>(v, outs...);
  }
}

}  // namespace sf
