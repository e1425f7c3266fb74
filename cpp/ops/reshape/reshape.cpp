// Reshape and Flatten: same bytes, new shape. Outputs get their own buffer
// (clone) so that a user holding an output array can never write through it
// into an input that was wrapped zero-copy.
#include <fmt/format.h>

#include "ops/reshape/movement.h"

namespace sf {
namespace {
using namespace movement;

// `spec` is Reshape's shape: 0 copies the input dim (unless allowzero), -1 is
// inferred from the remaining size.
Shape reshape_target(const Node& n, const Shape& in, const std::vector<int64_t>& spec, bool allowzero) {
  Shape out(spec.size());
  int64_t infer_at = -1, known = 1;
  bool has_zero = false;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t v = spec[i];
    if (v == -1) {
      if (infer_at >= 0)
        op_fail(n, fmt::format("shape {} has more than one -1", ints_str(spec)),
                "at most one dimension of the target shape can be inferred (-1)");
      infer_at = (int64_t)i;
      continue;
    }
    if (v < -1)
      op_fail(n, fmt::format("shape {} has the invalid dimension {}", ints_str(spec), v),
              "dimensions must be >= 0, or -1 for the one inferred dimension");
    if (v == 0 && !allowzero) {
      if (i >= in.size())
        op_fail(n, fmt::format("shape {}: 0 at position {} copies an input dimension, but the input {} has rank {}",
                               ints_str(spec), i, shape_str(in), in.size()),
                "use an explicit size there, or set allowzero=1 for a real zero-sized dimension");
      v = in[i];
    }
    if (v == 0) has_zero = true;
    out[i] = v;
    known *= v;
  }
  const int64_t numel = shape_numel(in);
  if (infer_at >= 0) {
    if (allowzero && has_zero)
      op_fail(n, fmt::format("shape {} combines -1 with a literal 0 under allowzero=1", ints_str(spec)),
              "with allowzero=1 the -1 dimension cannot be inferred next to a 0; give every size explicitly");
    if (known == 0 || numel % known != 0)
      op_fail(n, fmt::format("cannot reshape input {} ({} elements) to {}", shape_str(in), numel, ints_str(spec)),
              "the product of the target dimensions must equal the input's element count");
    out[infer_at] = numel / known;
  } else if (known != numel) {
    op_fail(n, fmt::format("cannot reshape input {} ({} elements) to {} ({} elements)", shape_str(in), numel,
                           shape_str(out), known),
            "fix the 'shape' input so its product equals the input's element count");
  }
  return out;
}

bool reshape_allowzero(const Node& n) {
  int64_t a = n.get_int("allowzero", 0);
  if (a != 0 && a != 1) op_fail(n, fmt::format("allowzero = {} must be 0 or 1", a), "set allowzero to 0 or 1");
  return a == 1;
}

// Opset 1-4 carried the target as an attribute; later ones as input 1.
std::vector<int64_t> reshape_spec_attr(const Node& n) {
  if (!n.has_attr("shape"))
    op_fail(n, "Reshape has neither a 'shape' input nor a 'shape' attribute",
            "give the target shape as input 1 (opset >= 5)");
  return n.get_ints("shape");
}

OpDef reshape_def() {
  OpDef d;
  d.op_type = "Reshape";
  d.min_inputs = 1;
  d.max_inputs = 2;
  d.validate = [](const Node& n) { reshape_allowzero(n); };
  d.infer_shape = [](InferCtx& c) {
    std::vector<int64_t> spec =
        c.has_input(1) ? const_input(c, 1, "shape").to_int64() : reshape_spec_attr(c.node);
    c.set_out(0, c.in[0].elem_type, reshape_target(c.node, c.shape(0), spec, reshape_allowzero(c.node)));
  };
  d.infer_datatype = same_datatype_as_input0;
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    std::vector<int64_t> spec = c.has_input(1) ? c.input(1).to_int64() : reshape_spec_attr(c.node);
    c.out.resize(c.node.outputs.size());
    c.out[0] = x.clone().reshaped(reshape_target(c.node, x.shape(), spec, reshape_allowzero(c.node)));
  };
  return d;
}

Shape flatten_shape(const Node& n, const Shape& in) {
  const int64_t r = (int64_t)in.size();
  int64_t axis = n.get_int("axis", 1);
  // axis == rank is legal here (everything goes to the outer dimension).
  if (axis < -r || axis > r)
    op_fail(n, fmt::format("axis = {} is out of range for an input of rank {}", axis, r),
            fmt::format("use a value in [{}, {}]", -r, r));
  if (axis < 0) axis += r;
  return {prod(in, 0, (size_t)axis), prod(in, (size_t)axis, in.size())};
}

OpDef flatten_def() {
  OpDef d;
  d.op_type = "Flatten";
  d.min_inputs = d.max_inputs = 1;
  d.infer_shape = [](InferCtx& c) { c.set_out(0, c.in[0].elem_type, flatten_shape(c.node, c.shape(0))); };
  d.infer_datatype = same_datatype_as_input0;
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    c.out.resize(c.node.outputs.size());
    c.out[0] = x.clone().reshaped(flatten_shape(c.node, x.shape()));
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(reshape_def());
SF_REGISTER_OP(flatten_def());

}  // namespace sf
