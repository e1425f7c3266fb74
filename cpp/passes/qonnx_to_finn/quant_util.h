// Helpers shared by the cleanup and QONNX->FINN passes that look at
// quantizers and their constant parameters. Private to cpp/passes.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace sf::q2f {

constexpr const char* kQonnxDomain = "qonnx.custom_op.general";

// Quant, IntQuant or BipolarQuant in any QONNX domain spelling.
bool is_quantizer(const Node& n);
// A quantizer whose inputs are all initializers: a quantized constant
// (weights, biases), as opposed to an activation quantizer.
bool is_quant_init(const Graph& g, const Node& n);
// Every non-empty input of n is an initializer.
bool all_inputs_constant(const Graph& g, const Node& n);

// `p` right-aligned against rank r, as NumPy broadcasting sees it (leading
// 1s added). Empty optional if p has more axes than r.
std::optional<Shape> aligned_shape(const Shape& p, size_t r);
// The axes along which a parameter of shape p (broadcast against rank r)
// actually varies (size > 1).
std::vector<size_t> varying_axes(const Shape& p, size_t r);

// out[perm-permuted] = t; perm empty reverses the axes (ONNX default).
Tensor transpose_tensor(const Tensor& t, std::vector<int64_t> perm);

// Adds a copy of the quant-init node q_idx whose data and per-element
// parameters are permuted by `perm` (as a Transpose after it would), writing
// tensor `out`. Scalar parameters are shared; others become new
// initializers, so nothing the original quantizer reads changes.
void add_transposed_quant_copy(Graph& g, int q_idx, const std::vector<int64_t>& perm, const std::string& out);
// The same with a new shape for a 1-D quantized constant of length C (a
// bias): data and length-C parameters get `shape`, scalars stay.
void add_reshaped_quant_copy(Graph& g, int q_idx, const Shape& shape, const std::string& out);

// Element type and shape of a tensor (initializer or value_info), if known.
std::optional<ElemType> tensor_elem_type(const Graph& g, const std::string& t);

// Copies the finn_datatype annotation of `from` to `to` (removes it from
// `to` when `from` has none).
void copy_datatype(Graph& g, const std::string& from, const std::string& to);

// Renames the output of the producer of `tensor` to a fresh name and returns
// it, so a new node can be inserted between the producer and the readers of
// `tensor` while they keep reading `tensor`. The fresh tensor gets the old
// tensor's value_info shape; `tensor`'s own annotations stay with `tensor`.
std::string detach_output(Graph& g, int producer, size_t out_idx, const std::string& base);

}  // namespace sf::q2f
