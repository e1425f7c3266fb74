// ArgMax / ArgMin along one axis, int64 result. Ties go to the first index,
// or the last with select_last_index=1 (opset 12). NaN counts as the largest
// value, so ArgMax finds a NaN when there is one.
#include <fmt/format.h>

#include "ops/reshape/movement.h"

namespace sf {
namespace {
using namespace movement;

struct ArgPlan {
  int64_t axis, outer, dim, inner;
  Shape out;
};

ArgPlan arg_plan(const Node& n, const Shape& in) {
  const int64_t r = (int64_t)in.size();
  if (r == 0) op_fail(n, "input is a scalar; ArgMax/ArgMin need rank >= 1", "Unsqueeze the input first");
  const int64_t axis = norm_axis(n, n.get_int("axis", 0), r, "axis");
  const int64_t keep = n.get_int("keepdims", 1);
  if (keep != 0 && keep != 1) op_fail(n, fmt::format("keepdims = {} must be 0 or 1", keep), "set keepdims to 0 or 1");
  const int64_t last = n.get_int("select_last_index", 0);
  if (last != 0 && last != 1)
    op_fail(n, fmt::format("select_last_index = {} must be 0 or 1", last), "set select_last_index to 0 or 1");
  ArgPlan p{axis, prod(in, 0, (size_t)axis), in[axis], prod(in, (size_t)axis + 1, in.size()), {}};
  for (int64_t d = 0; d < r; ++d) {
    if (d != axis) p.out.push_back(in[d]);
    else if (keep) p.out.push_back(1);
  }
  return p;
}

template <bool IsMax>
OpDef arg_def(const char* name) {
  OpDef d;
  d.op_type = name;
  d.min_inputs = d.max_inputs = 1;
  d.validate = [](const Node& n) {
    for (const char* a : {"keepdims", "select_last_index"}) {
      int64_t v = n.get_int(a, 0);
      if (v != 0 && v != 1) op_fail(n, fmt::format("{} = {} must be 0 or 1", a, v), fmt::format("set {} to 0 or 1", a));
    }
  };
  d.infer_shape = [](InferCtx& c) { c.set_out(0, ElemType::INT64, arg_plan(c.node, c.shape(0)).out); };
  d.infer_datatype = [](const DataTypeCtx& c) {
    return std::vector<DataType>(c.node.outputs.size(), DataType::sint(64));
  };
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    ArgPlan p = arg_plan(c.node, x.shape());
    if (p.dim == 0 && p.outer * p.inner > 0)
      op_fail(c.node, fmt::format("axis {} is empty; there is no extreme value to point at", p.axis),
              "ArgMax/ArgMin need a non-empty reduced axis");
    const bool last = c.node.get_int("select_last_index", 0) == 1;
    c.out.resize(c.node.outputs.size());
    c.out[0] = Tensor(ElemType::INT64, p.out);
    int64_t* o = c.out[0].data<int64_t>();
    visit_numeric(c.node, x, [&](const auto* v, int64_t) {
      for (int64_t a = 0; a < p.outer; ++a)
        for (int64_t b = 0; b < p.inner; ++b) {
          const auto* line = v + a * p.dim * p.inner + b;
          int64_t best = 0;
          for (int64_t k = 1; k < p.dim; ++k) {
            auto cur = line[k * p.inner], ref = line[best * p.inner];
            bool better = IsMax ? less_total(ref, cur) : less_total(cur, ref);
            bool tie = !less_total(ref, cur) && !less_total(cur, ref);
            if (better || (last && tie)) best = k;
          }
          o[a * p.inner + b] = best;
        }
    });
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(arg_def<true>("ArgMax"));
SF_REGISTER_OP(arg_def<false>("ArgMin"));

}  // namespace sf
