// QONNX Trunc: drops low bits of an already quantized tensor (Brevitas
// TruncIntQuant, e.g. after average pooling). Two versions exist and the
// input count tells them apart, which is sturdier than the opset number qonnx
// uses (files often import the domain at the wrong version):
//   v1, 5 inputs: x, scale, zeropt, in_bitwidth, out_bitwidth
//   v2, 6 inputs: x, scale, zeropt, in_bitwidth, out_scale, out_bitwidth
//       (what qonnx 1.0 and Brevitas 0.13 write)
//   v2, 7 inputs: x, scale, zeropt, in_bitwidth, out_scale, out_zeropt,
//       out_bitwidth (DESIGN.md's spelling; out_zeropt must equal
//       zeropt / trunc_scale, the only value v2's arithmetic can honour)
#include <algorithm>
#include <fmt/format.h>

#include "exec/broadcast.h"
#include "ops/quant/quant_common.h"

namespace sf {
namespace {
using namespace qnt;

bool is_v1(const Node& n) { return n.inputs.size() == 5; }
size_t out_scale_index() { return 4; }
size_t out_bw_index(const Node& n) { return n.inputs.size() == 7 ? 6 : 5; }

// NumPy gives 2.0 ** (integer array) a float64 result, and with it the rest
// of the expression.
bool bw_promotes(ElemType t) { return t != ElemType::FLOAT && t != ElemType::FLOAT16; }

struct TruncV1 {
  RoundingMode mode;
  double trunc_scale;  // 2^(in_bw - out_bw), exact
};

// y = round(x/scale + zp) / 2^(in-out); mode-round; (y - zp) * scale. T1 is
// the precision of x/scale + zp, T2 of everything after the division by the
// truncation scale.
template <typename T1, typename T2>
void trunc_v1_kernel(const Tensor& x, const Tensor& s, const Tensor& z, const TruncV1& p, float* out) {
  const Values<T1> xv(x), sv(s), zv(z);
  const T2 ts = (T2)p.trunc_scale;
  for_each_broadcast(x.shape(), {x.shape(), s.shape(), z.shape()}, [&](int64_t i, const std::vector<int64_t>& o) {
    T1 y = xv[o[0]] / sv[o[1]];
    y = y + zv[o[2]];
    y = std::nearbyint(y);
    T2 t = (T2)y / ts;
    t = apply_rounding(p.mode, t);
    t = t - (T2)zv[o[2]];
    t = t * (T2)sv[o[1]];
    out[i] = (float)t;
  });
}

struct TruncV2 {
  RoundingMode mode;
  bool ts_double;  // precision of out_scale/scale and its log2
  double lo, hi;   // output limits as stored by qonnx
};

template <typename TS>
TS trunc_scale_of(TS out_scale, TS scale) {
  // Trunc scales are powers of two; qonnx snaps the ratio to the nearest one.
  TS e = std::nearbyint(std::log2(out_scale / scale));
  return std::ldexp(TS(1), (int)e);
}

// y = round(x/scale + zp) / ts; clamp; mode-round; (y - zp/ts) * out_scale,
// with ts = 2^round(log2(out_scale/scale)) per element.
template <typename T1, typename T2>
void trunc_v2_kernel(const Node& n, const Tensor& x, const Tensor& s, const Tensor& z, const Tensor& os,
                     const Tensor* ozp, const TruncV2& p, float* out) {
  const Values<T1> xv(x), sv(s), zv(z);
  const Values<double> osv(os), sdv(s);
  std::vector<Shape> shapes = {x.shape(), s.shape(), z.shape(), os.shape()};
  std::vector<double> ozv;
  if (ozp) {
    shapes.push_back(ozp->shape());
    ozv = ozp->to_double();
  }
  const T2 lo = (T2)p.lo, hi = (T2)p.hi;
  for_each_broadcast(x.shape(), shapes, [&](int64_t i, const std::vector<int64_t>& o) {
    const T2 ts = p.ts_double ? (T2)trunc_scale_of<double>(osv[o[3]], sdv[o[1]])
                              : (T2)trunc_scale_of<float>((float)osv[o[3]], (float)sdv[o[1]]);
    T1 y = xv[o[0]] / sv[o[1]];
    y = y + zv[o[2]];
    y = std::nearbyint(y);
    T2 t = (T2)y / ts;
    if (t > hi) t = hi;
    if (t < lo) t = lo;
    t = apply_rounding(p.mode, t);
    const T2 out_zp = (T2)zv[o[2]] / ts;
    if (ozp && (T2)ozv[o[4]] != out_zp)
      op_fail(n, fmt::format("out_zeropt (input 5) is {} where zeropt / trunc_scale is {}", ozv[o[4]], (double)out_zp),
              "Trunc v2 rescales the input zero point; set out_zeropt to zeropt / 2^round(log2(out_scale/scale)) "
              "or drop it (6-input form)");
    t = t - out_zp;
    t = t * (T2)osv[o[3]];
    out[i] = (float)t;
  });
}

void trunc_execute(ExecCtx& c) {
  const Node& n = c.node;
  const Tensor& x = c.input(0);
  const Tensor& s = c.input(1);
  const Tensor& z = c.input(2);
  check_positive_scale(n, s, "scale (input 1)");
  check_finite(n, z, "zeropt (input 2)");
  check_broadcasts_to(n, x.shape(), s.shape(), "scale (input 1)");
  check_broadcasts_to(n, x.shape(), z.shape(), "zeropt (input 2)");
  const bool t1_double = promotes_to_double(x.type()) || promotes_to_double(s.type()) || promotes_to_double(z.type());
  const RoundingMode mode = rounding_mode_attr(n, "FLOOR");
  Tensor out(ElemType::FLOAT, x.shape());
  float* po = out.data<float>();

  if (is_v1(n)) {
    const Tensor& ib = c.input(3);
    const Tensor& ob = c.input(4);
    const int64_t in_bw = bitwidth_value(n, ib, "in_bitwidth (input 3)");
    const int64_t out_bw = bitwidth_value(n, ob, "out_bitwidth (input 4)");
    TruncV1 p{mode, std::ldexp(1.0, (int)(in_bw - out_bw))};
    if (t1_double)
      trunc_v1_kernel<double, double>(x, s, z, p, po);
    else if (bw_promotes(ib.type()) || bw_promotes(ob.type()))
      trunc_v1_kernel<float, double>(x, s, z, p, po);
    else
      trunc_v1_kernel<float, float>(x, s, z, p, po);
  } else {
    const size_t osi = out_scale_index(), obi = out_bw_index(n);
    bitwidth_value(n, c.input(3), "in_bitwidth (input 3)");
    const Tensor& os = c.input(osi);
    const Tensor& ob = c.input(obi);
    const std::string ob_field = fmt::format("out_bitwidth (input {})", obi);
    const int64_t out_bw = bitwidth_value(n, ob, ob_field);
    check_positive_scale(n, os, "out_scale (input 4)");
    check_broadcasts_to(n, x.shape(), os.shape(), "out_scale (input 4)");
    const Tensor* ozp = nullptr;
    if (n.inputs.size() == 7) {
      ozp = &c.input(5);
      check_broadcasts_to(n, x.shape(), ozp->shape(), "out_zeropt (input 5)");
    }
    const bool is_signed = bool_attr(n, "signed", true), narrow = bool_attr(n, "narrow", false);
    TruncV2 p{mode, promotes_to_double(os.type()) || promotes_to_double(s.type()),
              bound_as_stored(min_int(is_signed, narrow, out_bw), ob.type()),
              bound_as_stored(max_int(is_signed, narrow, out_bw), ob.type())};
    if (t1_double)
      trunc_v2_kernel<double, double>(n, x, s, z, os, ozp, p, po);
    else if (p.ts_double)
      trunc_v2_kernel<float, double>(n, x, s, z, os, ozp, p, po);
    else
      trunc_v2_kernel<float, float>(n, x, s, z, os, ozp, p, po);
  }
  c.out.resize(1);
  c.out[0] = std::move(out);
}

// Integer output when the output grid is the unit grid: v1 keeps the input
// scale (so scale 1, zeropt 0) and the input's signedness; v2 ends on
// out_scale and has its own `signed`. No bipolar special case: a signed 1-bit
// Trunc really yields {-1, 0}. v1 does not clamp, so a mode that can round up
// (ROUND on 255/16, say) reaches 2^out_bw and needs one more bit; FLOOR and
// DOWN cannot leave the range.
std::vector<DataType> trunc_datatype(const DataTypeCtx& c) {
  const Node& n = c.node;
  auto value = [&](size_t i) -> const Tensor* { return i < c.in_value.size() ? c.in_value[i] : nullptr; };
  const size_t obi = is_v1(n) ? 4 : out_bw_index(n);
  const Tensor* ob = value(obi);
  if (!ob) return {DataType::float32()};
  const int64_t out_bw = bitwidth_value(n, *ob, fmt::format("out_bitwidth (input {})", obi));
  const bool zero_zp = all_equal(value(2), 0.0);
  if (is_v1(n)) {
    const bool in_signed = c.in.empty() ? true : c.in[0].is_signed();
    const RoundingMode m = rounding_mode_attr(n, "FLOOR");
    const int64_t bits = m == RoundingMode::FLOOR || m == RoundingMode::DOWN ? out_bw : out_bw + 1;
    if (zero_zp && all_equal(value(1), 1.0)) return {int_datatype(in_signed, std::min<int64_t>(bits, 64), false)};
  } else if (zero_zp && all_equal(value(out_scale_index()), 1.0)) {
    return {int_datatype(bool_attr(n, "signed", true), out_bw, false)};
  }
  return {DataType::scaledint((int)out_bw)};
}

OpDef make_trunc_def() {
  OpDef d;
  d.op_type = "Trunc";
  d.domain = OpDomain::QONNX;
  d.min_inputs = 5;
  d.max_inputs = 7;
  d.validate = [](const Node& n) {
    rounding_mode_attr(n, "FLOOR");
    if (!is_v1(n)) {
      bool_attr(n, "signed", true);
      bool_attr(n, "narrow", false);
    }
  };
  d.infer_shape = [](InferCtx& c) {
    std::vector<std::pair<size_t, std::string>> params = {{1, "scale (input 1)"}, {2, "zeropt (input 2)"}};
    if (!is_v1(c.node)) params.push_back({4, "out_scale (input 4)"});
    if (c.node.inputs.size() == 7) params.push_back({5, "out_zeropt (input 5)"});
    infer_same_shape(c, params);
  };
  d.infer_datatype = trunc_datatype;
  d.execute = trunc_execute;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_trunc_def());

}  // namespace sf
