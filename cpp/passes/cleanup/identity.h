// Identity-op detection and removal shared by RemoveIdentityOps and
// RemoveEmptyPadding. Private to cpp/passes.
#pragma once
#include <string>

#include "ir/graph.h"

namespace sf::cleanup {

// Pad whose pads (input 1, or the 'pads'/'paddings' attribute of old
// opsets) are all zero: its output equals its input whatever the mode.
bool pad_is_empty(const Graph& g, const Node& n);

// Removes node idx, whose output 0 equals its input `data`: readers of the
// output read `data`. When the output is a graph output, the producer of
// `data` is renamed to write it instead; if that is impossible (data is a
// graph input, an initializer or read elsewhere), nothing changes and false
// is returned.
bool remove_identity_node(Graph& g, int idx, std::string data);

}  // namespace sf::cleanup
