// Graph-level shape and datatype inference, driven by each op's rules.
#pragma once
#include "ir/graph.h"

namespace sf {

// Fills value_info (and graph outputs) with element types and shapes for
// every tensor. Unknown ops raise UnsupportedOpError; nothing is guessed.
void infer_shapes(Model& m);
// Sets finn_datatype annotations for every non-input tensor from each op's
// datatype rule (initializers keep theirs). Graph inputs keep theirs.
void infer_datatypes(Model& m, bool allow_scaledint = false);

}  // namespace sf
