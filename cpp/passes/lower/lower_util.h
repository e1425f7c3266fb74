// Helpers shared by the lowering passes (cpp/passes/lower/): building new
// tensors with consistent value_info / finn_datatype / tensor_layout, small
// tensor permutations, and the Transpose patterns the passes look for.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/datatype.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sf::lower {

extern const std::vector<int64_t> kToNHWC;  // perm [0,2,3,1]: NCHW -> NHWC
extern const std::vector<int64_t> kToNCHW;  // perm [0,3,1,2]: NHWC -> NCHW
extern const std::vector<std::string> kLayoutNHWC;
extern const std::vector<std::string> kLayoutNCHW;

constexpr const char* kQonnxDomain = "qonnx.custom_op.general";

bool is_onnx_op(const Node& n, const std::string& op_type);
bool is_qonnx_op(const Node& n, const std::string& op_type);

// The perm of a Transpose node (absent perm reverses the axes); nullopt when
// the rank is unknown and no perm is given.
std::optional<std::vector<int64_t>> transpose_perm(const Graph& g, const Node& t);
bool is_transpose_with(const Graph& g, const Node& n, const std::vector<int64_t>& perm);
std::vector<int64_t> invert_perm(const std::vector<int64_t>& p);
bool is_identity_perm(const std::vector<int64_t>& p);
// y = x.transpose(p) on a shape.
Shape permute_shape(const Shape& s, const std::vector<int64_t>& p);
// A new Tensor holding t.transpose(p) (t itself untouched).
Tensor permute_tensor(const Tensor& t, const std::vector<int64_t>& p);

// A fresh tensor name registered at once in value_info (so the next fresh
// name differs), with its datatype (always written, FLOAT32 too) and
// layout annotations.
std::string new_tensor(Graph& g, const std::string& base, ElemType et, const Shape& s, const DataType& dt,
                       const std::vector<std::string>& layout = {});
// A fresh initializer holding t, annotated with dt when dt is not FLOAT32.
std::string new_initializer(Graph& g, const std::string& base, const Tensor& t, const DataType& dt = DataType());
// Replaces the value of initializer `name` when `user` is its only reader,
// else adds a fresh initializer; returns the name `user` must read. The old
// buffer is never written: set_initializer swaps in the new Tensor.
std::string replace_initializer_for(Graph& g, const std::string& name, int user, const Tensor& t);
// Removes initializer/value_info/annotations of `name` when nothing reads it.
void drop_if_unused(Graph& g, const std::string& name);

// The datatype the op's own rule gives output `out` of node n from the
// current annotations (FLOAT32 when the op has no rule or the rule fails).
DataType rule_datatype(const Model& m, const Node& n, size_t out = 0);
// Writes rule_datatype for every output of n.
void annotate_by_rule(Model& m, const Node& n);
void set_datatype_or_clear(Graph& g, const std::string& tensor, const DataType& dt);
// Moves the datatype and layout annotations of `from` onto `to`.
void copy_annotations(Graph& g, const std::string& from, const std::string& to);

// Erases the nodes at `erase` and inserts `add` where the last of them was,
// which keeps a topologically sorted list sorted when `add` only reads what
// the erased nodes read (or each other) and writes what they wrote.
void replace_nodes(Graph& g, std::vector<int> erase, const std::vector<Node>& add);

ElemType elem_type_of(const Graph& g, const std::string& tensor, ElemType dflt = ElemType::FLOAT);
// Whether `tensor` is read by exactly one node and is no graph output.
bool single_use(const Graph& g, const std::string& tensor);
// Whether nothing reads `tensor` and it is no graph output (or it is "").
bool unused(const Graph& g, const std::string& tensor);

}  // namespace sf::lower
