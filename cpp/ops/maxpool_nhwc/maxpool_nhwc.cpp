// qonnx MaxPoolNHWC: ONNX MaxPool on a channels-last (N, H, W, C) tensor,
// what MakeMaxPoolNHWC produces so pooling sits between NHWC convs without
// transposes. qonnx runs it as transpose -> MaxPool -> transpose; we do the
// same through the registered MaxPool, so both ops can never disagree on
// pads, strides or ceil_mode. Attributes: kernel_shape, pads, strides,
// ceil_mode (qonnx's set; dilations and an Indices output are not part of it).
#include <fmt/format.h>

#include "ops/op.h"
#include "ops/reshape/movement.h"

namespace sf {
namespace {

const std::vector<int64_t> kNHWCtoNCHW = {0, 3, 1, 2};
const std::vector<int64_t> kNCHWtoNHWC = {0, 2, 3, 1};

Shape permute(const Shape& s, const std::vector<int64_t>& p) {
  Shape o(p.size());
  for (size_t k = 0; k < p.size(); ++k) o[k] = s[p[k]];
  return o;
}

Tensor permute(const Tensor& t, const std::vector<int64_t>& p) {
  const std::vector<int64_t> in_st = movement::strides_of(t.shape());
  std::vector<int64_t> st(p.size());
  for (size_t k = 0; k < p.size(); ++k) st[k] = in_st[p[k]];
  Tensor out(t.type(), permute(t.shape(), p));
  movement::copy_strided(t, 0, st, out);
  return out;
}

// The equivalent NCHW MaxPool node (same name, so its errors name this node).
Node as_maxpool(const Node& n) {
  Node m = n;
  m.op_type = "MaxPool";
  m.domain = "";
  m.outputs.resize(1);
  return m;
}

const OpDef& maxpool_def(const Node& n) {
  const OpDef* d = OpRegistry::instance().find("MaxPool", "");
  if (!d) op_fail(n, "the MaxPool op is not registered", "this is a streamfold build problem");
  return *d;
}

void validate(const Node& n) {
  const std::vector<int64_t> k = n.get_ints("kernel_shape");
  if (k.size() != 2)
    op_fail(n, fmt::format("kernel_shape has {} entries; MaxPoolNHWC pools 2-D feature maps", k.size()),
            "give kernel_shape = [kh, kw]");
  for (const char* a : {"dilations", "auto_pad", "storage_order"})
    if (n.has_attr(a))
      op_fail(n, fmt::format("attribute '{}' is not part of MaxPoolNHWC", a),
              "use the ONNX MaxPool (NCHW) for dilated or auto-padded pooling");
  const OpDef& d = maxpool_def(n);
  if (d.validate) d.validate(as_maxpool(n));
}

void check_rank(const Node& n, const Shape& x) {
  if (x.size() != 4)
    op_fail(n, fmt::format("input has shape {}, expected (N, H, W, C)", shape_str(x)),
            "MaxPoolNHWC takes a 4-D channels-last tensor");
}

OpDef make_maxpool_nhwc_def() {
  OpDef d;
  d.op_type = "MaxPoolNHWC";
  d.domain = OpDomain::QONNX;
  d.min_inputs = d.max_inputs = 1;
  d.validate = validate;
  d.infer_shape = [](InferCtx& c) {
    const Shape& x = c.shape(0);
    check_rank(c.node, x);
    const Node mp = as_maxpool(c.node);
    TensorInfo in = c.in[0];
    in.shape = permute(x, kNHWCtoNCHW);
    InferCtx ic{mp, c.model, {in}, {}};
    ic.out.resize(1);
    maxpool_def(c.node).infer_shape(ic);
    if (!ic.out[0].shape) c.shape(0);  // unreachable: MaxPool always sets it
    c.set_out(0, ic.out[0].elem_type, permute(*ic.out[0].shape, kNCHWtoNHWC));
  };
  // Max of values keeps their datatype.
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> {
    return {c.in.empty() ? DataType() : c.in[0]};
  };
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    check_rank(c.node, x.shape());
    const Tensor xt = permute(x, kNHWCtoNCHW);
    const Node mp = as_maxpool(c.node);
    ExecCtx ec{mp, c.onnx_opset, {&xt}, {}};
    maxpool_def(c.node).execute(ec);
    c.out.resize(1);
    c.out[0] = permute(ec.out.at(0), kNCHWtoNHWC);
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(make_maxpool_nhwc_def());

}  // namespace sf
