// ONNX (NumPy-style) multidirectional broadcasting, shared by elementwise ops
// and by the quantizers' per-channel parameters.
#pragma once
#include <vector>

#include "ir/errors.h"
#include "ir/tensor.h"

namespace sf {

// Throws ModelError when the shapes cannot broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b);
Shape broadcast_shapes(const std::vector<Shape>& shapes);
// Element strides of a tensor of shape `in` seen through broadcast shape
// `out` (right-aligned; 0 on broadcast axes).
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Visits every index of `out` and passes, for each operand, its flat offset.
// f(out_flat, offsets) with offsets.size() == shapes.size().
template <typename F>
void for_each_broadcast(const Shape& out, const std::vector<Shape>& shapes, F&& f) {
  const size_t r = out.size(), k = shapes.size();
  std::vector<std::vector<int64_t>> strides(k);
  for (size_t j = 0; j < k; ++j) strides[j] = broadcast_strides(shapes[j], out);
  const int64_t n = shape_numel(out);
  std::vector<int64_t> idx(r, 0), off(k, 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    f(flat, off);
    // odometer increment, updating operand offsets incrementally
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < out[d]) {
        for (size_t j = 0; j < k; ++j) off[j] += strides[j][d];
        break;
      }
      for (size_t j = 0; j < k; ++j) off[j] -= strides[j][d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

// out[i] = f(a[..], b[..]) over the broadcast shape, result type R.
template <typename R, typename A, typename B, typename F>
Tensor broadcast_binary(const Tensor& a, const Tensor& b, F&& f) {
  Shape s = broadcast_shapes(a.shape(), b.shape());
  Tensor out(ElemTypeOf<R>::value, s);
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  R* po = out.data<R>();
  for_each_broadcast(s, {a.shape(), b.shape()},
                     [&](int64_t i, const std::vector<int64_t>& o) { po[i] = f(pa[o[0]], pb[o[1]]); });
  return out;
}

}  // namespace sf
