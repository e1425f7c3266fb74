// RTL emitter pieces shared by the layers that end in a threshold activation
// (Thresholding, MVAU, VVAU): the sf_thresh_bsearch parameters and its
// per-stage, per-lane threshold ROM files.
#pragma once
#include <string>
#include <vector>

#include "ops/hw/rtl_emit.h"

namespace sf::rtl {

// Writes the threshold ROMs of sf_thresh_bsearch for `thr` (rows x steps,
// rows = 1 (shared) or `channels`) and returns its parameters K, TROWS, TW,
// OBITS, OBIAS, THR_PREFIX, THR_BLOCK_MASK. The compared values are integers
// of `in_bits` bits (`in_signed`); each threshold t becomes ceil(t) clamped to
// [min, max + 1] of that range (exact: count = #{t <= x} is unchanged for every
// representable x), rows are sorted and padded to 2^K - 1 with max + 1.
// Channel c = f*pe + p is lane p, row f. ram_style: "distributed" (all LUTRAM),
// "block" (stages of 64 words or more in BRAM), "auto" (256 words or more).
// The thresholds of `thr` (rows x steps, rows = 1 or `channels`) as the
// compared integers of `in_bits` bits see them: each t becomes ceil(t) clamped
// to [lo, hi + 1] (exact: #{t <= x} is unchanged for every representable x),
// each row sorted; tw = bits of a signed number holding [lo, hi + 1]. Shared
// by the RTL ROMs and the HLS threshold arrays.
struct ThresholdRows {
  int64_t rows = 0, steps = 0, lo = 0, hi = 0;
  int tw = 0;
  std::vector<std::vector<int64_t>> sorted;
};
ThresholdRows threshold_rows(const Node& n, const Tensor& thr, int64_t channels, int in_bits, bool in_signed);

// Binary-search stages K of sf_thresh_bsearch for `steps` thresholds per row:
// the least k >= 1 with 2^k - 1 >= steps. Its latency (in_valid to
// out_valid) is 2*K + 1: a ROM read and a compare per stage, the output add.
int threshold_search_stages(int64_t steps);
// K for node input `input` (the (rows, steps) thresholds initializer) as
// threshold_params will build it; fails on the node when it is missing.
int threshold_search_stages(const Node& n, const Model& m, size_t input);

// sf_thresholding's cycles from taking an input beat to offering its output
// beat (out_tvalid), with K search stages: the input register (1), the search
// (2*K + 1), then sf_mvau_outq (written at that cycle, offered 2 later).
// Its in_tready is can_reserve, which never drops while the sink takes every
// beat: OQ_DEPTH >= L + 5 slots, at most L + 2 reserved (one reserve per
// cycle, each freed L + 2 cycles later). (VVAU ends in the same module.)
inline int64_t thresholding_rtl_latency(int k) { return 1 + (2 * k + 1) + 2; }

std::vector<Param> threshold_params(LayerEmitter& e, const Tensor& thr, int64_t channels, int64_t pe, int in_bits,
                                    bool in_signed, const DataType& odt, int64_t act_val, const std::string& ram_style);

}  // namespace sf::rtl

namespace sf::rtl {
// OpDef::emit_rtl of Thresholding and MVAU (thresholding_rtl.cpp, mvau_rtl.cpp).
void thresholding_emit_rtl(LayerEmitter& e);
void mvau_emit_rtl(LayerEmitter& e);
// The MVAU's implementation choices, shared by its emitter and its cost model:
// products in DSP48E1 (resType dsp, or auto with both operands of >= 4 bits
// and neither bipolar), weights in BRAM (ram_style block/ultra, or auto with
// more than 128 words).
bool mvau_uses_dsp(const Node& n);
bool mvau_weights_in_bram(const Node& n);
}  // namespace sf::rtl
