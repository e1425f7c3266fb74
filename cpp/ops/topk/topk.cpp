// TopK: the k largest (or smallest) values along an axis and their int64
// indices. k is an attribute up to opset 9 and input 1 afterwards. Equal
// values keep index order (lower index first), as onnxruntime does. With
// sorted=0 the order is unspecified by ONNX; we return the selected elements
// in ascending index order, which is deterministic.
#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <numeric>

#include "ops/reshape/movement.h"

namespace sf {
namespace {
using namespace movement;

struct TopKPlan {
  int64_t axis, k, outer, dim, inner;
  Shape out;
};

TopKPlan topk_plan(const Node& n, const Shape& in, const Tensor* k_input) {
  const int64_t r = (int64_t)in.size();
  if (r == 0) op_fail(n, "input is a scalar; TopK needs rank >= 1", "Unsqueeze the input first");
  const int64_t axis = norm_axis(n, n.get_int("axis", -1), r, "axis");
  int64_t k;
  if (k_input) {
    if (k_input->numel() != 1)
      op_fail(n, fmt::format("input 'K' has shape {}, expected a single value", shape_str(k_input->shape())),
              "pass K as a 1-D int64 tensor of one element");
    k = k_input->to_int64()[0];
  } else if (n.has_attr("k")) {
    k = n.get_int("k");
  } else {
    op_fail(n, "TopK has neither a 'K' input nor a 'k' attribute", "give K as input 1 (opset >= 10)");
  }
  if (k < 0 || k > in[axis])
    op_fail(n, fmt::format("k = {} is out of range for axis {} of size {}", k, axis, in[axis]),
            fmt::format("use 0 <= k <= {}", in[axis]));
  TopKPlan p{axis, k, prod(in, 0, (size_t)axis), in[axis], prod(in, (size_t)axis + 1, in.size()), in};
  p.out[axis] = k;
  return p;
}

void check_flag(const Node& n, const char* name) {
  int64_t v = n.get_int(name, 1);
  if (v != 0 && v != 1) op_fail(n, fmt::format("{} = {} must be 0 or 1", name, v), fmt::format("set {} to 0 or 1", name));
}

OpDef topk_def() {
  OpDef d;
  d.op_type = "TopK";
  d.min_inputs = 1;
  d.max_inputs = 2;
  d.validate = [](const Node& n) {
    check_flag(n, "largest");
    check_flag(n, "sorted");
  };
  d.infer_shape = [](InferCtx& c) {
    TopKPlan p = topk_plan(c.node, c.shape(0), c.has_input(1) ? &const_input(c, 1, "K") : nullptr);
    c.set_out(0, c.in[0].elem_type, p.out);
    if (c.node.outputs.size() > 1) c.set_out(1, ElemType::INT64, p.out);
  };
  d.infer_datatype = [](const DataTypeCtx& c) {
    std::vector<DataType> r(c.node.outputs.size(), DataType::sint(64));
    if (!r.empty()) r[0] = c.in.empty() ? DataType::float32() : c.in[0];
    return r;
  };
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    TopKPlan p = topk_plan(c.node, x.shape(), c.has_input(1) ? &c.input(1) : nullptr);
    check_flag(c.node, "largest");
    check_flag(c.node, "sorted");
    const bool largest = c.node.get_int("largest", 1) == 1, sorted = c.node.get_int("sorted", 1) == 1;
    c.out.resize(c.node.outputs.size());
    c.out[0] = Tensor(x.type(), p.out);
    Tensor idx_out(ElemType::INT64, p.out);
    const size_t esz = elem_size(x.type());
    const auto* src = static_cast<const uint8_t*>(x.raw());
    auto* vdst = static_cast<uint8_t*>(c.out[0].raw());
    int64_t* idst = idx_out.data<int64_t>();
    std::vector<int64_t> order((size_t)p.dim);
    visit_numeric(c.node, x, [&](const auto* v, int64_t) {
      for (int64_t a = 0; a < p.outer; ++a)
        for (int64_t b = 0; b < p.inner; ++b) {
          const int64_t base = a * p.dim * p.inner + b;
          auto at = [&](int64_t i) { return v[base + i * p.inner]; };
          auto before = [&](int64_t i, int64_t j) {
            auto vi = at(i), vj = at(j);
            if (largest ? less_total(vj, vi) : less_total(vi, vj)) return true;
            if (largest ? less_total(vi, vj) : less_total(vj, vi)) return false;
            return i < j;
          };
          std::iota(order.begin(), order.end(), 0);
          std::partial_sort(order.begin(), order.begin() + p.k, order.end(), before);
          if (!sorted) std::sort(order.begin(), order.begin() + p.k);
          const int64_t obase = a * p.k * p.inner + b;
          for (int64_t j = 0; j < p.k; ++j) {
            const int64_t o = obase + j * p.inner;
            std::memcpy(vdst + o * esz, src + (base + order[j] * p.inner) * esz, esz);
            idst[o] = order[j];
          }
        }
    });
    if (c.out.size() > 1) c.out[1] = std::move(idx_out);
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(topk_def());

}  // namespace sf
