// The default pipeline, as plain lists of pass names per FINN build step,
// and the check that a streamlined model is in canonical integer form.
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"

namespace sf {

// Pass names of a build step ("step_qonnx_to_finn", "step_tidy_up",
// "step_streamline"). Throws ConfigError for other names.
const std::vector<std::string>& step_passes(const std::string& step);
std::vector<std::string> pipeline_step_names();

struct CanonicalViolation {
  std::string node, op_type;
  std::string why;                  // what makes it non-canonical
  std::vector<std::string> inputs;  // neighbours: "Producer (OpType)"
  std::vector<std::string> outputs;
  std::vector<std::string> refusals;  // "PassName: reason"
  std::string hint;
  // Part of the float head: the node only sees the raw float graph input
  // (through other such nodes), before any quantizer. A build may run these
  // layers on the host (host_float_layers) so the dataflow part starts after.
  bool float_head = false;
  std::string message() const;
};

// Nodes that may not remain after step_streamline: anything but
// MultiThreshold, integer-weight MatMul / XnorPopcountMatMul, Im2Col,
// MaxPool(NHWC) / QuantAvgPool2d, Add of two integer streams,
// Transpose/Reshape at the graph input or before the FC head, a TopK tail
// and a trailing float Mul/Add pair for the output scale.
std::vector<CanonicalViolation> check_streamlined_form(const Model& m);

}  // namespace sf
