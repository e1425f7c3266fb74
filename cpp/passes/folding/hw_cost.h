// The one entry point folding, estimate reports and the bindings use to ask a
// HW layer what it costs: looks the node up, validates its folding (so an
// illegal PE/SIMD is reported with the legal values, never estimated) and
// calls the op's own OpDef::estimate. Keeping the cost model behind this one
// call means calibrating an op touches only that op's .cpp.
#pragma once
#include <string>

#include "ops/hw/common.h"
#include "ops/op.h"

namespace sf::folding {

// True for nodes in the finn.custom_op.fpgadataflow domain family.
bool is_hw_node(const Node& n);
// Throws ModelError when the node is missing, not a HW layer, has no cost
// model, or its attributes (folding included) are illegal.
HwEstimate estimate_node(const Model& m, const std::string& node_name);
hw::StreamShapes stream_shapes_node(const Model& m, const std::string& node_name);
// Runs the op's validate() only; throws ModelError listing legal values.
void validate_node(const Model& m, const std::string& node_name);

}  // namespace sf::folding
