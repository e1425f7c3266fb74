// ReduceSum / ReduceMean / ReduceMax / ReduceMin. Axes are an attribute up to
// opset 12 (ReduceSum) or 17 (the others) and optional input 1 afterwards;
// we read whichever the node has. No axes means all axes, unless
// noop_with_empty_axes=1, which makes the op an identity.
//
// Floats accumulate in double (one rounding at the end, whatever the axis
// order), integers in 64 bits and wrap to the element type like onnxruntime's
// native-typed sums; integer means divide with truncation.
#include <fmt/format.h>
#include <limits>
#include <type_traits>

#include "exec/broadcast.h"
#include "ops/reshape/movement.h"

namespace sf {
namespace {
using namespace movement;

enum class Red { SUM, MEAN, MAX, MIN };

struct ReducePlan {
  bool identity = false;
  Shape keep;  // input shape with reduced axes set to 1
  Shape out;
  int64_t count = 1;  // elements per output
};

int64_t flag(const Node& n, const char* name, int64_t dflt) {
  int64_t v = n.get_int(name, dflt);
  if (v != 0 && v != 1) op_fail(n, fmt::format("{} = {} must be 0 or 1", name, v), fmt::format("set {} to 0 or 1", name));
  return v;
}

ReducePlan reduce_plan(const Node& n, const Shape& in, const Tensor* axes_in) {
  std::vector<int64_t> axes;
  if (axes_in) axes = axes_in->to_int64();
  else if (n.has_attr("axes")) axes = n.get_ints("axes");
  const bool keepdims = flag(n, "keepdims", 1) == 1;
  ReducePlan p;
  if (axes.empty() && flag(n, "noop_with_empty_axes", 0) == 1) {
    p.identity = true;
    p.keep = p.out = in;
    return p;
  }
  std::vector<bool> red(in.size(), axes.empty());
  for (int64_t a : norm_axes(n, axes, (int64_t)in.size(), "axes")) red[a] = true;
  for (size_t d = 0; d < in.size(); ++d) {
    p.keep.push_back(red[d] ? 1 : in[d]);
    if (red[d]) p.count *= in[d];
    if (!red[d] || keepdims) p.out.push_back(red[d] ? 1 : in[d]);
  }
  return p;
}

template <typename T>
using AccOf = std::conditional_t<std::is_floating_point_v<T>, double,
                                 std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

template <Red R, typename T>
Tensor reduce_typed(const T* v, const Shape& in, const ReducePlan& p) {
  const int64_t n_out = shape_numel(p.keep);
  Tensor out(ElemTypeOf<T>::value, p.out);
  T* o = out.template data<T>();
  if constexpr (R == Red::SUM || R == Red::MEAN) {
    using Acc = AccOf<T>;
    std::vector<Acc> acc((size_t)n_out, Acc(0));
    for_each_broadcast(in, {p.keep}, [&](int64_t i, const std::vector<int64_t>& off) { acc[off[0]] += (Acc)v[i]; });
    for (int64_t j = 0; j < n_out; ++j) {
      Acc r = acc[j];
      if (R == Red::MEAN) {
        if constexpr (std::is_floating_point_v<T>) r = r / (Acc)p.count;  // 0/0 -> NaN, as numpy
        else r = p.count ? r / (Acc)p.count : Acc(0);
      }
      o[j] = (T)r;
    }
  } else {
    // Empty reductions give the identity element: -inf/lowest for Max, +inf/max for Min.
    T init;
    if constexpr (std::is_floating_point_v<T>)
      init = R == Red::MAX ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    else
      init = R == Red::MAX ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
    for (int64_t j = 0; j < n_out; ++j) o[j] = init;
    for_each_broadcast(in, {p.keep}, [&](int64_t i, const std::vector<int64_t>& off) {
      T& a = o[off[0]];
      const T x = v[i];
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a)) return;  // NaN propagates
        if (std::isnan(x)) { a = x; return; }
      }
      if (R == Red::MAX ? x > a : x < a) a = x;
    });
  }
  return out;
}

template <Red R>
OpDef reduce_def(const char* name) {
  OpDef d;
  d.op_type = name;
  d.min_inputs = 1;
  d.max_inputs = 2;
  d.validate = [](const Node& n) {
    flag(n, "keepdims", 1);
    flag(n, "noop_with_empty_axes", 0);
  };
  d.infer_shape = [](InferCtx& c) {
    ReducePlan p = reduce_plan(c.node, c.shape(0), c.has_input(1) ? &const_input(c, 1, "axes") : nullptr);
    c.set_out(0, c.in[0].elem_type, p.out);
  };
  // infer_datatype left unset: FLOAT32, as qonnx's InferDataTypes.
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    ReducePlan p = reduce_plan(c.node, x.shape(), c.has_input(1) ? &c.input(1) : nullptr);
    c.out.resize(c.node.outputs.size());
    if (p.identity) {
      c.out[0] = x.clone();
      return;
    }
    Tensor r;
    visit_numeric(c.node, x, [&](const auto* v, int64_t) { r = reduce_typed<R>(v, x.shape(), p); });
    // float16 was computed as float and bool as uint8: convert back.
    c.out[0] = r.type() == x.type() ? std::move(r) : r.cast(x.type());
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(reduce_def<Red::SUM>("ReduceSum"));
SF_REGISTER_OP(reduce_def<Red::MEAN>("ReduceMean"));
SF_REGISTER_OP(reduce_def<Red::MAX>("ReduceMax"));
SF_REGISTER_OP(reduce_def<Red::MIN>("ReduceMin"));

}  // namespace sf
