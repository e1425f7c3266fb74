// Squeeze and Unsqueeze. Their axes moved from an attribute to input 1 in
// opset 13; we read whichever the node carries, so both forms load.
#include <fmt/format.h>

#include "ops/reshape/movement.h"

namespace sf {
namespace {
using namespace movement;

// nullopt-like: `given` false means "no axes at all" (Squeeze then drops
// every size-1 dimension).
struct Axes {
  bool given = false;
  std::vector<int64_t> v;
};

Axes axes_from(const Node& n, const Tensor* input) {
  if (input) return {true, input->to_int64()};
  if (n.has_attr("axes")) return {true, n.get_ints("axes")};
  return {};
}

Shape squeeze_shape(const Node& n, const Shape& in, const Axes& ax) {
  const int64_t r = (int64_t)in.size();
  std::vector<bool> drop(in.size(), false);
  if (!ax.given) {
    for (size_t i = 0; i < in.size(); ++i) drop[i] = in[i] == 1;
  } else {
    for (int64_t a : norm_axes(n, ax.v, r, "axes")) {
      if (in[a] != 1)
        op_fail(n, fmt::format("axes includes axis {}, which has size {} in input {} (only size-1 axes can be squeezed)",
                               a, in[a], shape_str(in)),
                "remove that axis from 'axes'");
      drop[a] = true;
    }
  }
  Shape out;
  for (size_t i = 0; i < in.size(); ++i)
    if (!drop[i]) out.push_back(in[i]);
  return out;
}

Shape unsqueeze_shape(const Node& n, const Shape& in, const Axes& ax) {
  if (!ax.given)
    op_fail(n, "Unsqueeze needs 'axes'", "give axes as input 1 (opset >= 13) or as the 'axes' attribute (older opsets)");
  const int64_t out_rank = (int64_t)(in.size() + ax.v.size());
  // Axes index the output, so they are normalized against the output rank.
  std::vector<int64_t> axes = norm_axes(n, ax.v, out_rank, "axes");
  std::vector<bool> is_new((size_t)out_rank, false);
  for (int64_t a : axes) is_new[a] = true;
  Shape out((size_t)out_rank);
  size_t k = 0;
  for (int64_t i = 0; i < out_rank; ++i) out[i] = is_new[i] ? 1 : in[k++];
  return out;
}

template <Shape (*Rule)(const Node&, const Shape&, const Axes&)>
OpDef squeeze_like(const char* name) {
  OpDef d;
  d.op_type = name;
  d.min_inputs = 1;
  d.max_inputs = 2;
  d.infer_shape = [](InferCtx& c) {
    Axes ax = axes_from(c.node, c.has_input(1) ? &const_input(c, 1, "axes") : nullptr);
    c.set_out(0, c.in[0].elem_type, Rule(c.node, c.shape(0), ax));
  };
  d.infer_datatype = same_datatype_as_input0;
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    Axes ax = axes_from(c.node, c.has_input(1) ? &c.input(1) : nullptr);
    c.out.resize(c.node.outputs.size());
    c.out[0] = x.clone().reshaped(Rule(c.node, x.shape(), ax));
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(squeeze_like<squeeze_shape>("Squeeze"));
SF_REGISTER_OP(squeeze_like<unsqueeze_shape>("Unsqueeze"));

}  // namespace sf
