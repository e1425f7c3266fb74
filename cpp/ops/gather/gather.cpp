// Gather: out = data[..., indices, ...] along 'axis'; negative indices count
// from the back. Each index selects one contiguous block of `inner` elements.
#include <cstring>
#include <fmt/format.h>

#include "ops/reshape/movement.h"

namespace sf {
namespace {
using namespace movement;

Shape gather_shape(const Node& n, const Shape& data, const Shape& idx, int64_t* axis_out) {
  if (data.empty()) op_fail(n, "Gather needs data of rank >= 1", "Unsqueeze the scalar first");
  const int64_t axis = norm_axis(n, n.get_int("axis", 0), (int64_t)data.size(), "axis");
  *axis_out = axis;
  Shape out(data.begin(), data.begin() + axis);
  out.insert(out.end(), idx.begin(), idx.end());
  out.insert(out.end(), data.begin() + axis + 1, data.end());
  return out;
}

void check_index_type(const Node& n, ElemType t) {
  if (t != ElemType::INT32 && t != ElemType::INT64 && t != ElemType::UNDEFINED)
    op_fail(n, fmt::format("indices are {}, expected int32 or int64", elem_type_name(t)),
            "Cast the indices to int64");
}

OpDef gather_def() {
  OpDef d;
  d.op_type = "Gather";
  d.min_inputs = d.max_inputs = 2;
  d.infer_shape = [](InferCtx& c) {
    check_index_type(c.node, c.in[1].elem_type);
    int64_t axis = 0;
    c.set_out(0, c.in[0].elem_type, gather_shape(c.node, c.shape(0), c.shape(1), &axis));
  };
  d.infer_datatype = same_datatype_as_input0;
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    const Tensor& it = c.input(1);
    check_index_type(c.node, it.type());
    int64_t axis = 0;
    Shape out_shape = gather_shape(c.node, x.shape(), it.shape(), &axis);
    const std::vector<int64_t> idx = it.to_int64();
    const int64_t dim = x.shape()[axis];
    const int64_t outer = prod(x.shape(), 0, (size_t)axis);
    const size_t block = (size_t)prod(x.shape(), (size_t)axis + 1, x.shape().size()) * elem_size(x.type());
    for (size_t k = 0; k < idx.size(); ++k)
      if (idx[k] < -dim || idx[k] >= dim)
        op_fail(c.node, fmt::format("index {} (at flat position {}) is out of range for axis {} of size {}", idx[k],
                                    k, axis, dim),
                fmt::format("indices must lie in [{}, {}]", -dim, dim - 1));
    c.out.resize(c.node.outputs.size());
    c.out[0] = Tensor(x.type(), out_shape);
    auto* dst = static_cast<uint8_t*>(c.out[0].raw());
    const auto* src = static_cast<const uint8_t*>(x.raw());
    if (!block) return;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t v : idx) {
        std::memcpy(dst, src + (o * dim + (v < 0 ? v + dim : v)) * block, block);
        dst += block;
      }
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(gather_def());

}  // namespace sf
