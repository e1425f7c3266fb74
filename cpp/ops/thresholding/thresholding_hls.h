// HLS emitter pieces shared by the layers that end in a threshold activation
// (Thresholding, MVAU, VVAU): the threshold array and the activation object.
#pragma once
#include <string>

#include "ops/hw/hls_emit.h"

namespace sf::hls {

// Writes the thresholds of `thr` (rows x steps, rows = 1 or `channels`) as an
// array [PE][TROWS][STEPS] of TW-bit words (rtl::threshold_rows: ceil, clamp,
// sort, so the RTL and HLS layers compare the same integers; channel
// c = f*PE + p is lane p, row f) and returns its name; the ARRAY_PARTITION
// pragmas go to `pragmas`. The compared values are integers of in_bits bits
// (in_signed). The layer's activation is sf::activate<false, OBITS, OBIAS>
// with OBIAS = threshold_bias(odt, act_val).
std::string threshold_array(LayerEmitter& e, const Tensor& thr, int64_t channels, int64_t pe, int in_bits,
                            bool in_signed, std::string& pragmas);
int64_t threshold_bias(const DataType& odt, int64_t act_val);

// OpDef::emit_hls of Thresholding (thresholding_hls.cpp).
void thresholding_emit_hls(LayerEmitter& e);

// 0 unsigned, 1 signed (two's complement, TERNARY included), 2 bipolar: sf::KIND_*.
int kind_of(const DataType& t);

}  // namespace sf::hls
