// RoundAndClipThresholds: for a MultiThreshold whose input is integer-typed,
// x >= t  <=>  x >= ceil(t), and thresholds below the type's minimum (above
// its maximum) are met always (never), exactly as the minimum (maximum + 1)
// is. So thresholds become integers in [min, max + 1]: bit-exact, and ready
// for hardware that compares integers.
//
// Where rounding makes the two thresholds of a {-1, 0, +1} MultiThreshold
// (ConvertSignToThres's exact Sign) coincide in every channel, the middle
// level is unreachable and the node becomes the bipolar one with a single
// threshold.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>

#include "passes/streamline/common.h"

namespace sf::streamline {
namespace {

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

bool round_and_clip_thresholds(Model& m) {
  Graph& g = m.graph;
  const char* pass = "RoundAndClipThresholds";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!is_multithreshold(g.nodes[i]) || g.nodes[i].inputs.size() < 2) continue;
    const Node T = g.nodes[i];
    const Tensor* thr = const_input(g, T, 1);
    if (!thr || thr->rank() != 2) continue;
    // The input's true range: a MultiThreshold producer's actual levels (its
    // out_dtype may still be FINN's provisional INTb), else the annotation.
    const DataType dt = g.get_datatype(T.inputs[0]);
    bool integer = dt.is_integer();
    double lo = dt.min(), hi = dt.max() + 1;
    if (auto levels = multithreshold_levels(g, T.inputs[0])) {
      integer = true;
      for (double v : *levels) integer = integer && std::isfinite(v) && v == std::floor(v);
      lo = *std::min_element(levels->begin(), levels->end());
      hi = *std::max_element(levels->begin(), levels->end()) + 1;
    }
    if (!integer) {
      note_refusal(node_id(T), pass,
                   fmt::format("its input '{}' has datatype {}, not an integer type, so its thresholds stay as they are",
                               T.inputs[0], dt.name()));
      continue;
    }
    const auto tv = thr->to_double();
    const int64_t R = thr->shape()[0], B = thr->shape()[1];
    std::vector<float> nt(tv.size());
    bool changed = thr->type() != ElemType::FLOAT;
    for (size_t k = 0; k < tv.size(); ++k) {
      // NaN never compares true: like a threshold above the maximum.
      const double r = std::isnan(tv[k]) ? hi : std::clamp(std::ceil(tv[k]), lo, hi);
      nt[k] = (float)r;
      changed = changed || !same_bits(nt[k], (float)tv[k]);
    }
    // Only the exact-Sign form (TERNARY, levels -1/0/+1) is merged: other
    // activations keep their threshold count, which hardware sizes from.
    bool merge = B == 2 && T.get_string("out_dtype", "") == "TERNARY" && T.get_float("out_scale", 1.f) == 1.f &&
                 T.get_float("out_bias", 0.f) == -1.f;
    for (int64_t r = 0; r < R && merge; ++r) merge = nt[(size_t)(2 * r)] == nt[(size_t)(2 * r + 1)];
    if (!changed && !merge) continue;
    Shape shape = thr->shape();
    if (merge) {
      std::vector<float> one((size_t)R);
      for (int64_t r = 0; r < R; ++r) one[(size_t)r] = nt[(size_t)(2 * r)];
      nt = std::move(one);
      shape = {R, 1};
      Node& N = g.nodes[i];
      // Levels -1 + {0, 2} become -1 + 2*{0, 1}.
      N.set_float("out_scale", 2.f);
      N.set_string("out_dtype", "BIPOLAR");
    }
    set_node_const(g, (int)i, 1, Tensor::from_vector<float>(shape, nt));
    const std::vector<double> d(nt.begin(), nt.end());
    g.set_datatype(g.nodes[i].inputs[1], smallest_type_for(d));
    if (merge) refresh_datatypes(m, {T.outputs[0]});
    tidy(g);
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS("RoundAndClipThresholds", "streamline",
                 "integer-input MultiThreshold: thresholds -> ceil, clipped to [min, max + 1] of the input type",
                 round_and_clip_thresholds);

}  // namespace sf::streamline
