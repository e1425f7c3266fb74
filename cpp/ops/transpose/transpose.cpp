// Transpose: output axis k is input axis perm[k]; no perm reverses the axes.
#include <fmt/format.h>

#include "ops/reshape/movement.h"

namespace sf {
namespace {
using namespace movement;

std::vector<int64_t> transpose_perm(const Node& n, size_t rank) {
  if (!n.has_attr("perm")) {
    std::vector<int64_t> p(rank);
    for (size_t i = 0; i < rank; ++i) p[i] = (int64_t)(rank - 1 - i);
    return p;
  }
  std::vector<int64_t> p = n.get_ints("perm");
  bool ok = p.size() == rank;
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; ok && i < p.size(); ++i) {
    ok = p[i] >= 0 && p[i] < (int64_t)rank && !seen[p[i]];
    if (ok) seen[p[i]] = true;
  }
  if (!ok)
    op_fail(n, fmt::format("perm = {} is not a permutation of the {} input axes", ints_str(p), rank),
            fmt::format("list each of 0..{} exactly once in 'perm'", (int64_t)rank - 1));
  return p;
}

Shape transpose_shape(const Shape& in, const std::vector<int64_t>& p) {
  Shape out(p.size());
  for (size_t k = 0; k < p.size(); ++k) out[k] = in[p[k]];
  return out;
}

OpDef transpose_def() {
  OpDef d;
  d.op_type = "Transpose";
  d.min_inputs = d.max_inputs = 1;
  d.infer_shape = [](InferCtx& c) {
    const Shape& in = c.shape(0);
    c.set_out(0, c.in[0].elem_type, transpose_shape(in, transpose_perm(c.node, in.size())));
  };
  d.infer_datatype = same_datatype_as_input0;
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    std::vector<int64_t> p = transpose_perm(c.node, x.shape().size());
    std::vector<int64_t> in_st = strides_of(x.shape()), st(p.size());
    for (size_t k = 0; k < p.size(); ++k) st[k] = in_st[p[k]];
    c.out.resize(c.node.outputs.size());
    c.out[0] = Tensor(x.type(), transpose_shape(x.shape(), p));
    copy_strided(x, 0, st, c.out[0]);
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(transpose_def());

}  // namespace sf
