// BatchNormalization, inference mode: y = (x - mean) / sqrt(var + eps) * scale + B
// per channel (axis 1). Training mode and its extra outputs are rejected.
#include <cmath>

#include "ops/elementwise/math_common.h"

namespace sf {
namespace {

void validate_bn(const Node& n) {
  for (size_t i = 1; i < n.outputs.size(); ++i)
    if (!n.outputs[i].empty())
      op_fail(n, "BatchNormalization has training outputs (running/saved mean and variance), which need training mode",
              "export the model in eval mode (model.eval()) so the node has a single output");
  if (n.get_int("training_mode", 0) != 0)
    op_fail(n, "attribute 'training_mode' = 1 is not supported (inference only)",
            "export the model in eval mode (model.eval())");
  if (n.get_float("epsilon", 1e-5f) < 0)
    op_fail(n, "attribute 'epsilon' is negative", "use a small positive epsilon such as 1e-5");
}

// Shape of scale/B/mean/var: (C) normally; the pre-opset-9 spatial=0 form
// normalizes each (C, d1, ...) element separately.
Shape param_shape(const Node& n, const Shape& x, int64_t opset) {
  if (x.size() < 2)
    op_fail(n, "input X has shape " + shape_str(x) + ", expected (N, C, ...)", "add a batch axis with Unsqueeze");
  if (opset < 9 && n.get_int("spatial", 1) == 0) return Shape(x.begin() + 1, x.end());
  return Shape{x[1]};
}

void check_params(const Node& n, const Shape& want, const std::vector<Shape>& got) {
  static const char* names[] = {"scale", "B", "input_mean", "input_var"};
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want)
      op_fail(n, std::string("input '") + names[i] + "' has shape " + shape_str(got[i]) + ", expected " + shape_str(want),
              "scale, B, mean and var hold one value per channel of X");
}

template <typename T>
Tensor bn_typed(ExecCtx& c, const Shape& ps) {
  const Tensor& x = c.input(0);
  const int64_t pn = shape_numel(ps);
  const double eps = c.node.get_float("epsilon", 1e-5f);
  std::vector<T> a(pn), b(pn);
  const T *sc = c.input(1).data<T>(), *bi = c.input(2).data<T>(), *mu = c.input(3).data<T>(), *va = c.input(4).data<T>();
  // Folding into one multiply-add per element, in T, matches onnxruntime's
  // rounding closely (it folds the same way).
  for (int64_t i = 0; i < pn; ++i) {
    a[i] = sc[i] / std::sqrt(va[i] + (T)eps);
    b[i] = bi[i] - mu[i] * a[i];
  }
  Tensor y(x.type(), x.shape());
  const T* px = x.data<T>();
  T* py = y.data<T>();
  const int64_t n = x.shape()[0];
  // Per-channel params repeat over the trailing spatial block; per-element
  // params (spatial=0) have an inner block of one.
  const int64_t inner = pn ? x.numel() / (n * pn) : 0;
  for (int64_t s = 0; s < n; ++s)
    for (int64_t p = 0; p < pn; ++p) {
      const T* xi = px + (s * pn + p) * inner;
      T* yi = py + (s * pn + p) * inner;
      for (int64_t i = 0; i < inner; ++i) yi[i] = xi[i] * a[p] + b[p];
    }
  return y;
}

OpDef make_bn() {
  OpDef d;
  d.op_type = "BatchNormalization";
  d.domain = OpDomain::ONNX;
  d.min_inputs = d.max_inputs = 5;
  d.validate = validate_bn;
  d.infer_shape = [](InferCtx& c) {
    validate_bn(c.node);
    const Shape ps = param_shape(c.node, c.shape(0), math::onnx_opset(c.model));
    check_params(c.node, ps, {c.shape(1), c.shape(2), c.shape(3), c.shape(4)});
    math::set_out_if(c, 0, c.in[0].elem_type, c.shape(0));
  };
  d.infer_datatype = math::keep_or_float;
  d.execute = math::promote_f16([](ExecCtx& c) {
    validate_bn(c.node);
    const Tensor& x = c.input(0);
    const Shape ps = param_shape(c.node, x.shape(), math::onnx_opset(c));
    check_params(c.node, ps, {c.input(1).shape(), c.input(2).shape(), c.input(3).shape(), c.input(4).shape()});
    for (size_t i = 1; i < 5; ++i) math::require_same_type(c.node, x, c.input(i), 0, i);
    math::dispatch_float(x.type(), c.node, [&](auto tag) { math::set_output(c, 0, bn_typed<decltype(tag)>(c, ps)); });
  });
  return d;
}

}  // namespace

SF_REGISTER_OP(make_bn());

}  // namespace sf
