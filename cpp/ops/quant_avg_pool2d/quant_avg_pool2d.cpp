// QONNX QuantAvgPool2d (Brevitas QuantAvgPool2d / TruncAvgPool): integer
// average pooling as sum-then-shift. qonnx computes the window average in
// float32, multiplies back by k*k and rounds to recover the integer sum, then
// shifts right by max(0, bitlen((2^ibits-1)*k*k) - obits) so the result fits
// obits. We follow the same float32 steps so non-integer inputs round alike.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "ops/op.h"

namespace sf {
namespace {

struct PoolAttrs {
  int64_t k, s, ibits, obits;
  bool is_signed, nhwc;
};

PoolAttrs read_attrs(const Node& n) {
  PoolAttrs a{};
  // Required, as in qonnx: a silent default bit width would change results.
  a.k = n.get_int("kernel");
  a.s = n.get_int("stride");
  a.ibits = n.get_int("ibits");
  a.obits = n.get_int("obits");
  const int64_t sg = n.get_int("signed", 0);
  const std::string layout = n.get_string("data_layout", "NCHW");
  if (a.k < 1 || a.s < 1 || a.k > 4096)
    op_fail(n, fmt::format("kernel = {} and stride = {} must both be >= 1 (kernel at most 4096)", a.k, a.s),
            "QuantAvgPool2d takes a square kernel and stride as single integers");
  if (a.ibits < 1 || a.ibits > 32 || a.obits < 1 || a.obits > 32)
    op_fail(n, fmt::format("ibits = {} and obits = {} must be between 1 and 32", a.ibits, a.obits),
            "set ibits/obits to the input/output bit widths of the pooling quantizer");
  if (sg != 0 && sg != 1)
    op_fail(n, fmt::format("attribute 'signed' = {} must be 0 or 1", sg), "set signed to 0 or 1");
  if (layout != "NCHW" && layout != "NHWC")
    op_fail(n, fmt::format("data_layout '{}' is not supported", layout), "use NCHW or NHWC");
  a.is_signed = sg == 1;
  a.nhwc = layout == "NHWC";
  return a;
}

int shift_bits(const PoolAttrs& a) {
  // ibits <= 32 and k <= 4096 keep (2^ibits - 1) * k*k below 2^56.
  uint64_t maxv = ((uint64_t(1) << a.ibits) - 1) * uint64_t(a.k * a.k);
  int len = 0;
  while (maxv) {
    ++len;
    maxv >>= 1;
  }
  return std::max<int>(0, len - (int)a.obits);
}

Shape pool_shape(const Node& n, const PoolAttrs& a, const Shape& x) {
  if (x.size() != 4)
    op_fail(n, fmt::format("input has shape {}, expected a 4-D {} tensor", shape_str(x), a.nhwc ? "NHWC" : "NCHW"),
            "QuantAvgPool2d pools 2-D feature maps");
  const int64_t h = a.nhwc ? x[1] : x[2], w = a.nhwc ? x[2] : x[3];
  if (h < a.k || w < a.k)
    op_fail(n, fmt::format("kernel {} is larger than the {}x{} input", a.k, h, w), "use a smaller kernel");
  const int64_t oh = (h - a.k) / a.s + 1, ow = (w - a.k) / a.s + 1;
  return a.nhwc ? Shape{x[0], oh, ow, x[3]} : Shape{x[0], x[1], oh, ow};
}

void pool_execute(ExecCtx& c) {
  const Node& n = c.node;
  const Tensor& x = c.input(0);
  const PoolAttrs a = read_attrs(n);
  const Shape os = pool_shape(n, a, x.shape());
  const std::vector<float> xv = x.to_float();
  const int64_t N = x.shape()[0];
  const int64_t C = a.nhwc ? x.shape()[3] : x.shape()[1];
  const int64_t H = a.nhwc ? x.shape()[1] : x.shape()[2], W = a.nhwc ? x.shape()[2] : x.shape()[3];
  const int64_t OH = a.nhwc ? os[1] : os[2], OW = a.nhwc ? os[2] : os[3];
  auto at = [&](int64_t b, int64_t ch, int64_t y, int64_t xx) {
    return a.nhwc ? ((b * H + y) * W + xx) * C + ch : ((b * C + ch) * H + y) * W + xx;
  };
  auto out_at = [&](int64_t b, int64_t ch, int64_t y, int64_t xx) {
    return a.nhwc ? ((b * OH + y) * OW + xx) * C + ch : ((b * C + ch) * OH + y) * OW + xx;
  };
  const float area = (float)(a.k * a.k);
  const int sh = shift_bits(a);
  Tensor out(ElemType::FLOAT, os);
  float* po = out.data<float>();
  for (int64_t b = 0; b < N; ++b)
    for (int64_t ch = 0; ch < C; ++ch)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          float sum = 0.f;
          for (int64_t ky = 0; ky < a.k; ++ky)
            for (int64_t kx = 0; kx < a.k; ++kx) sum += xv[at(b, ch, oy * a.s + ky, ox * a.s + kx)];
          const float avg = sum / area;  // onnxruntime's AveragePool
          const float total = std::nearbyint(avg * area);
          float r;
          if (!std::isfinite(total) || std::fabs(total) >= 9.2e18f) {
            r = NAN;  // NumPy's astype(int) has no defined answer here either
          } else {
            const int64_t v = (int64_t)total;
            // np.right_shift on int64 is arithmetic (floor) for negatives.
            r = (float)(v >= 0 ? v >> sh : ~((~v) >> sh));
          }
          po[out_at(b, ch, oy, ox)] = r;
        }
  c.out.resize(1);
  c.out[0] = std::move(out);
}

OpDef make_quant_avg_pool2d_def() {
  OpDef d;
  d.op_type = "QuantAvgPool2d";
  d.domain = OpDomain::QONNX;
  d.min_inputs = 1;
  d.max_inputs = 1;
  d.validate = [](const Node& n) { read_attrs(n); };
  d.infer_shape = [](InferCtx& c) {
    c.set_out(0, ElemType::FLOAT, pool_shape(c.node, read_attrs(c.node), c.shape(0)));
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> {
    const PoolAttrs a = read_attrs(c.node);
    return {a.is_signed ? DataType::sint((int)a.obits) : DataType::uint((int)a.obits)};
  };
  d.execute = pool_execute;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_quant_avg_pool2d_def());

}  // namespace sf
