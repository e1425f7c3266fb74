// Concat: joins inputs along one axis. Viewed as (outer, axis*inner) rows,
// each input contributes one contiguous chunk per outer index.
#include <cstring>
#include <fmt/format.h>
#include <limits>

#include "ops/reshape/movement.h"

namespace sf {
namespace {
using namespace movement;

int64_t concat_axis(const Node& n, int64_t opset, int64_t rank) {
  // Opset 1-3 defaulted to axis 1; from opset 4 the attribute is required.
  if (!n.has_attr("axis") && opset >= 4)
    op_fail(n, "Concat has no 'axis' attribute", "add the integer attribute 'axis' (the axis to join along)");
  return norm_axis(n, n.get_int("axis", 1), rank, "axis");
}

Shape concat_shape(const Node& n, int64_t opset, const std::vector<Shape>& ins, const std::vector<ElemType>& types) {
  const Shape& s0 = ins[0];
  if (s0.empty())
    op_fail(n, "input 0 is a scalar; Concat needs inputs of rank >= 1", "Unsqueeze scalars before concatenating");
  const int64_t axis = concat_axis(n, opset, (int64_t)s0.size());
  Shape out = s0;
  for (size_t i = 1; i < ins.size(); ++i) {
    if (types[i] != types[0] && types[i] != ElemType::UNDEFINED && types[0] != ElemType::UNDEFINED)
      op_fail(n, fmt::format("input {} is {} but input 0 is {}", i, elem_type_name(types[i]), elem_type_name(types[0])),
              "Cast the inputs to one element type before Concat");
    bool ok = ins[i].size() == s0.size();
    for (size_t d = 0; ok && d < s0.size(); ++d) ok = (int64_t)d == axis || ins[i][d] == s0[d];
    if (!ok)
      op_fail(n, fmt::format("input {} has shape {}, which does not match input 0's {} outside axis {}", i,
                             shape_str(ins[i]), shape_str(s0), axis),
              "all inputs must have the same rank and the same sizes on every axis except 'axis'");
    out[axis] += ins[i][axis];
  }
  return out;
}

OpDef concat_def() {
  OpDef d;
  d.op_type = "Concat";
  d.min_inputs = 1;
  d.max_inputs = std::numeric_limits<size_t>::max();
  d.infer_shape = [](InferCtx& c) {
    std::vector<Shape> shapes;
    std::vector<ElemType> types;
    for (size_t i = 0; i < c.in.size(); ++i) {
      shapes.push_back(c.shape(i));
      types.push_back(c.in[i].elem_type);
    }
    c.set_out(0, c.in[0].elem_type, concat_shape(c.node, opset_of(c.model), shapes, types));
  };
  d.infer_datatype = same_datatype_as_input0;
  d.execute = [](ExecCtx& c) {
    std::vector<Shape> shapes;
    std::vector<ElemType> types;
    for (size_t i = 0; i < c.in.size(); ++i) {
      shapes.push_back(c.input(i).shape());
      types.push_back(c.input(i).type());
    }
    Shape out_shape = concat_shape(c.node, opset_of(c), shapes, types);
    const int64_t axis = concat_axis(c.node, opset_of(c), (int64_t)out_shape.size());
    const int64_t outer = prod(out_shape, 0, (size_t)axis);
    const size_t esz = elem_size(types[0]);
    c.out.resize(c.node.outputs.size());
    c.out[0] = Tensor(types[0], out_shape);
    auto* dst = static_cast<uint8_t*>(c.out[0].raw());
    std::vector<size_t> chunk(shapes.size());
    for (size_t i = 0; i < shapes.size(); ++i) chunk[i] = (size_t)prod(shapes[i], (size_t)axis, shapes[i].size()) * esz;
    for (int64_t o = 0; o < outer; ++o)
      for (size_t i = 0; i < shapes.size(); ++i) {
        if (!chunk[i]) continue;
        std::memcpy(dst, static_cast<const uint8_t*>(c.in[i]->raw()) + o * chunk[i], chunk[i]);
        dst += chunk[i];
      }
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(concat_def());

}  // namespace sf
