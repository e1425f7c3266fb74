// GemmToMatMul: Gemm(A, B, C) = alpha * op(A) op(B) + beta * C becomes
// [Transpose A] -> MatMul -> [Mul alpha] -> [Add beta*C], with the optional
// nodes only where they do something. A transposed constant B is transposed
// offline; a transposed quantized constant B gets a permuted copy of its
// quantizer (as FoldTransposeIntoQuantInit would), so FoldQuantWeights later
// sees a plain (K, N) weight with a per-column scale. Each step rounds like
// the Gemm reference: alpha * (AB) and then + (beta * C), in float32.
#include <fmt/format.h>

#include "ops/op.h"
#include "passes/pass.h"
#include "passes/qonnx_to_finn/quant_util.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

std::optional<Shape> reversed(const std::optional<Shape>& s) {
  if (!s) return s;
  return Shape(s->rbegin(), s->rend());
}

ElemType elem_or_float(const Graph& g, const std::string& t) {
  auto e = q2f::tensor_elem_type(g, t);
  return e ? *e : ElemType::FLOAT;
}

// The transposed operand: an initializer, a permuted quantizer copy, or a
// Transpose node inserted at `pos` (advanced past it).
std::string transposed_operand(Graph& g, const std::string& t, const std::string& base, int& pos) {
  if (const Tensor* init = g.get_initializer(t)) {
    const std::string name = unique_tensor_name(g, t + "_T");
    g.set_initializer(name, q2f::transpose_tensor(*init, {}));
    q2f::copy_datatype(g, t, name);
    return name;
  }
  const int p = g.find_producer(t);
  const std::string name = unique_tensor_name(g, t + "_T");
  auto sh = reversed(tensor_shape(g, t));
  if (sh) set_tensor_shape(g, name, elem_or_float(g, t), *sh);
  q2f::copy_datatype(g, t, name);
  if (p >= 0 && p < pos && q2f::is_quant_init(g, g.nodes[p])) {
    q2f::add_transposed_quant_copy(g, p, {}, name);
    ++pos;
    return name;
  }
  g.nodes.insert(g.nodes.begin() + pos, make_node("Transpose", {t}, {name}, unique_node_name(g, base + "_transpose")));
  ++pos;
  return name;
}

bool gemm_to_matmul(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    if (g.nodes[i].op_type != "Gemm" || domain_family(g.nodes[i].domain) != OpDomain::ONNX) continue;
    if (g.nodes[i].inputs.size() < 2 || g.nodes[i].outputs.empty()) continue;  // malformed: the executor says so
    const Node gemm = g.nodes[i];
    const std::string base = gemm.name.empty() ? "Gemm" : gemm.name;
    const float alpha = gemm.get_float("alpha", 1.0f), beta = gemm.get_float("beta", 1.0f);
    const bool ta = gemm.get_int("transA", 0) != 0, tb = gemm.get_int("transB", 0) != 0;
    const bool has_c = gemm.inputs.size() > 2 && !gemm.inputs[2].empty() && beta != 0.0f;
    const std::string out = gemm.outputs.at(0);
    const auto out_shape = tensor_shape(g, out);
    const ElemType et = elem_or_float(g, gemm.inputs.at(0));

    g.nodes.erase(g.nodes.begin() + i);
    int pos = i;
    std::string a = gemm.inputs.at(0), b = gemm.inputs.at(1);
    if (ta) a = transposed_operand(g, a, base + "_A", pos);
    if (tb) b = transposed_operand(g, b, base + "_B", pos);

    auto stage = [&](bool last, const std::string& suffix) {
      if (last) return out;
      const std::string t = unique_tensor_name(g, out + suffix);
      if (out_shape) set_tensor_shape(g, t, et, *out_shape);
      return t;
    };
    const bool scale = alpha != 1.0f;
    std::string cur = stage(!scale && !has_c, "_matmul");
    g.nodes.insert(g.nodes.begin() + pos++, make_node("MatMul", {a, b}, {cur}, unique_node_name(g, base + "_matmul")));
    if (scale) {
      const std::string an = unique_tensor_name(g, base + "_alpha");
      g.set_initializer(an, Tensor::scalar<float>(alpha).cast(et));
      const std::string next = stage(!has_c, "_alpha");
      g.nodes.insert(g.nodes.begin() + pos++, make_node("Mul", {cur, an}, {next}, unique_node_name(g, base + "_alpha")));
      cur = next;
    }
    if (has_c) {
      std::string c = gemm.inputs[2];
      if (beta != 1.0f) {
        const std::string bn = unique_tensor_name(g, base + "_beta");
        const Tensor* ct = g.get_initializer(c);
        if (ct && ct->type() == ElemType::FLOAT) {
          // Gemm rounds beta * C once per element before adding; so does this.
          Tensor bc(ElemType::FLOAT, ct->shape());
          const float* src = ct->data<float>();
          float* dst = bc.data<float>();
          for (int64_t k = 0; k < bc.numel(); ++k) dst[k] = beta * src[k];
          const std::string cn = unique_tensor_name(g, c + "_scaled");
          g.set_initializer(cn, bc);
          c = cn;
        } else {
          g.set_initializer(bn, Tensor::scalar<float>(beta).cast(elem_or_float(g, c)));
          const std::string cn = unique_tensor_name(g, c + "_scaled");
          auto cs = tensor_shape(g, c);
          if (cs) set_tensor_shape(g, cn, elem_or_float(g, c), *cs);
          g.nodes.insert(g.nodes.begin() + pos++, make_node("Mul", {c, bn}, {cn}, unique_node_name(g, base + "_beta")));
          c = cn;
        }
      }
      g.nodes.insert(g.nodes.begin() + pos++, make_node("Add", {cur, c}, {out}, unique_node_name(g, base + "_bias")));
    }
    // A quantizer whose only reader was this Gemm has been replaced by its
    // permuted copy.
    for (const std::string& t : {gemm.inputs.at(0), gemm.inputs.at(1)}) {
      const int p = g.find_producer(t);
      if (p >= 0 && q2f::is_quant_init(g, g.nodes[p]) && g.find_consumers(t).empty() && !is_graph_output(g, t))
        g.nodes.erase(g.nodes.begin() + p);
    }
    remove_unused_tensors(g);
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS("GemmToMatMul", "cleanup", "Gemm -> [Transpose] MatMul [Mul alpha] [Add beta*C]", gemm_to_matmul);

}  // namespace sf
