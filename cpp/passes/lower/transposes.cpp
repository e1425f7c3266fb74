// Transpose plumbing for lowered graphs. LowerConvsToMatMul brackets every
// conv with NCHW->NHWC and NHWC->NCHW transposes; these passes move them
// downstream until they meet their inverse and cancel:
//   AbsorbConsecutiveTransposes   T(p1) -> T(p2)  =>  T(p1∘p2), nothing if identity
//   MoveTransposePastScalarMul    T -> Mul/Add(scalar c)  =>  Mul/Add(c) -> T
//   MoveTransposePastEltwise      T -> elementwise op with constant operands
//                                 (constants permuted by the inverse perm)
//   MoveTransposePastJoinAdd      Add/Sub/Mul(T(a), T(b)) with one perm  =>  T(Add(a, b))
//   MoveTransposePastFork         a Transpose read by several nodes => one copy each
// Every move is exact: an elementwise op computes the same numbers in any
// layout, and a permuted constant broadcasts onto the same elements.
#include <set>

#include "ops/op.h"
#include "passes/lower/lower_util.h"

namespace sf {
namespace {
using namespace lower;

// ---- AbsorbConsecutiveTransposes --------------------------------------------

bool absorb_consecutive_transposes(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    if (!is_onnx_op(g.nodes[i], "Transpose")) continue;
    const int pi = g.find_producer(g.nodes[i].inputs[0]);
    if (pi < 0 || !is_onnx_op(g.nodes[pi], "Transpose")) continue;
    const auto p1 = transpose_perm(g, g.nodes[pi]), p2 = transpose_perm(g, g.nodes[i]);
    if (!p1 || !p2 || p1->size() != p2->size()) continue;
    // y = x.T(p1).T(p2): output axis k is input axis p1[p2[k]].
    std::vector<int64_t> q(p2->size());
    for (size_t k = 0; k < q.size(); ++k) q[k] = (*p1)[(*p2)[k]];
    const Node first = g.nodes[pi];
    g.nodes[i].inputs[0] = first.inputs[0];
    if (unused(g, first.outputs[0])) {
      g.nodes.erase(g.nodes.begin() + pi);
      drop_if_unused(g, first.outputs[0]);
      if (pi < i) --i;
    }
    // Removing the first one before bypassing lets bypass_node rename the
    // producer when the second Transpose wrote a graph output.
    if (is_identity_perm(q)) bypass_node(g, i);
    else g.nodes[i].set_ints("perm", q);
    return true;
  }
  return false;
}

// ---- moving a Transpose past elementwise ops --------------------------------

const std::set<std::string> kScalarBinary = {"Mul", "Add"};
const std::set<std::string> kBinary = {"Mul", "Add", "Sub", "Div", "Max", "Min"};
const std::set<std::string> kUnary = {"Relu", "Neg", "Abs", "Sign", "Floor", "Ceil", "Round", "Identity",
                                      "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "LeakyRelu",
                                      "Elu", "Selu", "HardSigmoid", "Softsign", "Softplus", "Erf", "Clip"};
const std::set<std::string> kQuantizers = {"Quant", "IntQuant", "BipolarQuant", "Trunc"};

struct Untransposed {
  Node node;                                     // e reading the Transpose's input
  std::vector<std::pair<size_t, Tensor>> perm;  // constant operands to replace, permuted
};

// The elementwise node `e` rewritten to read `src` (the Transpose's input)
// instead of `tout`, with its constant operands permuted by the inverse perm;
// nullopt when e is not an elementwise op whose other operands are suitable
// constants.
std::optional<Untransposed> untransposed_eltwise(const Graph& g, const Node& e, const std::string& tout, const std::string& src,
                                         const std::vector<int64_t>& perm, bool scalar_only) {
  const bool onnx = domain_family(e.domain) == OpDomain::ONNX;
  const bool binary = onnx && (scalar_only ? kScalarBinary : kBinary).count(e.op_type) && e.inputs.size() == 2;
  const bool unary = !scalar_only && onnx && kUnary.count(e.op_type);
  const bool quant = !scalar_only && domain_family(e.domain) == OpDomain::QONNX && kQuantizers.count(e.op_type);
  if (!binary && !unary && !quant) return std::nullopt;
  if (e.outputs.size() != 1) return std::nullopt;
  if ((unary || quant) && e.inputs[0] != tout) return std::nullopt;
  const size_t rank = perm.size();
  const std::vector<int64_t> inv = invert_perm(perm);
  Node n = e;
  int uses = 0;
  std::vector<std::pair<size_t, Tensor>> permuted;
  for (size_t k = 0; k < e.inputs.size(); ++k) {
    const std::string& in = e.inputs[k];
    if (in.empty()) continue;
    if (in == tout) {
      n.inputs[k] = src;
      ++uses;
      continue;
    }
    const Tensor* c = g.get_initializer(in);
    if (!c || c->rank() > (int64_t)rank) return std::nullopt;
    if (c->numel() == 1) continue;  // a single value broadcasts the same in any layout
    if (!binary || scalar_only) return std::nullopt;  // quantizer/Clip parameters must be single values
    Shape full(rank - c->shape().size(), 1);
    full.insert(full.end(), c->shape().begin(), c->shape().end());
    permuted.emplace_back(k, permute_tensor(c->reshaped(full), inv));
  }
  if (uses != 1) return std::nullopt;
  return Untransposed{n, permuted};
}

bool move_transpose_past_eltwise(Model& m, bool scalar_only) {
  Graph& g = m.graph;
  const char* pass = scalar_only ? "MoveTransposePastScalarMul" : "MoveTransposePastEltwise";
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    if (!is_onnx_op(g.nodes[i], "Transpose")) continue;
    const Node t = g.nodes[i];
    if (!single_use(g, t.outputs[0])) continue;
    const auto perm = transpose_perm(g, t);
    if (!perm) continue;
    const int ei = g.find_consumers(t.outputs[0])[0];
    const Node e = g.nodes[ei];
    const std::string& y = e.outputs.empty() ? std::string() : e.outputs[0];
    auto ys = y.empty() ? std::nullopt : tensor_shape(g, y);
    std::optional<Untransposed> u = untransposed_eltwise(g, e, t.outputs[0], t.inputs[0], *perm, scalar_only);
    if (!u) continue;
    if (!ys || ys->size() != perm->size()) {
      note_refusal(e.name, pass, "output shape unknown; run InferShapes first");
      continue;
    }
    Node* ne = &u->node;
    for (auto& [k, c] : u->perm) ne->inputs[k] = new_initializer(g, e.inputs[k] + "_perm", c, g.get_datatype(e.inputs[k]));
    const std::vector<int64_t> inv = invert_perm(*perm);
    const std::string mid = new_tensor(g, y + "_pre_transpose", elem_type_of(g, y), permute_shape(*ys, inv),
                                       g.get_datatype(y), g.get_layout(t.inputs[0]));
    ne->outputs[0] = mid;
    Node nt = make_node("Transpose", {mid}, {y}, t.name);
    nt.set_ints("perm", *perm);
    const Node old = e;
    replace_nodes(g, {i, ei}, {*ne, nt});
    drop_if_unused(g, t.outputs[0]);
    for (const auto& in : old.inputs) drop_if_unused(g, in);
    return true;
  }
  return false;
}

bool move_transpose_past_scalar_mul(Model& m) { return move_transpose_past_eltwise(m, true); }
bool move_transpose_past_any_eltwise(Model& m) { return move_transpose_past_eltwise(m, false); }

// ---- MoveTransposePastJoinAdd -----------------------------------------------

bool move_transpose_past_join_add(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    const Node e = g.nodes[i];
    if (!(is_onnx_op(e, "Add") || is_onnx_op(e, "Sub") || is_onnx_op(e, "Mul")) || e.inputs.size() != 2) continue;
    const int a = g.find_producer(e.inputs[0]), b = g.find_producer(e.inputs[1]);
    if (a < 0 || b < 0 || !is_onnx_op(g.nodes[a], "Transpose") || !is_onnx_op(g.nodes[b], "Transpose")) continue;
    const auto pa = transpose_perm(g, g.nodes[a]), pb = transpose_perm(g, g.nodes[b]);
    if (!pa || !pb || *pa != *pb) continue;
    // Each transposed tensor must feed only this node (a fork is split first
    // by MoveTransposePastFork), so removing the transposes loses nothing.
    bool ok = true;
    for (const std::string& in : e.inputs) {
      auto c = g.find_consumers(in);
      ok = ok && !is_graph_output(g, in) && c.size() == 1 && c[0] == i;
    }
    const std::string& y = e.outputs[0];
    auto ys = tensor_shape(g, y);
    if (!ok) continue;
    if (!ys || ys->size() != pa->size()) {
      note_refusal(e.name, "MoveTransposePastJoinAdd", "output shape unknown; run InferShapes first");
      continue;
    }
    const Node ta = g.nodes[a], tb = g.nodes[b];
    const std::string mid = new_tensor(g, y + "_pre_transpose", elem_type_of(g, y), permute_shape(*ys, invert_perm(*pa)),
                                       g.get_datatype(y), g.get_layout(ta.inputs[0]));
    Node ne = e;
    ne.inputs = {ta.inputs[0], tb.inputs[0]};
    ne.outputs[0] = mid;
    Node nt = make_node("Transpose", {mid}, {y}, ta.name);
    nt.set_ints("perm", *pa);
    replace_nodes(g, {a, b, i}, {ne, nt});
    drop_if_unused(g, ta.outputs[0]);
    drop_if_unused(g, tb.outputs[0]);
    return true;
  }
  return false;
}

// ---- MoveTransposePastFork --------------------------------------------------

bool move_transpose_past_fork(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    if (!is_onnx_op(g.nodes[i], "Transpose")) continue;
    const Node t = g.nodes[i];
    const std::string& y = t.outputs[0];
    const auto users = g.find_consumers(y);
    // A graph output keeps needing the transposed value; leave those alone.
    if (users.size() < 2 || is_graph_output(g, y)) continue;
    auto ys = tensor_shape(g, y);
    if (!ys) {
      note_refusal(t.name, "MoveTransposePastFork", "output shape unknown; run InferShapes first");
      continue;
    }
    for (size_t k = 1; k < users.size(); ++k) {
      const std::string yk = new_tensor(g, y + "_fork", elem_type_of(g, y), *ys, g.get_datatype(y), g.get_layout(y));
      const int u = users[k] > i ? users[k] + (int)k - 1 : users[k];  // shifted by the copies inserted so far
      for (auto& in : g.nodes[u].inputs)
        if (in == y) in = yk;
      Node c = t;
      c.name = unique_node_name(g, t.name + "_fork");
      c.outputs[0] = yk;
      g.nodes.insert(g.nodes.begin() + i + (int)k, c);
    }
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS("AbsorbConsecutiveTransposes", "lower", "Transpose -> Transpose composed into one, or removed if identity",
                 absorb_consecutive_transposes);
SF_REGISTER_PASS("MoveTransposePastScalarMul", "lower", "Transpose -> Mul/Add by a single value => Mul/Add -> Transpose",
                 move_transpose_past_scalar_mul);
SF_REGISTER_PASS("MoveTransposePastEltwise", "lower",
                 "Transpose -> elementwise op (constants permuted; quantizers with scalar parameters) => op -> Transpose",
                 move_transpose_past_any_eltwise);
SF_REGISTER_PASS("MoveTransposePastJoinAdd", "lower", "Add/Sub/Mul of two equally transposed tensors => Transpose of the sum",
                 move_transpose_past_join_add);
SF_REGISTER_PASS("MoveTransposePastFork", "lower", "a Transpose read by several nodes => one Transpose per reader",
                 move_transpose_past_fork);

}  // namespace sf
