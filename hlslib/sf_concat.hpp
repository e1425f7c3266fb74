// Channel-wise concatenation (FINN's StreamingConcat) for Vitis HLS and g++
// cppsim: per pixel, FOLDS[0] W-bit beats of input 0, then FOLDS[1] of input
// 1, and so on (FOLDS[i] = ChannelsPerStream[i] / SIMD). One output beat per
// iteration; the input read in an iteration is chosen by a counter, so only
// the selected stream is read, as in the RTL core
// (cpp/ops/streaming_concat/rtl/sf_concat.sv).
#pragma once
#include "sf_common.hpp"

namespace sf {
namespace concat_detail {

template <unsigned W>
ap_uint<W> read_sel(unsigned) {
  return 0;  // unreachable: sel < number of inputs
}
template <unsigned W, typename T, typename... Rest>
ap_uint<W> read_sel(unsigned sel, hls::stream<T>& s, Rest&... rest) {
  if (sel == 0) return ap_uint<W>(s.read());
  return read_sel<W>(sel - 1, rest...);
}

}  // namespace concat_detail

// folds: one entry per input stream (a constant array in the layer top).
template <unsigned W, unsigned PIXELS /* per frame */, unsigned BEATS_PER_PIXEL /* sum of folds */, typename TO,
          typename... TI>
void StreamingConcat(hls::stream<TO>& out, const unsigned folds[sizeof...(TI)], unsigned reps, hls::stream<TI>&... ins) {
  static_assert(sizeof...(TI) >= 1, "at least one input stream");
  unsigned sel = 0, j = 0;
frame:
  for (unsigned long long i = 0; i < (unsigned long long)reps * PIXELS * BEATS_PER_PIXEL; ++i) {
#pragma HLS PIPELINE II=1
    out.write(TO(concat_detail::read_sel<W>(sel, ins...)));
    if (j + 1 < folds[sel]) {
      ++j;
    } else {
      j = 0;
      sel = sel + 1 == sizeof...(TI) ? 0 : sel + 1;
    }
  }
}

}  // namespace sf
