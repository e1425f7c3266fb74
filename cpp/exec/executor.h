// The reference executor: runs a Model node by node in topological order with
// each op's reference semantics. Exact, not fast.
#pragma once
#include <map>
#include <string>

#include "ir/graph.h"

namespace sf {

using TensorMap = std::map<std::string, Tensor>;

struct ExecOptions {
  bool full_context = false;  // return every intermediate tensor, not only graph outputs
};

// Inputs are checked against the graph's runtime inputs (names, element
// types, concrete dims): mismatches raise InputError naming the input.
TensorMap execute_model(const Model& model, const TensorMap& inputs, const ExecOptions& opts = {});

// Checks inputs against the graph's runtime inputs (names, element types,
// concrete dims) and raises InputError naming the input. With any_batch, axis
// 0 may differ from a declared batch of 1 (same for every input). Returns the
// batch size (axis 0 of the inputs), or -1 when no input has a shape.
int64_t check_model_inputs(const Graph& g, const TensorMap& inputs, bool any_batch);

struct OpDef;
struct ExecCtx;
// Runs one node with its reference semantics: input-count check, attribute
// validation, execution, and every failure turned into a typed error naming
// the node. Shared by the executor and the fast engine's per-node fallback.
void run_node(const OpDef& def, ExecCtx& ec);

// Node indices in an order where every producer precedes its consumers.
// Throws ModelError on cycles and on tensors nobody produces.
std::vector<int> topological_order(const Graph& g);

}  // namespace sf
