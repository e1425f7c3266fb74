// Slice: starts/ends/axes were attributes up to opset 9 and are inputs (with
// optional steps) from opset 10. Out-of-range starts/ends clamp, as in numpy,
// which is how exporters spell "to the end" (INT64_MAX) or "from the back".
#include <algorithm>
#include <fmt/format.h>
#include <limits>

#include "ops/reshape/movement.h"

namespace sf {
namespace {
using namespace movement;

struct SlicePlan {
  Shape out;
  std::vector<int64_t> start, step;  // per input axis
};

struct SliceArgs {
  std::vector<int64_t> starts, ends, axes, steps;
  bool has_axes = false, has_steps = false;
};

SlicePlan slice_plan(const Node& n, const Shape& in, const SliceArgs& a) {
  const int64_t r = (int64_t)in.size();
  const size_t k = a.starts.size();
  if (a.ends.size() != k || (a.has_axes && a.axes.size() != k) || (a.has_steps && a.steps.size() != k))
    op_fail(n, fmt::format("starts {} / ends {} / axes {} / steps {} have different lengths", ints_str(a.starts),
                           ints_str(a.ends), ints_str(a.axes), ints_str(a.steps)),
            "give starts, ends and (if present) axes and steps one entry per sliced axis");
  std::vector<int64_t> axes;
  if (a.has_axes) {
    axes = norm_axes(n, a.axes, r, "axes");
  } else {
    if ((int64_t)k > r)
      op_fail(n, fmt::format("{} starts given for an input of rank {}", k, r), "give at most one start per axis");
    for (size_t i = 0; i < k; ++i) axes.push_back((int64_t)i);
  }
  SlicePlan p{in, std::vector<int64_t>(in.size(), 0), std::vector<int64_t>(in.size(), 1)};
  for (size_t i = 0; i < k; ++i) {
    const int64_t ax = axes[i], dim = in[ax];
    const int64_t step = a.has_steps ? a.steps[i] : 1;
    if (step == 0)
      op_fail(n, fmt::format("steps[{}] is 0", i), "use a non-zero step (negative steps walk backwards)");
    int64_t s = a.starts[i], e = a.ends[i];
    // Exporters spell numpy's "None" end as INT64_MAX (or INT32_MAX);
    // onnxruntime reads it as "to the far end" in the step's direction,
    // which matters for negative steps (plain clamping would give nothing).
    if (step < 0 && (e == std::numeric_limits<int64_t>::max() || e == std::numeric_limits<int32_t>::max()))
      e = -dim - 1;
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    int64_t len = 0;
    if (dim == 0) {
      // Nothing to take (and the clamp ranges below would be empty).
    } else if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      if (e > s) len = 1 + (e - s - 1) / step;  // ceil without overflow for huge steps
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      // INT64_MIN would overflow on negation; any step beyond the dimension
      // takes one element anyway.
      const int64_t neg = step < -dim ? dim + 1 : -step;
      if (s > e) len = 1 + (s - e - 1) / neg;
    }
    p.out[ax] = len;
    p.start[ax] = len > 0 ? s : 0;
    // A single element needs no step; this also keeps stride*step in range.
    p.step[ax] = len > 1 ? step : 1;
  }
  return p;
}

SliceArgs args_from_attrs(const Node& n) {
  SliceArgs a;
  if (!n.has_attr("starts") || !n.has_attr("ends"))
    op_fail(n, "Slice has neither starts/ends inputs nor 'starts'/'ends' attributes",
            "opset >= 10 passes starts and ends as inputs 1 and 2; older opsets as attributes");
  a.starts = n.get_ints("starts");
  a.ends = n.get_ints("ends");
  if ((a.has_axes = n.has_attr("axes"))) a.axes = n.get_ints("axes");
  return a;
}

// get(i, role) returns input i; has(i) says whether the optional one is there.
template <typename Get, typename Has>
SliceArgs args_from_inputs(Get&& get, Has&& has) {
  SliceArgs a;
  a.starts = get(1, "starts").to_int64();
  a.ends = get(2, "ends").to_int64();
  if ((a.has_axes = has(3))) a.axes = get(3, "axes").to_int64();
  if ((a.has_steps = has(4))) a.steps = get(4, "steps").to_int64();
  return a;
}

// Inputs 1..4 decide the form: a node with a starts input is opset-10 style.
bool input_form(const Node& n) { return n.inputs.size() >= 2 && !n.inputs[1].empty(); }

OpDef slice_def() {
  OpDef d;
  d.op_type = "Slice";
  d.min_inputs = 1;
  d.max_inputs = 5;
  d.infer_shape = [](InferCtx& c) {
    SliceArgs a;
    if (input_form(c.node)) {
      a = args_from_inputs([&](size_t i, const char* role) -> const Tensor& { return const_input(c, i, role); },
                           [&](size_t i) { return c.has_input(i); });
    } else {
      a = args_from_attrs(c.node);
    }
    c.set_out(0, c.in[0].elem_type, slice_plan(c.node, c.shape(0), a).out);
  };
  d.infer_datatype = same_datatype_as_input0;
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    SliceArgs a;
    if (input_form(c.node)) {
      a = args_from_inputs([&](size_t i, const char*) -> const Tensor& { return c.input(i); },
                           [&](size_t i) { return c.has_input(i); });
    } else {
      a = args_from_attrs(c.node);
    }
    SlicePlan p = slice_plan(c.node, x.shape(), a);
    std::vector<int64_t> in_st = strides_of(x.shape()), st(in_st.size());
    int64_t base = 0;
    for (size_t d = 0; d < in_st.size(); ++d) {
      base += p.start[d] * in_st[d];
      st[d] = in_st[d] * p.step[d];
    }
    c.out.resize(c.node.outputs.size());
    c.out[0] = Tensor(x.type(), p.out);
    copy_strided(x, base, st, c.out[0]);
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(slice_def());

}  // namespace sf
