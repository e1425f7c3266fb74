// The stitched accelerator (DESIGN §7.1): one top module `finn_design` that
// instantiates every HW layer of a dataflow model and wires their AXI-Streams
// by tensor, with s_axis_<i> / m_axis_<i> ports for the graph inputs and
// outputs (graph order). StreamingFIFO nodes become sf_fifo instances whose
// occupancy monitors can be brought out to top-level ports for FIFO sizing.
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"

namespace sf::rtl {

struct StitchOptions {
  bool monitors = false;  // mon_<fifo>_maxcount output ports (FIFO sizing)
  std::string top = "finn_design";
};

// Writes <dir>/<top>.v, every layer's sources and memory files (one flat
// folder), all_verilog_srcs.txt and sf_design.json (the harness manifest).
// ModelError naming the node or tensor when the graph cannot be stitched
// (a non-HW node, a tensor read twice without DuplicateStreams, stream widths
// that differ without a data width converter).
void stitch_design(const Model& m, const std::string& dir, const StitchOptions& opts);

}  // namespace sf::rtl
