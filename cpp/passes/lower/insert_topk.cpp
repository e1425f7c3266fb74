// InsertTopK: ends a classifier in a TopK whose indices are the graph output
// (FINN's InsertTopK, applied by users before streamlining). The scores the
// network computed stay an internal tensor; nothing reads the TopK values,
// which is what AbsorbScalarMulAddIntoTopK (drop the final scalar Mul/Add)
// and InferLabelSelectLayer (TopK -> LabelSelect) look for.
#include "passes/lower/lower.h"

#include <fmt/format.h>

#include "ir/errors.h"
#include "passes/lower/lower_util.h"

namespace sf {

namespace {
using namespace lower;

// A node that already reduces the scores to class indices.
bool is_top_select(const Node& n) { return is_onnx_op(n, "TopK") || n.op_type.rfind("LabelSelect", 0) == 0; }
}  // namespace

bool insert_topk(Model& m, int64_t k, int64_t axis, bool largest, bool sorted) {
  Graph& g = m.graph;
  if (g.outputs.size() != 1) {
    std::string names;
    for (const auto& o : g.outputs) names += (names.empty() ? "'" : ", '") + o.name + "'";
    throw ModelError(fmt::format("InsertTopK needs a graph with exactly one output; this one has {}{}",
                                 g.outputs.size(), names.empty() ? "" : " (" + names + ")"),
                     "keep only the classifier's score output in graph.output before inserting the TopK",
                     "graph.output");
  }
  const ValueInfo out = g.outputs[0];
  const int p = g.find_producer(out.name);
  if (p >= 0 && is_top_select(g.nodes[p])) return false;

  const auto s = tensor_shape(g, out.name);
  if (!s || s->empty()) {
    throw ModelError(fmt::format("InsertTopK: graph output '{}' has {}", out.name,
                                 s ? "rank 0 (a scalar); TopK needs at least one axis"
                                   : "no static shape (unknown or symbolic dimensions)"),
                     s ? "apply InsertTopK to the (N, classes) score output of a classifier"
                       : "give the output fixed dimensions (e.g. batch 1) and run InferShapes first",
                     out.name);
  }
  const int64_t rank = (int64_t)s->size();
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    throw ModelError(fmt::format("InsertTopK: axis {} is out of range for graph output '{}' of shape {}", axis,
                                 out.name, shape_str(*s)),
                     fmt::format("use an axis in [{}, {}] (-1, the last axis, for (N, classes) scores)", -rank,
                                 rank - 1),
                     out.name);
  }
  const int64_t classes = (*s)[(size_t)a];
  if (k < 1 || k > classes) {
    throw ModelError(fmt::format("InsertTopK: k = {} is out of range for axis {} of graph output '{}' (shape {}, "
                                 "{} entries along the axis)",
                                 k, axis, out.name, shape_str(*s), classes),
                     fmt::format("use 1 <= k <= {}", classes), out.name);
  }

  const ElemType et = out.elem_type == ElemType::UNDEFINED ? ElemType::FLOAT : out.elem_type;
  Shape os = *s;
  os[(size_t)a] = k;

  // K as input 1 from opset 10 on (opset 1-9 only knows the attribute).
  const int64_t opset = m.opset_version("");
  const bool k_as_input = opset < 0 || opset >= 10;
  std::vector<std::string> inputs = {out.name};
  if (k_as_input)
    inputs.push_back(new_initializer(g, out.name + "_topk_k", Tensor::from_vector<int64_t>({1}, {k}),
                                     DataType::sint(64)));
  const std::string values = new_tensor(g, out.name + "_topk_values", et, os, DataType::float32());
  const std::string indices = unique_tensor_name(g, out.name + "_topk_indices");
  Node n = make_node("TopK", inputs, {values, indices}, unique_node_name(g, "TopK_" + std::to_string(g.nodes.size())));
  if (!k_as_input) n.set_int("k", k);
  n.set_int("axis", axis);
  n.set_int("largest", largest ? 1 : 0);
  n.set_int("sorted", sorted ? 1 : 0);

  // The old output becomes an internal tensor (shape, type and annotations
  // kept); the indices take its place as the only graph output.
  bool listed = is_graph_input(g, out.name);
  for (const auto& vi : g.value_info) listed |= vi.name == out.name;
  if (!listed) g.value_info.push_back(out);
  ValueInfo iv;
  iv.name = indices;
  iv.elem_type = ElemType::INT64;
  iv.set_shape(os);
  g.outputs[0] = iv;
  g.nodes.push_back(n);  // after the producer of its input: order stays topological

  // Datatypes by the TopK rule, as InferDataTypes will give them: the
  // values keep the scores' type, the indices are INT64.
  annotate_by_rule(m, g.nodes.back());
  return true;
}

SF_REGISTER_PASS_ONCE("InsertTopK", "lower",
                      "append TopK(k=1) to the single graph output; its indices become the output (no-op if a TopK "
                      "or LabelSelect already ends the graph)",
                      [](Model& m) { return insert_topk(m); });

}  // namespace sf
