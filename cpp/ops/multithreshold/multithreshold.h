// MultiThreshold's channel axis rule, shared with the passes that rewrite
// thresholds, so both read the layout the same way.
#pragma once
#include <cstdint>

#include "ir/graph.h"

namespace sf {

// Axis of the channels for an input of `rank`: the 'C' in data_layout, or by
// rank without it (2: NC, 3: NWC, 4: NCHW, else 1), as qonnx does. Throws
// ModelError naming the node when the layout has no usable 'C'.
int64_t multithreshold_channel_axis(const Node& n, int64_t rank);

}  // namespace sf
