// Lowering entry points that take parameters. The registered passes use the
// defaults: "InsertTopK" is insert_topk(m, 1, -1, true, true).
#pragma once
#include <cstdint>

#include "ir/graph.h"

namespace sf {

// Appends a TopK(k, axis, largest, sorted) to the model's only graph output
// and makes its indices (INT64, the output's shape with k along `axis`) the
// new graph output, as FINN's InsertTopK does before streamlining a
// classifier. The old output stays as an internal tensor; the TopK values
// output is left unread, so AbsorbScalarMulAddIntoTopK and the LabelSelect
// conversion apply. K is an int64 initializer input (opset >= 10; an
// attribute on older default-domain opsets).
//
// Idempotent: returns false and changes nothing when the graph output is
// already written by a TopK or a LabelSelect. Throws ModelError (where = the
// graph output, or "graph.output" for a wrong output count) when the graph
// has other than one output, the output's shape is not static, `axis` is out
// of range or k is not in [1, size of `axis`].
bool insert_topk(Model& m, int64_t k = 1, int64_t axis = -1, bool largest = true, bool sorted = true);

}  // namespace sf
