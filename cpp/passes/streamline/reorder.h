// Rewiring shared by the reorder passes.
#pragma once
#include "passes/streamline/common.h"

namespace sf::streamline {

// x -> L(c) -> P -> y   becomes   x -> P -> t -> L(new_c) -> y
// where P reads L's output at input `pos`. L and P keep their names; y keeps
// its name, shape and annotations; t is fresh, shaped like y.
void swap_linear_past(Model& m, const Linear& l, int p_idx, size_t pos, const Tensor& new_c);

// The one consumer of a linear node's output if it reads it at input `pos`
// only; -1 otherwise.
int sole_reader_at(const Graph& g, const std::string& tensor, size_t pos);

}  // namespace sf::streamline
