// streamfold HLS library: what every layer shares. Synthesizable C++ for
// Vitis HLS (static sizes, ap_uint streams), simulated with plain g++.
//
// Beat format (identical to the RTL layers, cpp/ops/hw/rtl/README.md):
// element i of a beat sits at bits [i*W +: W]; signed values in two's
// complement, BIPOLAR {-1,+1} as {0,1}; a stream's word type is
// ap_uint<TDATA>, TDATA the payload rounded up to whole bytes, and padding
// bits are written as 0 and ignored on input.
#pragma once
#include <ap_int.h>
#include <hls_stream.h>

namespace sf {

// Element kinds (the RTL's IKIND/WKIND): 0 unsigned, 1 signed, 2 bipolar.
enum { KIND_UNSIGNED = 0, KIND_SIGNED = 1, KIND_BIPOLAR = 2 };

// Bits [i*W +: W] of a word. A shift, not a range: the same wires after
// unrolling, and 1.5-3x faster in cppsim (ap_int's range objects are costly).
template <int W, int N>
inline ap_uint<W> field(const ap_uint<N>& word, int i) {
#pragma HLS INLINE
  return ap_uint<W>(word >> (i * W));
}

// Writes v's low W bits at [i*W +: W].
template <int W, int N, typename T>
inline void set_field(ap_uint<N>& word, int i, const T& v) {
#pragma HLS INLINE
  word(i * W + W - 1, i * W) = ap_uint<W>(v);
}

// The value of a W-bit element of kind K, exactly, as ap_int<W+1>.
template <int W, int K>
inline ap_int<W + 1> value(const ap_uint<W>& b) {
#pragma HLS INLINE
  if (K == KIND_BIPOLAR) return b[0] ? ap_int<W + 1>(1) : ap_int<W + 1>(-1);
  if (K == KIND_SIGNED) return ap_int<W + 1>(ap_int<W>(b));
  return ap_int<W + 1>(b);
}

// A beat's payload, widened or narrowed to N bits (zero-filled above).
template <int N, int M>
inline ap_uint<N> resize(const ap_uint<M>& w) {
#pragma HLS INLINE
  return ap_uint<N>(w);
}

}  // namespace sf
