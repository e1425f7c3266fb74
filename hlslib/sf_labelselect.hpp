// streamfold HLS library: FINN's LabelSelect, the indices of the K largest of
// L values per row (PE per beat, ROWS rows per frame), largest first, equal values in index
// order; then K output beats of one OBITS-bit index each. A sorted top-K list
// takes each candidate in index order: it goes in before the first entry it
// is strictly larger than, so an equal later value stays behind.
#pragma once
#include "sf_common.hpp"

namespace sf {

template <int L, int PE, int K, int IBITS, int IKIND, int OBITS, long ROWS, int IW, int OW>
void labelselect(hls::stream<ap_uint<IW>>& in, hls::stream<ap_uint<OW>>& out) {
  for (long r = 0; r < ROWS; ++r) {
    ap_int<IBITS + 1> val[K];
    ap_uint<OBITS> idx[K];
    bool full[K];
#pragma HLS ARRAY_PARTITION variable = val complete
#pragma HLS ARRAY_PARTITION variable = idx complete
#pragma HLS ARRAY_PARTITION variable = full complete
    for (int k = 0; k < K; ++k) {
#pragma HLS UNROLL
      full[k] = false;
    }
    for (int b = 0; b < L / PE; ++b) {
#pragma HLS PIPELINE II = 1
      const ap_uint<IW> x = in.read();
      for (int p = 0; p < PE; ++p) {
        const ap_int<IBITS + 1> v = value<IBITS, IKIND>(field<IBITS>(x, p));
        const ap_uint<OBITS> id = b * PE + p;
        // Insert before the first smaller (or empty) entry; every entry after
        // it moves down one place (the last one drops out).
        bool placed = false;
        ap_int<IBITS + 1> cv = v;
        ap_uint<OBITS> ci = id;
        bool cf = true;
        for (int k = 0; k < K; ++k) {
#pragma HLS UNROLL
          if (cf && (placed || !full[k] || cv > val[k])) {
            const ap_int<IBITS + 1> tv = val[k];
            const ap_uint<OBITS> ti = idx[k];
            const bool tf = full[k];
            val[k] = cv;
            idx[k] = ci;
            full[k] = true;
            cv = tv;
            ci = ti;
            cf = tf;
            placed = true;
          }
        }
      }
    }
    for (int k = 0; k < K; ++k) {
#pragma HLS PIPELINE II = 1
      out.write(ap_uint<OW>(idx[k]));
    }
  }
}

}  // namespace sf
