#include "passes/qonnx_to_finn/quant_util.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <numeric>

#include "ops/op.h"
#include "passes/rewrite.h"

namespace sf::q2f {

bool is_quantizer(const Node& n) {
  return (n.op_type == "Quant" || n.op_type == "IntQuant" || n.op_type == "BipolarQuant") &&
         domain_family(n.domain) == OpDomain::QONNX;
}

bool all_inputs_constant(const Graph& g, const Node& n) {
  for (const auto& in : n.inputs)
    if (!in.empty() && !g.get_initializer(in)) return false;
  return true;
}

bool is_quant_init(const Graph& g, const Node& n) { return is_quantizer(n) && all_inputs_constant(g, n); }

std::optional<Shape> aligned_shape(const Shape& p, size_t r) {
  if (p.size() > r) {
    // Leading 1s beyond the data rank are harmless only for scalars-in-disguise.
    for (size_t k = 0; k < p.size() - r; ++k)
      if (p[k] != 1) return std::nullopt;
    return Shape(p.end() - (std::ptrdiff_t)r, p.end());
  }
  Shape s(r - p.size(), 1);
  s.insert(s.end(), p.begin(), p.end());
  return s;
}

std::vector<size_t> varying_axes(const Shape& p, size_t r) {
  std::vector<size_t> ax;
  auto a = aligned_shape(p, r);
  if (!a) return {};
  for (size_t k = 0; k < a->size(); ++k)
    if ((*a)[k] != 1) ax.push_back(k);
  return ax;
}

Tensor transpose_tensor(const Tensor& t, std::vector<int64_t> perm) {
  const size_t r = t.shape().size();
  if (perm.empty()) {
    perm.resize(r);
    std::iota(perm.rbegin(), perm.rend(), 0);
  }
  Shape out_shape(r);
  for (size_t k = 0; k < r; ++k) out_shape[k] = t.shape()[perm[k]];
  Tensor out(t.type(), out_shape);
  const size_t es = elem_size(t.type());
  // strides of the input, in elements
  std::vector<int64_t> in_stride(r, 1);
  for (size_t k = r; k-- > 1;) in_stride[k - 1] = in_stride[k] * t.shape()[k];
  const char* src = static_cast<const char*>(t.raw());
  char* dst = static_cast<char*>(out.raw());
  std::vector<int64_t> idx(r, 0);
  const int64_t n = out.numel();
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t off = 0;
    for (size_t k = 0; k < r; ++k) off += idx[k] * in_stride[perm[k]];
    std::memcpy(dst + flat * es, src + off * es, es);
    for (size_t k = r; k-- > 0;) {
      if (++idx[k] < out_shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

namespace {

// Inserts a copy of quantizer q_idx, right after it, that writes `out` and
// reads map(p) for every input p that `keep` does not exempt.
template <typename Keep, typename Map>
void add_mapped_quant_copy(Graph& g, int q_idx, const std::string& out, const std::string& suffix, Keep keep,
                           Map map) {
  Node q = g.nodes[q_idx];
  for (size_t i = 0; i < q.inputs.size(); ++i) {
    if (q.inputs[i].empty()) continue;
    const Tensor* p = g.get_initializer(q.inputs[i]);
    if (keep(i, *p)) continue;
    std::string name = unique_tensor_name(g, q.inputs[i] + suffix);
    g.set_initializer(name, map(i, *p));
    copy_datatype(g, q.inputs[i], name);
    q.inputs[i] = name;
  }
  q.name = unique_node_name(g, (q.name.empty() ? q.op_type : q.name) + suffix);
  q.outputs = {out};
  g.nodes.insert(g.nodes.begin() + q_idx + 1, q);
}

}  // namespace

void add_transposed_quant_copy(Graph& g, int q_idx, const std::vector<int64_t>& perm, const std::string& out) {
  const Node& q = g.nodes[q_idx];
  const Tensor data = *g.get_initializer(q.inputs.at(0));
  const size_t r = data.shape().size();
  // Scalars broadcast the same way after any permutation.
  auto keep = [](size_t i, const Tensor& p) { return i != 0 && p.numel() == 1; };
  auto map = [&](size_t, const Tensor& p) {
    auto a = aligned_shape(p.shape(), r);
    if (!a)
      throw ModelError(fmt::format("{}: a parameter of shape {} has more axes than its data {}", q.label(),
                                   shape_str(p.shape()), shape_str(data.shape())),
                       "per-channel parameters must broadcast onto the quantized tensor", q.name);
    return transpose_tensor(p.reshaped(*a), perm);
  };
  add_mapped_quant_copy(g, q_idx, out, "_T", keep, map);
}

void add_reshaped_quant_copy(Graph& g, int q_idx, const Shape& shape, const std::string& out) {
  const int64_t n = shape_numel(shape);
  auto keep = [&](size_t i, const Tensor& p) { return i != 0 && p.numel() != n; };
  auto map = [&](size_t, const Tensor& p) { return p.reshaped(shape); };
  add_mapped_quant_copy(g, q_idx, out, "_r", keep, map);
}

std::optional<ElemType> tensor_elem_type(const Graph& g, const std::string& t) {
  if (const Tensor* init = g.get_initializer(t)) return init->type();
  const ValueInfo* vi = g.find_value_info(t);
  if (vi && vi->elem_type != ElemType::UNDEFINED) return vi->elem_type;
  return std::nullopt;
}

void copy_datatype(Graph& g, const std::string& from, const std::string& to) {
  const std::string dt = g.get_annotation(from, "finn_datatype");
  if (dt.empty()) g.remove_annotation(to, "finn_datatype");
  else g.set_annotation(to, "finn_datatype", dt);
}

std::string detach_output(Graph& g, int producer, size_t out_idx, const std::string& base) {
  const std::string old = g.nodes[producer].outputs.at(out_idx);
  const std::string fresh = unique_tensor_name(g, base);
  g.nodes[producer].outputs[out_idx] = fresh;
  auto et = tensor_elem_type(g, old);
  auto sh = tensor_shape(g, old);
  if (et && sh) set_tensor_shape(g, fresh, *et, *sh);
  return fresh;
}

}  // namespace sf::q2f
