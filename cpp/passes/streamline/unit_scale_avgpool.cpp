// AbsorbUnitScaleIntoQuantAvgPool: a scalar Mul by c = 1 +- a few ulp in
// front of a QuantAvgPool2d is dropped when that is provably exact.
//
// AvgPoolAndTruncToQuantAvgPool divides by the activation scale s in front
// of the integer pool; after streamlining, that Div meets the quantizer's
// Mul(s) and they collapse to fl(s * fl(1/s)), which is 1 only up to float32
// rounding. The pool computes round(sum(x * c)) on integers x; with
// |sum| * |c - 1| < 0.25 that equals round(sum(x)), so the Mul is an
// identity on every value the integer input can take.
#include <cmath>
#include <fmt/format.h>

#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

constexpr const char* kPass = "AbsorbUnitScaleIntoQuantAvgPool";

bool absorb_unit_scale(Model& m) {
  Graph& g = m.graph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& mul = g.nodes[i];
    if (mul.op_type != "Mul" || !mul.domain.empty()) continue;
    const Tensor* c = const_input(g, mul, 1);
    if (!c || c->numel() != 1) continue;
    int consumer = single_consumer(g, mul.outputs.at(0));
    if (consumer < 0 || g.nodes[consumer].op_type != "QuantAvgPool2d") continue;
    const double cv = c->item_double();
    const DataType dt = g.get_datatype(mul.inputs.at(0));
    if (std::fabs(cv - 1.0) > 1e-6) continue;
    if (!dt.is_integer()) {
      note_refusal(mul.name, kPass, fmt::format("its input is {}, not an integer stream", dt.name()));
      continue;
    }
    const Node& pool = g.nodes[consumer];
    const int64_t k = pool.get_int("kernel", 1);
    const double max_sum = std::max(std::fabs(dt.min()), std::fabs(dt.max())) * double(k) * double(k);
    if (max_sum * std::fabs(cv - 1.0) >= 0.25) {
      note_refusal(mul.name, kPass,
                   fmt::format("scale {} is not close enough to 1 for sums up to {}", cv, max_sum));
      continue;
    }
    const std::string out = mul.outputs.at(0);
    bypass_node(g, (int)i);
    remove_unused_tensors(g);
    (void)out;
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS(kPass, "streamline",
                 "drop a scalar Mul by 1 +- rounding in front of QuantAvgPool2d when exact on its integer input",
                 absorb_unit_scale);

}  // namespace sf
