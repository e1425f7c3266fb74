// Passes for the end of a CNN:
//   RemoveCNVtoFCFlatten: NHWC conv output -> Transpose(to NCHW) -> Flatten/
//     Reshape -> MatMul(W) (or XnorPopcountMatMul). The Transpose only reorders the rows W is
//     multiplied with, so it is folded into W (rows (c,h,w) -> (h,w,c)) and
//     the flatten reads the NHWC tensor directly. Exact: the same products
//     are summed in the same order per output.
//   AbsorbScalarMulAddIntoTopK: scalar Mul (positive) / Add chains before a
//     TopK whose values output nobody reads do not change which indices win,
//     provided the chain maps distinct inputs to distinct outputs in float.
//     FINN assumes that; we check it on every value the input's integer
//     datatype allows, so ties are neither created nor broken. Where the
//     producer bounds the values more tightly than its annotation (qonnx
//     types every XnorPopcountMatMul UINT32 and every MatMul INT32), the
//     check covers the producer's range: 0..K match counts, or the extreme
//     sums of an integer MatMul with constant integer weights.
#include <algorithm>
#include <cmath>
#include <utility>
#include <fmt/format.h>

#include "passes/lower/lower_util.h"

namespace sf {
namespace {
using namespace lower;

// ---- RemoveCNVtoFCFlatten ---------------------------------------------------

bool remove_cnv_to_fc_flatten(Model& m) {
  Graph& g = m.graph;
  constexpr const char* kPass = "RemoveCNVtoFCFlatten";
  for (int ri = 0; ri < (int)g.nodes.size(); ++ri) {
    const Node r = g.nodes[ri];
    const bool flatten = is_onnx_op(r, "Flatten");
    if (!flatten && !is_onnx_op(r, "Reshape")) continue;
    const int ti = g.find_producer(r.inputs[0]);
    if (ti < 0 || !is_transpose_with(g, g.nodes[ti], kToNCHW) || !single_use(g, r.inputs[0])) continue;
    if (!single_use(g, r.outputs[0])) continue;
    const int mi = g.find_consumers(r.outputs[0])[0];
    const Node& mm = g.nodes[mi];
    // XnorPopcountMatMul multiplies the same rows, on {0,1} encodings.
    const bool fc = is_onnx_op(mm, "MatMul") || is_qonnx_op(mm, "XnorPopcountMatMul");
    if (!fc || mm.inputs.size() != 2 || mm.inputs[0] != r.outputs[0]) {
      if (is_onnx_op(mm, "Gemm")) note_refusal(mm.name, kPass, "the FC layer is a Gemm; run GemmToMatMul first");
      continue;
    }
    const Node t = g.nodes[ti];
    auto xs = tensor_shape(g, t.inputs[0]), fs = tensor_shape(g, r.outputs[0]);
    const Tensor* w = g.get_initializer(mm.inputs[1]);
    if (!xs || !fs || xs->size() != 4) {
      note_refusal(r.name, kPass, "shapes unknown or not 4-D; run InferShapes first");
      continue;
    }
    const int64_t N = (*xs)[0], H = (*xs)[1], W = (*xs)[2], C = (*xs)[3], K = H * W * C;
    if (*fs != Shape{N, K} || (flatten && r.get_int("axis", 1) != 1)) {
      note_refusal(r.name, kPass, fmt::format("flattens {} to {}, not to (N, H*W*C)", shape_str(*xs), shape_str(*fs)));
      continue;
    }
    if (!w || w->rank() != 2 || w->shape()[0] != K) {
      note_refusal(mm.name, kPass, "the FC weight is not a constant (K, M) matrix");
      continue;
    }
    const int64_t M = w->shape()[1];
    // Row (c, h, w) of W meets element (c, h, w) of the NCHW flatten; the
    // NHWC flatten delivers (h, w, c), so W' = W rows permuted to (h, w, c).
    const Tensor wp = permute_tensor(w->reshaped({C, H, W, M}), {1, 2, 0, 3}).reshaped({K, M});
    const std::string wn = replace_initializer_for(g, mm.inputs[1], mi, wp);
    const std::string f = new_tensor(g, r.outputs[0] + "_nhwc", elem_type_of(g, r.outputs[0]), {N, K},
                                     g.get_datatype(r.outputs[0]));
    g.nodes[mi].inputs = {f, wn};
    Node nr = r;
    nr.inputs[0] = t.inputs[0];
    nr.outputs[0] = f;
    if (!flatten)  // -1 keeps the batch flexible; the product is the same
      nr.inputs[1] = new_initializer(g, r.name.empty() ? "flatten_shape" : r.name + "_shape",
                                     Tensor::from_vector<int64_t>({2}, {-1, K}));
    const Node old_r = r;
    replace_nodes(g, {ti, ri}, {nr});
    drop_if_unused(g, old_r.outputs[0]);
    drop_if_unused(g, t.outputs[0]);
    if (old_r.inputs.size() > 1) drop_if_unused(g, old_r.inputs[1]);
    return true;
  }
  return false;
}

// ---- AbsorbScalarMulAddIntoTopK ----------------------------------------------

struct ScalarStep {
  int node;
  bool mul;
  double c;
};

// y = op(x, c) as the executor computes it, in the tensor's precision.
template <typename T>
bool strictly_increasing(const std::vector<ScalarStep>& chain, double lo, double hi) {
  T prev = 0;
  for (double v = lo; v <= hi; v += 1.0) {
    T y = (T)v;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) y = it->mul ? y * (T)it->c : y + (T)it->c;
    if (!std::isfinite((double)y) || (v > lo && !(y > prev))) return false;
    prev = y;
  }
  return true;
}

// The values x can take: dt's range, narrowed by what its producer can
// output (see the header). Every bound here is exact arithmetic on integers
// that float32 holds exactly, so it is a true bound on the executed values.
std::pair<double, double> integer_range(const Graph& g, const std::string& x, const DataType& dt) {
  double lo = dt.min(), hi = dt.max();
  const int p = g.find_producer(x);
  if (p < 0 || g.nodes[p].inputs.size() != 2) return {lo, hi};
  const Node& n = g.nodes[p];
  if (is_qonnx_op(n, "XnorPopcountMatMul")) {
    const auto bs = tensor_shape(g, n.inputs[1]);
    if (bs && !bs->empty()) return {std::max(lo, 0.0), std::min(hi, (double)(*bs)[0])};
    return {lo, hi};
  }
  const Tensor* w = g.get_initializer(n.inputs[1]);
  const DataType adt = g.get_datatype(n.inputs[0]);
  if (!is_onnx_op(n, "MatMul") || !w || w->rank() != 2 || !adt.is_integer()) return {lo, hi};
  const int64_t K = w->shape()[0], N = w->shape()[1];
  const std::vector<double> wv = w->to_double();
  const double alo = adt.min(), ahi = adt.max(), amag = std::max(std::fabs(alo), std::fabs(ahi));
  double mlo = 0, mhi = 0;
  for (int64_t j = 0; j < N; ++j) {
    double clo = 0, chi = 0, mag = 0;
    for (int64_t k = 0; k < K; ++k) {
      const double v = wv[(size_t)(k * N + j)];
      if (v != std::round(v)) return {lo, hi};
      clo += std::min(alo * v, ahi * v);
      chi += std::max(alo * v, ahi * v);
      mag += amag * std::fabs(v);
    }
    // Every partial sum must be exact in float32, as the executor adds them.
    if (mag >= (double)(1 << 24)) return {lo, hi};
    mlo = j == 0 ? clo : std::min(mlo, clo);
    mhi = j == 0 ? chi : std::max(mhi, chi);
  }
  return N > 0 ? std::make_pair(std::max(lo, mlo), std::min(hi, mhi)) : std::make_pair(lo, hi);
}

bool absorb_scalar_mul_add_into_topk(Model& m) {
  Graph& g = m.graph;
  constexpr const char* kPass = "AbsorbScalarMulAddIntoTopK";
  for (int ki = 0; ki < (int)g.nodes.size(); ++ki) {
    const Node k = g.nodes[ki];
    if (!is_onnx_op(k, "TopK") || k.inputs.empty()) continue;
    // chain[0] is the op feeding TopK, chain.back() the topmost one.
    std::vector<ScalarStep> chain;
    std::string x = k.inputs[0];
    while (single_use(g, x)) {
      const int p = g.find_producer(x);
      if (p < 0) break;
      const Node& n = g.nodes[p];
      if (!(is_onnx_op(n, "Mul") || is_onnx_op(n, "Add")) || n.inputs.size() != 2) break;
      const int ci = g.get_initializer(n.inputs[1]) ? 1 : g.get_initializer(n.inputs[0]) ? 0 : -1;
      if (ci < 0 || g.get_initializer(n.inputs[1 - ci])) break;
      const Tensor& c = *g.get_initializer(n.inputs[ci]);
      const auto xs = tensor_shape(g, n.inputs[1 - ci]);
      if (c.numel() != 1 || !xs || c.rank() > (int64_t)xs->size()) break;
      const double cv = c.item_double();
      if (!std::isfinite(cv) || (n.op_type == "Mul" && cv <= 0)) break;
      chain.push_back({p, n.op_type == "Mul", cv});
      x = n.inputs[1 - ci];
    }
    if (chain.empty()) continue;
    const Node& first = g.nodes[chain[0].node];
    if (!unused(g, k.outputs[0])) {
      note_refusal(first.name, kPass, "the TopK values output is used, and removing the scale would change it");
      continue;
    }
    const DataType dt = g.get_datatype(x);
    const ElemType et = elem_type_of(g, x);
    const auto [lo, hi] = dt.is_integer() ? integer_range(g, x, dt) : std::make_pair(0.0, 0.0);
    if (!dt.is_integer() || hi - lo > (double)(1 << 22) || (et != ElemType::FLOAT && et != ElemType::DOUBLE)) {
      note_refusal(first.name, kPass,
                   fmt::format("cannot prove the scalar ops keep distinct values distinct (input datatype {}, needs "
                               "an integer range of at most 2^22 values)",
                               dt.name()));
      continue;
    }
    const bool ok = et == ElemType::FLOAT ? strictly_increasing<float>(chain, lo, hi)
                                          : strictly_increasing<double>(chain, lo, hi);
    if (!ok) {
      note_refusal(first.name, kPass, "the scalar ops would merge distinct values (ties could change the indices)");
      continue;
    }
    g.nodes[ki].inputs[0] = x;
    std::vector<int> erase;
    std::vector<std::string> dropped;
    for (const auto& s : chain) {
      erase.push_back(s.node);
      for (const auto& t : g.nodes[s.node].inputs) dropped.push_back(t);
      dropped.push_back(g.nodes[s.node].outputs[0]);
    }
    erase_nodes(g, erase);
    for (const auto& t : dropped) drop_if_unused(g, t);
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS("RemoveCNVtoFCFlatten", "lower",
                 "NHWC -> Transpose(to NCHW) -> Flatten -> MatMul: permutation folded into the weight rows",
                 remove_cnv_to_fc_flatten);
SF_REGISTER_PASS("AbsorbScalarMulAddIntoTopK", "lower",
                 "drop scalar Mul(>0)/Add before a TopK whose values output is unused, when provably order-preserving",
                 absorb_scalar_mul_add_into_topk);

}  // namespace sf
