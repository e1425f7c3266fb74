// Shared machinery of the streamlining passes: matching "linear" nodes
// (Mul/Add by a constant), classifying how a constant broadcasts (scalar,
// per-channel, other), building new constants without touching existing
// buffers, keeping annotations consistent after a rewrite, and the exact
// threshold transfer that lets Mul/Add be absorbed into MultiThreshold with
// bit-identical results.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sf::streamline {

constexpr const char* kQonnxDomain = "qonnx.custom_op.general";

// How a constant operand broadcasts onto a tensor of the data shape.
struct ConstLayout {
  enum Kind { Scalar, Channel, Other } kind = Other;
  int64_t axis = -1;  // Channel: the data axis the constant varies along
};
// Precondition: c broadcasts onto data without growing it (see match_linear).
ConstLayout const_layout(const Shape& c, const Shape& data);
std::string describe_layout(const ConstLayout& l, const Tensor& c);  // "a scalar", "a per-channel (axis 1, 64 values)"

// A float32 Mul or Add with exactly one constant operand, whose output has the
// shape of its dynamic operand (the constant never broadcasts the data up).
struct Linear {
  int idx = -1;
  bool is_mul = false;
  std::string name, data, cname, out;
  const Tensor* c = nullptr;
  Shape shape;  // of data and out
  ConstLayout layout;
  const char* kind() const { return is_mul ? "Mul" : "Add"; }
};
std::optional<Linear> match_linear(const Graph& g, int idx);
std::optional<Linear> match_linear_producer(const Graph& g, const std::string& tensor);

bool is_onnx(const Node& n, const char* op_type);
bool is_multithreshold(const Node& n);
// The node's name, or a description when it has none (refusal notes need one).
std::string node_id(const Node& n);
// Channel axis MultiThreshold uses for an input of this rank (mirrors the op).
int64_t mt_channel_axis(const Node& n, int64_t rank);
// Element type recorded for a tensor (value_info / initializer), UNDEFINED if none.
ElemType elem_type_of(const Graph& g, const std::string& tensor);

// Per-channel / scalar values of a constant with a Scalar or Channel layout,
// in channel order (one value for Scalar).
std::vector<double> layout_values(const Tensor& c);
// A float32 constant shaped to broadcast onto a rank-`rank` tensor: shape {1}
// (or {} for rank 0) for one value, all-ones but `axis` for per-channel.
Tensor channel_const(const std::vector<double>& v, int64_t rank, int64_t axis);
// Elementwise binary op on two constants with NumPy broadcasting, computed in
// double and rounded once to float32.
Tensor bcast_const(const Tensor& a, const Tensor& b, const std::function<double(double, double)>& f);
// Returns c unchanged when it broadcasts onto rank `rank` (c.rank() <= rank),
// else the same values reshaped to drop leading ones (a copy-free view).
Tensor fit_rank(const Tensor& c, int64_t rank);
// Drops every axis along which t is constant (to size 1): the smallest
// broadcastable form of a tensor.
Tensor compress_const(const Tensor& t);
bool all_finite(const Tensor& t);

// New initializer under a fresh name derived from base; returns the name.
std::string add_const(Graph& g, const std::string& base, const Tensor& t);
// Gives node `idx` input `input` the value t: replaces the initializer under
// its own name when this node is its only reader, else adds a fresh one, so
// that other readers of a shared constant never see the change.
void set_node_const(Graph& g, int idx, size_t input, const Tensor& t);

// Re-derives the finn_datatype annotations written by the producers and
// readers of the given tensors from their op rules, and of everything
// downstream whose annotation changes as a result.
void refresh_datatypes(Model& m, const std::vector<std::string>& tensors);
// Drops dead initializers/value_info/annotations and restores topological order.
void tidy(Graph& g);

// Exact threshold transfer. f is monotone non-decreasing over float32 (e.g.
// y -> fl(y*c) with c > 0, or y -> fl(y+c)); returns the smallest float32 y
// with f(y) >= t, so that for every float32 x: f(x) >= t  <=>  x >= y.
// Returns -inf when every y qualifies and t itself when t is NaN.
float threshold_preimage(double t, const std::function<float(float)>& f);

// Smallest integer datatype holding every value in vals; FLOAT32 if any is not
// an integer or nothing fits.
DataType smallest_type_for(const std::vector<double>& vals);

// The output levels fl(fl(out_scale*k) + out_bias), k = 0..B, of the
// MultiThreshold writing `tensor` (as the executor computes them), or nullopt
// if no MultiThreshold with a known threshold count writes it. A signed
// MultiThreshold fresh from QONNX conversion declares out_dtype INTb while it
// still counts from 0 (FINN's convention, until its bias Add is absorbed), so
// passes that need a tensor's true range ask this before the annotation.
std::optional<std::vector<double>> multithreshold_levels(const Graph& g, const std::string& tensor);
// Float32 arithmetic exactly as written: no fused multiply-add.
float no_fuse(float v);

// "1.5, -2, 0.25, ..." (at most n values) for refusal notes.
std::string preview(const std::vector<double>& v, size_t n = 4);

}  // namespace sf::streamline
