// Small graph-editing helpers shared by passes. Node indices are invalidated
// by anything that inserts or erases nodes; re-find after edits.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace sf {

// A fresh name not used by any tensor (or node) in the graph: base, base_0, base_1, ...
std::string unique_tensor_name(const Graph& g, const std::string& base);
std::string unique_node_name(const Graph& g, const std::string& base);

Node make_node(const std::string& op_type, const std::vector<std::string>& inputs,
               const std::vector<std::string>& outputs, const std::string& name, const std::string& domain = "");

bool is_graph_output(const Graph& g, const std::string& tensor);
bool is_graph_input(const Graph& g, const std::string& tensor);
// The single consumer of `tensor` (index), or -1 if it has none or several,
// or is a graph output (then its value is observable and must not change).
int single_consumer(const Graph& g, const std::string& tensor);
// Initializer value of a node input, or nullptr.
const Tensor* const_input(const Graph& g, const Node& n, size_t i);

// Every reader of `from` (node inputs) now reads `to`.
void replace_uses(Graph& g, const std::string& from, const std::string& to);
// Removes node idx whose output 0 is equivalent to its input 0 (Identity-like):
// readers of the output read the input instead. If the output is a graph
// output, the producer of the input is renamed to write the graph output.
void bypass_node(Graph& g, int idx);
void erase_nodes(Graph& g, std::vector<int> indices);
// Drops initializers, value_info and annotations of tensors no node or graph
// output uses any more. Returns whether anything was removed.
bool remove_unused_tensors(Graph& g);

// Executes one node on constant inputs (all initializers) and returns its
// outputs. Throws ModelError if an input is not constant.
std::vector<Tensor> eval_const_node(const Model& m, const Node& n);

// Element type and shape from value_info / inputs / outputs / initializers.
std::optional<Shape> tensor_shape(const Graph& g, const std::string& tensor);
void set_tensor_shape(Graph& g, const std::string& tensor, ElemType t, const Shape& s);

// Topologically sorts g.nodes in place (stable).
void sort_graph(Graph& g);

}  // namespace sf
