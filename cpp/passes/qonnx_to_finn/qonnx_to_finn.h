// QONNX -> FINN conversion entry points that take options. The registered
// passes (FoldTransposeIntoQuantInit, FoldQuantWeights,
// ConvertQuantActToMultiThreshold, AvgPoolAndTruncToQuantAvgPool,
// RemoveEmptyPadding) use the defaults.
#pragma once
#include <vector>

#include "ir/graph.h"

namespace sf {

struct QuantActOptions {
  // Quantizers wider than this stay (FINN's max_multithreshold_bit_width):
  // a b-bit activation needs 2^b - 1 thresholds per channel.
  int max_bits = 8;
};

// Converts one activation quantizer per call (returns whether it did), like
// the registered pass; apply to a fixpoint.
bool convert_quant_act_to_multithreshold(Model& m, const QuantActOptions& opt);

// The exact thresholds of one quantizer channel, as the pass computes them:
// for levels L0 < L0+1 < ... < L1 of `level(x)` (a monotone step function of
// float32 x), t_j is the smallest float32 x with level(x) >= L0 + j. Exposed
// for tests.
template <typename F>
std::vector<float> exact_thresholds(F level, double first, double last);

}  // namespace sf

#include "passes/qonnx_to_finn/thresholds_impl.h"
