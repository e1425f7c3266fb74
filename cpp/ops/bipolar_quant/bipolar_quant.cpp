// QONNX BipolarQuant: sign quantizer, out = (x >= 0 ? +1 : -1) * scale, as
// Brevitas exports 1-bit activations. NaN counts as negative (x >= 0 fails),
// which is what qonnx's np.where does.
#include <fmt/format.h>

#include "exec/broadcast.h"
#include "ops/quant/quant_common.h"

namespace sf {
namespace {
using namespace qnt;

template <typename T>
void bipolar_kernel(const Tensor& x, const Tensor& s, float* out) {
  const Values<T> xv(x), sv(s);
  for_each_broadcast(x.shape(), {x.shape(), s.shape()}, [&](int64_t i, const std::vector<int64_t>& o) {
    const T y = xv[o[0]] >= T(0) ? T(1) : T(-1);
    out[i] = (float)(y * sv[o[1]]);
  });
}

void bipolar_execute(ExecCtx& c) {
  const Node& n = c.node;
  const Tensor& x = c.input(0);
  const Tensor& s = c.input(1);
  check_positive_scale(n, s, "scale (input 1)");
  check_broadcasts_to(n, x.shape(), s.shape(), "scale (input 1)");
  Tensor out(ElemType::FLOAT, x.shape());
  if (promotes_to_double(x.type()) || promotes_to_double(s.type()))
    bipolar_kernel<double>(x, s, out.data<float>());
  else
    bipolar_kernel<float>(x, s, out.data<float>());
  c.out.resize(1);
  c.out[0] = std::move(out);
}

OpDef make_bipolar_quant_def() {
  OpDef d;
  d.op_type = "BipolarQuant";
  d.domain = OpDomain::QONNX;
  d.min_inputs = 2;
  d.max_inputs = 2;
  d.infer_shape = [](InferCtx& c) { infer_same_shape(c, {{1, "scale (input 1)"}}); };
  // Unit scale: the values are exactly {-1,+1}. Otherwise a scaled 1-bit type
  // (qonnx says FLOAT32 here; the driver maps SCALEDINT to FLOAT32 unless
  // scaled integers are allowed, so the two agree by default).
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> {
    const Tensor* s = c.in_value.size() > 1 ? c.in_value[1] : nullptr;
    if (all_equal(s, 1.0)) return {DataType::bipolar()};
    return {DataType::scaledint(1)};
  };
  d.execute = bipolar_execute;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_bipolar_quant_def());

}  // namespace sf
