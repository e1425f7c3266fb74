// QONNX Quant (alias IntQuant): uniform integer fake-quantization, bit-exact
// with qonnx's int_quant. The sequence is x/scale + zeropt, clamp, round,
// (y - zeropt)*scale; the clamp happens before the rounding, so e.g. 7.6 with
// max 7 stays 7 even under CEIL.
#include <fmt/format.h>

#include "exec/broadcast.h"
#include "ops/quant/quant_common.h"

namespace sf {
namespace {
using namespace qnt;

struct QuantParams {
  bool is_signed = true, narrow = false;
  RoundingMode mode = RoundingMode::ROUND;
  int64_t bw = 8;
  ElemType bw_type = ElemType::FLOAT;
};

QuantParams read_attrs(const Node& n) {
  QuantParams p;
  p.is_signed = bool_attr(n, "signed", true);
  p.narrow = bool_attr(n, "narrow", false);
  p.mode = rounding_mode_attr(n, "ROUND");
  return p;
}

template <typename T>
void quant_kernel(const Tensor& x, const Tensor& s, const Tensor& z, const QuantParams& p, float* out) {
  const Values<T> xv(x), sv(s), zv(z);
  // qonnx special-cases signed 1-bit as bipolar (Brevitas exports it so).
  const bool bipolar = p.bw == 1 && p.is_signed;
  const T lo = (T)bound_as_stored(min_int(p.is_signed, p.narrow, p.bw), p.bw_type);
  const T hi = (T)bound_as_stored(max_int(p.is_signed, p.narrow, p.bw), p.bw_type);
  for_each_broadcast(x.shape(), {x.shape(), s.shape(), z.shape()}, [&](int64_t i, const std::vector<int64_t>& o) {
    const T sc = sv[o[1]], zp = zv[o[2]];
    // Division, never a reciprocal multiply: qonnx and Brevitas divide, and
    // the two disagree in the last bit often enough to move rounding ties.
    T y = xv[o[0]] / sc;
    y = y + zp;
    if (bipolar) {
      y = y >= T(0) ? T(1) : T(-1);
    } else {
      // Written as NumPy's where(y > hi, hi, y): NaN passes through unclamped.
      if (y > hi) y = hi;
      if (y < lo) y = lo;
      y = apply_rounding(p.mode, y);
    }
    T r = y - zp;
    r = r * sc;
    out[i] = (float)r;
  });
}

void quant_execute(ExecCtx& c) {
  const Node& n = c.node;
  const Tensor& x = c.input(0);
  const Tensor& s = c.input(1);
  const Tensor& z = c.input(2);
  const Tensor& b = c.input(3);
  QuantParams p = read_attrs(n);
  p.bw = bitwidth_value(n, b, "bitwidth (input 3)");
  p.bw_type = b.type();
  check_positive_scale(n, s, "scale (input 1)");
  check_finite(n, z, "zeropt (input 2)");
  check_broadcasts_to(n, x.shape(), s.shape(), "scale (input 1)");
  check_broadcasts_to(n, x.shape(), z.shape(), "zeropt (input 2)");
  Tensor out(ElemType::FLOAT, x.shape());
  // NumPy runs the whole expression in float64 once any operand is float64.
  if (promotes_to_double(x.type()) || promotes_to_double(s.type()) || promotes_to_double(z.type()))
    quant_kernel<double>(x, s, z, p, out.data<float>());
  else
    quant_kernel<float>(x, s, z, p, out.data<float>());
  c.out.resize(1);
  c.out[0] = std::move(out);
}

// qonnx: unit scale and zero zero-point give INTb/UINTb (BIPOLAR/BINARY at 1
// bit), anything else a scaled integer; a bit width that is not a constant
// leaves nothing to say, so FLOAT32.
std::vector<DataType> quant_datatype(const DataTypeCtx& c) {
  auto value = [&](size_t i) -> const Tensor* { return i < c.in_value.size() ? c.in_value[i] : nullptr; };
  const Tensor* bw = value(3);
  if (!bw) return {DataType::float32()};
  const int64_t b = bitwidth_value(c.node, *bw, "bitwidth (input 3)");
  const bool is_signed = bool_attr(c.node, "signed", true);
  if (all_equal(value(1), 1.0) && all_equal(value(2), 0.0)) return {int_datatype(is_signed, b, true)};
  return {DataType::scaledint((int)b)};
}

OpDef make_quant_def(const char* op_type) {
  OpDef d;
  d.op_type = op_type;
  d.domain = OpDomain::QONNX;
  d.min_inputs = 4;
  d.max_inputs = 4;
  d.validate = [](const Node& n) { read_attrs(n); };
  d.infer_shape = [](InferCtx& c) {
    infer_same_shape(c, {{1, "scale (input 1)"}, {2, "zeropt (input 2)"}});
    if (c.has_input(3) && c.in[3].value) bitwidth_value(c.node, *c.in[3].value, "bitwidth (input 3)");
  };
  d.infer_datatype = quant_datatype;
  d.execute = quant_execute;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_quant_def("Quant"));
SF_REGISTER_OP(make_quant_def("IntQuant"));

}  // namespace sf
