// Helpers shared by the HW-layer ops (finn.custom_op.fpgadataflow): folding
// legality with errors that list the legal values, FINN's BRAM18 counting
// rule, datatype attributes, and the folded shapes and stream widths that the
// packing code and the PYNQ driver need (DESIGN §5). One place, so every op
// reports folding errors and memory counts the same way.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ops/op.h"

namespace sf::hw {

// Positive divisors of n in ascending order (the legal PE/SIMD values).
std::vector<int64_t> divisors(int64_t n);
// "1, 2, 4, 5, …" capped at `max_items` entries so huge dims stay readable.
std::string join_values(const std::vector<int64_t>& v, size_t max_items = 16);
// Throws ModelError "<node>: SIMD=24 does not divide MW=800; legal SIMD: 1, 2, …"
// unless par >= 1 and dim % par == 0.
void check_fold(const Node& n, const char* par_name, int64_t par, const char* dim_name, int64_t dim);
// A positive integer attribute (required unless a default is given).
int64_t pos_int(const Node& n, const char* name);
int64_t pos_int(const Node& n, const char* name, int64_t dflt);
// A list of `len` positive integers (len 0: any length >= 1).
std::vector<int64_t> pos_ints(const Node& n, const char* name, size_t len);
std::vector<int64_t> pos_ints(const Node& n, const char* name, size_t len, const std::vector<int64_t>& dflt);
// A string attribute restricted to `legal` values.
std::string choice(const Node& n, const char* name, const std::string& dflt, const std::vector<std::string>& legal);
// A QONNX datatype attribute ("INT4"); a bad name is a ModelError naming it.
DataType dtype_attr(const Node& n, const char* name);
DataType dtype_attr(const Node& n, const char* name, const DataType& dflt);
int64_t prod(const std::vector<int64_t>& v);
// ceil(log2(n)) for n >= 1 (0 for n <= 1): bits of a counter over n states,
// used by the flip-flop models.
int clog2(int64_t n);

// FINN's block-RAM rule: number of RAMB18 needed for `depth` words of `width`
// bits with the 1Kx18 / 2Kx9 / 4Kx4 / 8Kx2 / 16Kx1 aspect ratios.
int64_t bram18_count(int64_t width, int64_t depth);

// One PE lane of the binary-search threshold activation (sf_thresh_bsearch):
// `stages` comparisons, stage k reading its own memory of trows * 2^k
// thresholds of tw bits, in BRAM from 64 (ram_style "block") or 256 ("auto")
// words, else LUTRAM/logic. The LUT figures are the Thresholding layer's,
// calibrated on Yosys (thresholding.cpp); the MVAU's activation uses the same.
struct ThresholdLaneCost {
  double lut = 0, bram18 = 0;
  double rom_ff = 0;  // output registers of the LUT ROMs (a BRAM keeps its own; a one-word ROM is a constant)
};
ThresholdLaneCost bsearch_threshold_lane(int stages, int64_t trows, int tw, const std::string& ram_style);

// Accumulator type of a dot product of `len` terms x*w (DESIGN §5 width rule):
// unsigned range -> UINT ceil(log2(max+1)); signed -> INT ceil(log2(max(-min,1+max))+1).
DataType acc_datatype(const DataType& idt, const DataType& wdt, int64_t len);
DataType range_datatype(double lo, double hi);

// The threshold activation the MVAU/VVAU/Thresholding share:
// ActVal + #{t <= acc}, or 2*count-1 for a BIPOLAR output.
// thr holds `rows` rows of `steps` thresholds; rows is 1 or the channel count.
void threshold_activate(const std::vector<double>& acc, int64_t channels, const Tensor& thr, const Node& n,
                        const DataType& odt, int64_t act_val, float* out);
// The MVAU/VVAU output: the accumulators themselves with noActivation=1,
// else threshold_activate on input 2 (which must then be connected).
void write_activation(ExecCtx& c, bool no_act, const Shape& os, const std::vector<double>& acc, int64_t channels,
                      const DataType& odt, int64_t act_val);

// Normal and folded shapes and stream widths of one HW layer's main input and
// output. Supported op_types: MVAU, VVAU, Thresholding, ConvolutionInputGenerator,
// StreamingMaxPool, Pool, FMPadding, LabelSelect, AddStreams, DuplicateStreams,
// StreamingConcat (input 0 stands for all inputs), StreamingDataWidthConverter
// (needs its shape attribute), StreamingFIFO, GlobalAccPool, ChannelwiseOp.
// Channel-parallel ops fold the innermost axis C into (C/P, P), P = PE or SIMD.
struct StreamShapes {
  Shape normal_in, folded_in, normal_out, folded_out;
  int64_t in_width = 0, out_width = 0;  // bits per stream beat
};
StreamShapes stream_shapes(const Node& n);

// Output tensor of FINN's container type (float32) from int-valued doubles.
Tensor float_tensor(const Shape& s, const std::vector<double>& v);

}  // namespace sf::hw
