// Softmax and LogSoftmax. Before opset 13 the input is coerced to 2-D at
// `axis` (default 1) and normalized over the whole flattened trailing block;
// from 13 on only the single `axis` (default -1) is normalized.
#include <algorithm>
#include <cmath>

#include "ops/elementwise/math_common.h"

namespace sf {
namespace {

struct Split {
  int64_t outer, len, inner;
};

Split softmax_split(const Node& n, const Shape& x, int64_t opset) {
  const int64_t rank = (int64_t)x.size();
  const bool legacy = opset < 13;
  if (rank == 0) return {1, 1, 1};
  const int64_t axis = math::normalize_axis(n, n.get_int("axis", legacy ? 1 : -1), rank);
  Split s{1, 1, 1};
  for (int64_t i = 0; i < axis; ++i) s.outer *= x[i];
  if (legacy) {
    for (int64_t i = axis; i < rank; ++i) s.len *= x[i];
  } else {
    s.len = x[axis];
    for (int64_t i = axis + 1; i < rank; ++i) s.inner *= x[i];
  }
  return s;
}

template <typename T>
Tensor softmax_typed(const Tensor& x, const Split& s, bool log) {
  Tensor y(x.type(), x.shape());
  const T* px = x.data<T>();
  T* py = y.data<T>();
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t in = 0; in < s.inner; ++in) {
      const T* xi = px + o * s.len * s.inner + in;
      T* yi = py + o * s.len * s.inner + in;
      if (s.len == 0) continue;
      // Subtracting the max keeps exp() in range; the sum is kept in double
      // so long rows do not drift from onnxruntime's result.
      T m = xi[0];
      for (int64_t k = 1; k < s.len; ++k) m = std::max(m, xi[k * s.inner]);
      double sum = 0;
      for (int64_t k = 0; k < s.len; ++k) {
        const T e = std::exp(xi[k * s.inner] - m);
        sum += e;
        if (!log) yi[k * s.inner] = e;
      }
      if (log) {
        const T ls = (T)std::log(sum);
        for (int64_t k = 0; k < s.len; ++k) yi[k * s.inner] = xi[k * s.inner] - m - ls;
      } else {
        const T inv = (T)(1.0 / sum);
        for (int64_t k = 0; k < s.len; ++k) yi[k * s.inner] *= inv;
      }
    }
  return y;
}

OpDef make_softmax(const char* name, bool log) {
  OpDef d;
  d.op_type = name;
  d.domain = OpDomain::ONNX;
  d.min_inputs = d.max_inputs = 1;
  d.infer_shape = [](InferCtx& c) {
    softmax_split(c.node, c.shape(0), math::onnx_opset(c.model));
    math::set_out_if(c, 0, c.in[0].elem_type, c.shape(0));
  };
  d.infer_datatype = math::keep_or_float;
  d.execute = math::promote_f16([log](ExecCtx& c) {
    const Tensor& x = c.input(0);
    const Split s = softmax_split(c.node, x.shape(), math::onnx_opset(c));
    math::dispatch_float(x.type(), c.node,
                         [&](auto tag) { math::set_output(c, 0, softmax_typed<decltype(tag)>(x, s, log)); });
  });
  return d;
}

}  // namespace

SF_REGISTER_OP(make_softmax("Softmax", false));
SF_REGISTER_OP(make_softmax("LogSoftmax", true));

}  // namespace sf
