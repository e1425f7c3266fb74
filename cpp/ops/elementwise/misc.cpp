// Clip, Identity, Dropout (inference), Cast and CastLike.
#include <cstring>
#include <limits>

#include "ops/elementwise/math_common.h"

namespace sf {
namespace {

using math::set_output;

// ---- Clip -------------------------------------------------------------------
// Before opset 11 the bounds were float attributes; since then they are
// optional scalar inputs, which also admits integer tensors.

void check_clip_form(const Node& n, int64_t opset) {
  if (opset < 11 && n.inputs.size() > 1)
    op_fail(n, "Clip at opset " + std::to_string(opset) + " takes min/max as attributes, but the node has " +
                   std::to_string(n.inputs.size()) + " inputs",
            "raise the model's ai.onnx opset to >= 11 or move the bounds into the 'min'/'max' attributes");
}

template <typename T>
T clip_bound(ExecCtx& c, size_t i, const char* attr, T dflt, bool attr_form) {
  const Node& n = c.node;
  if (!attr_form && c.has_input(i)) {
    const Tensor& b = c.input(i);
    if (b.numel() != 1)
      op_fail(n, std::string("Clip input '") + attr + "' has shape " + shape_str(b.shape()) + ", expected a scalar",
              "pass a single-element tensor as the bound");
    math::require_same_type(n, c.input(0), b, 0, i);
    return b.data<T>()[0];
  }
  // Old-opset attributes (honoured at any opset when the inputs are absent).
  if (n.has_attr(attr)) return (T)n.get_float(attr);
  return dflt;
}

void exec_clip(ExecCtx& c) {
  const int64_t opset = math::onnx_opset(c);
  check_clip_form(c.node, opset);
  const Tensor& x = c.input(0);
  math::dispatch_arith(x.type(), c.node, [&](auto tag) {
    using T = decltype(tag);
    const bool attr_form = opset < 11;
    const T lo = clip_bound<T>(c, 1, "min", std::numeric_limits<T>::lowest(), attr_form);
    const T hi = clip_bound<T>(c, 2, "max", std::numeric_limits<T>::max(), attr_form);
    Tensor out(x.type(), x.shape());
    const T* px = x.data<T>();
    T* po = out.data<T>();
    // ONNX: with min > max every element becomes max, which this order gives.
    for (int64_t i = 0; i < x.numel(); ++i) {
      T v = px[i] < lo ? lo : px[i];
      po[i] = v > hi ? hi : v;
    }
    set_output(c, 0, std::move(out));
  });
}

OpDef make_clip() {
  OpDef d;
  d.op_type = "Clip";
  d.domain = OpDomain::ONNX;
  d.min_inputs = 1;
  d.max_inputs = 3;
  d.infer_shape = [](InferCtx& c) {
    check_clip_form(c.node, math::onnx_opset(c.model));
    math::set_out_if(c, 0, c.in[0].elem_type, c.shape(0));
  };
  d.infer_datatype = math::same_as_input0;
  d.execute = math::promote_f16(exec_clip);
  return d;
}

// ---- Identity ---------------------------------------------------------------

OpDef make_identity() {
  OpDef d;
  d.op_type = "Identity";
  d.domain = OpDomain::ONNX;
  d.min_inputs = d.max_inputs = 1;
  d.infer_shape = [](InferCtx& c) { math::set_out_if(c, 0, c.in[0].elem_type, c.shape(0)); };
  d.infer_datatype = math::same_as_input0;
  // A copy, so an output handed to NumPy never aliases a caller's input.
  d.execute = [](ExecCtx& c) { set_output(c, 0, c.input(0).clone()); };
  return d;
}

// ---- Dropout ----------------------------------------------------------------
// Inference only: the data passes through and the mask keeps everything.

ElemType dropout_mask_type(int64_t opset, ElemType data) { return opset < 10 ? data : ElemType::BOOL; }

void exec_dropout(ExecCtx& c) {
  const Node& n = c.node;
  const Tensor& x = c.input(0);
  if (c.has_input(2)) {
    const Tensor& tm = c.input(2);
    double ratio = 0.5;
    if (c.has_input(1)) ratio = c.input(1).item_double();
    if (tm.numel() == 1 && tm.item_double() != 0 && ratio != 0)
      op_fail(n, "Dropout with training_mode=true is random and is not supported",
              "export the model in eval mode (model.eval()) or feed training_mode=false");
  }
  set_output(c, 0, x.clone());
  if (math::output_wanted(n, 1)) {
    Tensor mask(dropout_mask_type(math::onnx_opset(c), x.type()), x.shape());
    // Writing 1 through Tensor::cast keeps this type-agnostic (bool, float, ...).
    Tensor one = Tensor::scalar<bool>(true).cast(mask.type());
    const size_t es = elem_size(mask.type());
    char* pm = static_cast<char*>(mask.raw());
    for (int64_t i = 0; i < mask.numel(); ++i) std::memcpy(pm + i * es, one.raw(), es);
    set_output(c, 1, std::move(mask));
  }
}

OpDef make_dropout() {
  OpDef d;
  d.op_type = "Dropout";
  d.domain = OpDomain::ONNX;
  d.min_inputs = 1;
  d.max_inputs = 3;
  d.infer_shape = [](InferCtx& c) {
    math::set_out_if(c, 0, c.in[0].elem_type, c.shape(0));
    math::set_out_if(c, 1, dropout_mask_type(math::onnx_opset(c.model), c.in[0].elem_type), c.shape(0));
  };
  d.infer_datatype = math::keep_or_float;
  d.execute = exec_dropout;
  return d;
}

// ---- Cast / CastLike --------------------------------------------------------

bool castable(int64_t t) {
  switch ((ElemType)t) {
    case ElemType::FLOAT: case ElemType::UINT8: case ElemType::INT8: case ElemType::UINT16:
    case ElemType::INT16: case ElemType::INT32: case ElemType::INT64: case ElemType::BOOL:
    case ElemType::FLOAT16: case ElemType::DOUBLE: case ElemType::UINT32: case ElemType::UINT64:
      return true;
    default:
      return false;
  }
}

ElemType cast_target(const Node& n) {
  const int64_t to = n.get_int("to");
  if (!castable(to))
    op_fail(n, "attribute 'to' = " + std::to_string(to) + " names an element type Cast does not support",
            "use a numeric ONNX TensorProto type: FLOAT(1), UINT8(2), INT8(3), UINT16(4), INT16(5), INT32(6), "
            "INT64(7), BOOL(9), FLOAT16(10), DOUBLE(11), UINT32(12), UINT64(13)");
  return (ElemType)to;
}

void check_source(const Node& n, const Tensor& x) {
  if (!castable((int64_t)x.type()))
    math::fail_elem_type(n, x.type(), "numeric types and bool");
}

OpDef make_cast() {
  OpDef d;
  d.op_type = "Cast";
  d.domain = OpDomain::ONNX;
  d.min_inputs = d.max_inputs = 1;
  d.validate = [](const Node& n) { cast_target(n); };
  d.infer_shape = [](InferCtx& c) { math::set_out_if(c, 0, cast_target(c.node), c.shape(0)); };
  d.infer_datatype = math::keep_or_float;
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    check_source(c.node, x);
    const ElemType to = cast_target(c.node);
    set_output(c, 0, x.type() == to ? x.clone() : x.cast(to));
  };
  return d;
}

OpDef make_castlike() {
  OpDef d;
  d.op_type = "CastLike";
  d.domain = OpDomain::ONNX;
  d.min_inputs = d.max_inputs = 2;
  d.infer_shape = [](InferCtx& c) { math::set_out_if(c, 0, c.in[1].elem_type, c.shape(0)); };
  d.infer_datatype = math::keep_or_float;
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    const ElemType to = c.input(1).type();
    check_source(c.node, x);
    if (!castable((int64_t)to)) math::fail_elem_type(c.node, to, "numeric types and bool as target_type");
    set_output(c, 0, x.type() == to ? x.clone() : x.cast(to));
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(make_clip());
SF_REGISTER_OP(make_identity());
SF_REGISTER_OP(make_dropout());
SF_REGISTER_OP(make_cast());
SF_REGISTER_OP(make_castlike());

}  // namespace sf
