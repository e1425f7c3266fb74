// Helpers shared by the convert-to-HW passes (cpp/passes/to_hw/): node
// naming in FINN's style (folding configs address layers by these names),
// datatype and shape queries with refusal-friendly failure, and the
// MultiThreshold -> threshold-activation mapping that MVAU, VVAU and
// Thresholding all share.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sf::to_hw {

constexpr const char* kHwDomain = "finn.custom_op.fpgadataflow";

bool is_hw(const Node& n);  // any finn.custom_op.fpgadataflow[.hls|.rtl] op
bool is_op(const Node& n, const char* op_type, bool qonnx);  // op_type in the ONNX or the QONNX family
// "MVAU_0", "MVAU_1", ...: the first free "<prefix>_<i>".
std::string fresh_node_name(const Graph& g, const std::string& prefix);
// A new HW node (domain finn.custom_op.fpgadataflow) with a fresh FINN-style name.
Node hw_node(const Graph& g, const std::string& op_type, const std::vector<std::string>& inputs,
             const std::vector<std::string>& outputs);
void set_strings(Node& n, const std::string& name, const std::vector<std::string>& v);
// Concrete shape of a tensor, or nullopt.
std::optional<Shape> known_shape(const Graph& g, const std::string& t);
// All axes but the last, as FINN's numInputVectors ([1] for a rank-1 tensor).
std::vector<int64_t> input_vectors(const Shape& s);

// The activation a MultiThreshold computes, in the HW form ActVal + count
// (or 2*count-1 for BIPOLAR). ok=false with `why` when it has no HW form.
struct Activation {
  bool ok = false;
  std::string why;
  DataType odt;
  int64_t act_val = 0;
  const Tensor* thresholds = nullptr;
};
Activation activation_of(const Graph& g, const Node& mt);
// Thresholds for an integer input in [lo, hi], broadcast to `rows` rows:
// x >= t equals x >= ceil(t) for integer x, and clipping to [lo, hi+1] keeps
// every comparison's outcome, so the HW thresholds can be typed exactly.
Tensor integer_thresholds(const Tensor& thr, int64_t rows, double lo, double hi);
// Value range of a float tensor's elements.
std::pair<double, double> value_range(const Tensor& t);

}  // namespace sf::to_hw
