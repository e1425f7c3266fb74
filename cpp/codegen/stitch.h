// The stitched accelerator (DESIGN §7.1): one top module `finn_design` that
// instantiates every HW layer of a dataflow model and wires their AXI-Streams
// by tensor, with s_axis_<i> / m_axis_<i> ports for the graph inputs and
// outputs (graph order). StreamingFIFO nodes become sf_fifo instances whose
// occupancy monitors can be brought out to top-level ports for FIFO sizing.
// The weight stream of every MVAU/VVAU with mem_mode=external becomes a
// further input s_axis_<k>, numbered after the graph inputs in layer order;
// sf_design.json lists it among the inputs with "weights": true, the node,
// pass_beats, repeat (passes per frame), tensor, dtype and weights_file, the
// packed pass <node>_wstream.npy (uint8, (pass_beats, tdata bytes)) written
// beside the design (ops/hw/ext_weights.h).
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
