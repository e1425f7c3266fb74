// Expand: bidirectional broadcast of the input against the 'shape' input
// (so a 1 in 'shape' keeps the input's size, unlike numpy.broadcast_to).
#include <fmt/format.h>

#include "exec/broadcast.h"
#include "ops/reshape/movement.h"

namespace sf {
namespace {
using namespace movement;

Shape expand_shape(const Node& n, const Shape& in, const Tensor& shape_t) {
  if (shape_t.rank() > 1)
    op_fail(n, fmt::format("'shape' input has rank {}, expected a 1-D tensor", shape_t.rank()),
            "pass the target shape as a 1-D int64 tensor");
  Shape target = shape_t.to_int64();
  for (int64_t v : target)
    if (v < 0)
      op_fail(n, fmt::format("'shape' {} has a negative dimension", ints_str(target)),
              "use sizes >= 0 (1 keeps the input's size)");
  try {
    return broadcast_shapes(in, target);
  } catch (const ModelError&) {
    op_fail(n, fmt::format("input {} cannot be expanded to {}", shape_str(in), shape_str(target)),
            "each dimension pair must be equal or one of them 1 (shapes are right-aligned)");
  }
}

OpDef expand_def() {
  OpDef d;
  d.op_type = "Expand";
  d.min_inputs = d.max_inputs = 2;
  d.infer_shape = [](InferCtx& c) {
    c.set_out(0, c.in[0].elem_type, expand_shape(c.node, c.shape(0), const_input(c, 1, "shape")));
  };
  d.infer_datatype = same_datatype_as_input0;
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    Shape s = expand_shape(c.node, x.shape(), c.input(1));
    c.out.resize(c.node.outputs.size());
    c.out[0] = Tensor(x.type(), s);
    copy_strided(x, 0, broadcast_strides(x.shape(), s), c.out[0]);
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(expand_def());

}  // namespace sf
