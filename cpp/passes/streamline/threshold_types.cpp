// InferThresholdOutputTypes: makes every MultiThreshold's out_dtype (and so
// its output's finn_datatype) the smallest type that holds the values it can
// actually produce, out_scale * {0..B} + out_bias.
//
// Why: ConvertQuantActToMultiThreshold writes FINN's form, out_dtype INTb
// with the sign bias in a following Add. When streamlining moves that Add
// elsewhere (e.g. into the next layer's thresholds) instead of into this
// node's out_bias, the node still counts 0..2^b-1 but claims INTb. Layers
// that size their arithmetic from annotations (HW layers, the fast engine)
// need the truth.
#include <cmath>

#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

bool infer_threshold_output_types(Model& m) {
  Graph& g = m.graph;
  bool changed = false;
  for (auto& n : g.nodes) {
    if (n.op_type != "MultiThreshold") continue;
    const Tensor* thr = const_input(g, n, 1);
    if (!thr || thr->rank() != 2) continue;
    const double scale = n.get_float("out_scale", 1.0f), bias = n.get_float("out_bias", 0.0f);
    if (scale != std::round(scale) || bias != std::round(bias)) continue;  // scaled output: stays float
    const double steps = (double)thr->shape()[1];
    const double a = bias, b = bias + scale * steps;
    const double lo = std::min(a, b), hi = std::max(a, b);
    // BIPOLAR only when the levels are exactly {-1, +1} (one threshold, step
    // 2); smallest_for_range looks at the endpoints only, and {-1, 0, 1}
    // needs TERNARY.
    DataType dt = DataType::float32();
    if (steps == 1 && lo == -1 && hi == 1) {
      dt = DataType::bipolar();
    } else {
      for (const DataType& t : DataType::all_integer_types())
        if (t.kind() != DataType::Kind::BIPOLAR && lo >= t.min() && hi <= t.max()) {
          dt = t;
          break;
        }
    }
    if (!dt.is_integer()) continue;
    const std::string cur = n.get_string("out_dtype", "");
    if (cur != dt.name()) {
      n.set_string("out_dtype", dt.name());
      changed = true;
    }
    if (g.get_datatype(n.outputs.at(0)) != dt) {
      g.set_datatype(n.outputs.at(0), dt);
      changed = true;
    }
  }
  return changed;
}

}  // namespace

SF_REGISTER_PASS_ONCE("InferThresholdOutputTypes", "streamline",
                      "set each MultiThreshold's out_dtype to the smallest type holding out_scale*{0..B}+out_bias",
                      infer_threshold_output_types);

}  // namespace sf
