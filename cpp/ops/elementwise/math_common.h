// Helpers shared by the standard ONNX math ops (elementwise, matmul, conv,
// batchnorm, pool, softmax): element-type dispatch, a broadcasting map that
// keeps the inner loop contiguous, opset lookup, and the qonnx datatype rules
// several of these ops share. Private to those op folders.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "exec/broadcast.h"
#include "ops/op.h"

namespace sf {
namespace math {

// A model with no ai.onnx import is treated as written for today's semantics.
constexpr int64_t kLatestOnnxOpset = 22;

inline int64_t onnx_opset(const Model& m) {
  int64_t v = m.opset_version("");
  if (v <= 0) v = m.opset_version("ai.onnx");
  return v > 0 ? v : kLatestOnnxOpset;
}
inline int64_t onnx_opset(const ExecCtx& c) { return c.onnx_opset > 0 ? c.onnx_opset : kLatestOnnxOpset; }

inline void set_output(ExecCtx& c, size_t i, Tensor t) {
  if (c.out.size() < c.node.outputs.size()) c.out.resize(c.node.outputs.size());
  if (c.out.size() <= i) c.out.resize(i + 1);
  c.out[i] = std::move(t);
}

// Output slots named "" are omitted optional outputs: leave them alone.
inline void set_out_if(InferCtx& c, size_t i, ElemType t, Shape s) {
  if (i < c.node.outputs.size() && !c.node.outputs[i].empty()) c.set_out(i, t, std::move(s));
}

inline bool output_wanted(const Node& n, size_t i) { return i < n.outputs.size() && !n.outputs[i].empty(); }

[[noreturn]] inline void fail_elem_type(const Node& n, ElemType t, const std::string& supported) {
  op_fail(n, "element type " + elem_type_name(t) + " is not supported by " + n.op_type + " (supported: " + supported + ")",
          "insert a Cast to one of the supported types before this node");
}

// f(T{}) for the floating types ONNX math ops accept. float16 never reaches
// here: promote_f16 widens it to float32 first.
template <typename F>
void dispatch_float(ElemType t, const Node& n, F&& f) {
  switch (t) {
    case ElemType::FLOAT: f(float{}); return;
    case ElemType::DOUBLE: f(double{}); return;
    default: fail_elem_type(n, t, "float16, float32, float64");
  }
}

// Floats plus the integer types onnxruntime implements for arithmetic.
template <typename F>
void dispatch_arith(ElemType t, const Node& n, F&& f) {
  switch (t) {
    case ElemType::FLOAT: f(float{}); return;
    case ElemType::DOUBLE: f(double{}); return;
    case ElemType::INT32: f(int32_t{}); return;
    case ElemType::INT64: f(int64_t{}); return;
    default: fail_elem_type(n, t, "float16, float32, float64, int32, int64");
  }
}

inline void require_same_type(const Node& n, const Tensor& a, const Tensor& b, size_t ia, size_t ib) {
  if (a.type() != b.type())
    op_fail(n,
            "inputs " + std::to_string(ia) + " and " + std::to_string(ib) + " have different element types (" +
                elem_type_name(a.type()) + " vs " + elem_type_name(b.type()) + ")",
            "ONNX requires both to have the same type: insert a Cast");
}

// float16 is computed as float32 and rounded back once per output, which is
// what onnxruntime's float16 kernels amount to for these ops.
inline std::function<void(ExecCtx&)> promote_f16(std::function<void(ExecCtx&)> body) {
  return [body](ExecCtx& ctx) {
    bool any = false;
    for (const Tensor* t : ctx.in) any = any || (t && t->type() == ElemType::FLOAT16);
    if (!any) {
      body(ctx);
      return;
    }
    std::vector<Tensor> wide(ctx.in.size());
    ExecCtx inner{ctx.node, ctx.onnx_opset, {}, {}};
    for (size_t i = 0; i < ctx.in.size(); ++i) {
      const Tensor* t = ctx.in[i];
      if (t && t->type() == ElemType::FLOAT16) {
        wide[i] = t->cast(ElemType::FLOAT);
        inner.in.push_back(&wide[i]);
      } else {
        inner.in.push_back(t);
      }
    }
    body(inner);
    for (size_t i = 0; i < inner.out.size(); ++i) {
      Tensor& o = inner.out[i];
      set_output(ctx, i, o.type() == ElemType::FLOAT ? o.cast(ElemType::FLOAT16) : std::move(o));
    }
  };
}

inline std::string shapes_str(const std::vector<Shape>& shapes) {
  std::string s;
  for (size_t i = 0; i < shapes.size(); ++i) s += (i ? ", " : "") + shape_str(shapes[i]);
  return s;
}

inline Shape broadcast_or_fail(const Node& n, const std::vector<Shape>& shapes) {
  try {
    return broadcast_shapes(shapes);
  } catch (const ModelError&) {
    op_fail(n, "input shapes " + shapes_str(shapes) + " do not broadcast",
            "each axis (aligned from the right) must match or be 1; fix the producer of the offending input or add a Reshape");
  }
}

// out = f(a, b) with ONNX broadcasting. The trailing axes on which each
// operand is uniformly either dense or broadcast become one flat inner loop,
// so per-channel biases and scalars cost no index arithmetic per element.
template <typename R, typename A, typename B, typename F>
Tensor bmap2(const Node& n, const Tensor& a, const Tensor& b, F&& f) {
  const Shape s = broadcast_or_fail(n, {a.shape(), b.shape()});
  Tensor out(ElemTypeOf<R>::value, s);
  const int64_t total = out.numel();
  if (total == 0) return out;
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  R* po = out.data<R>();
  if (a.shape() == s && b.shape() == s) {
    for (int64_t i = 0; i < total; ++i) po[i] = f(pa[i], pb[i]);
    return out;
  }
  const size_t r = s.size();
  auto align = [&](const Shape& x) {
    Shape y(r - x.size(), 1);
    y.insert(y.end(), x.begin(), x.end());
    return y;
  };
  const Shape as = align(a.shape()), bs = align(b.shape());
  size_t split = r;
  int ka = -1, kb = -1;  // per operand over the suffix: 0 dense, 1 broadcast
  int64_t inner = 1;
  while (split > 0) {
    const size_t d = split - 1;
    if (s[d] != 1) {
      const int da = as[d] == 1, db = bs[d] == 1;
      if (ka == -1) {
        ka = da;
        kb = db;
      } else if (da != ka || db != kb) {
        break;
      }
      inner *= s[d];
    }
    --split;
  }
  const int64_t ia = ka == 0 ? inner : 1, ib = kb == 0 ? inner : 1;
  const Shape os(s.begin(), s.begin() + split), oa(as.begin(), as.begin() + split), ob(bs.begin(), bs.begin() + split);
  for_each_broadcast(os, {oa, ob}, [&](int64_t i, const std::vector<int64_t>& off) {
    R* o = po + i * inner;
    const A* x = pa + off[0] * ia;
    const B* y = pb + off[1] * ib;
    if (ia == inner && ib == inner) {
      for (int64_t j = 0; j < inner; ++j) o[j] = f(x[j], y[j]);
    } else if (ia == inner) {
      const B y0 = y[0];
      for (int64_t j = 0; j < inner; ++j) o[j] = f(x[j], y0);
    } else if (ib == inner) {
      const A x0 = x[0];
      for (int64_t j = 0; j < inner; ++j) o[j] = f(x0, y[j]);
    } else {
      for (int64_t j = 0; j < inner; ++j) o[j] = f(x[0], y[0]);
    }
  });
  return out;
}

inline bool is_scaled_int(const DataType& d) {
  return d.is_integer() || d.is_fixed_point() || d.kind() == DataType::Kind::SCALEDINT;
}

inline DataType current_or_float(const DataTypeCtx& c, size_t i) {
  return i < c.out_current.size() ? c.out_current[i] : DataType::float32();
}

// qonnx leaves an existing non-float annotation on outputs of ops it has no
// rule for (a pass may have set it deliberately); FLOAT32 otherwise.
inline std::vector<DataType> keep_or_float(const DataTypeCtx& c) {
  std::vector<DataType> r;
  for (size_t i = 0; i < c.node.outputs.size(); ++i) {
    const DataType cur = current_or_float(c, i);
    r.push_back(cur.is_float() ? DataType::float32() : cur);
  }
  return r;
}

// MatMul/Gemm/Conv/Add/Sub/Mul: integer operands accumulate into a 32-bit
// integer, signed when any operand is (or the op can negate); anything with a
// fixed-point or scaled operand only stays a scaled integer.
inline std::vector<DataType> mac_datatype(const DataTypeCtx& c, bool negates) {
  bool all_int = true, all_scaled = true, any_float = false, maybe_signed = negates;
  for (size_t i = 0; i < c.in.size(); ++i) {
    if (i < c.node.inputs.size() && c.node.inputs[i].empty()) continue;
    const DataType& d = c.in[i];
    all_int = all_int && d.is_integer();
    all_scaled = all_scaled && is_scaled_int(d);
    any_float = any_float || d.is_float();
    maybe_signed = maybe_signed || d.is_signed();
  }
  std::vector<DataType> r = keep_or_float(c);
  if (r.empty()) return r;
  if (all_int) r[0] = maybe_signed ? DataType::sint(32) : DataType::uint(32);
  else if (all_scaled) r[0] = DataType::scaledint(32);
  else if (any_float) r[0] = DataType::float32();
  else r[0] = current_or_float(c, 0);
  return r;
}

inline std::vector<DataType> same_as_input0(const DataTypeCtx& c) {
  std::vector<DataType> r = keep_or_float(c);
  if (!r.empty() && !c.in.empty()) r[0] = c.in[0];
  return r;
}

// One 1-D int attribute of fixed length, every entry >= lo.
inline std::vector<int64_t> ints_attr(const Node& n, const std::string& name, size_t len, int64_t dflt, int64_t lo) {
  std::vector<int64_t> v = n.get_ints(name, std::vector<int64_t>(len, dflt));
  if (v.size() != len)
    op_fail(n, "attribute '" + name + "' has " + std::to_string(v.size()) + " entries, expected " + std::to_string(len),
            "give one entry per spatial axis" + std::string(name == "pads" ? " at the start and one at the end" : ""));
  for (int64_t x : v)
    if (x < lo)
      op_fail(n, "attribute '" + name + "' has entry " + std::to_string(x) + ", must be >= " + std::to_string(lo),
              "fix the attribute in the exporter");
  return v;
}

inline int64_t normalize_axis(const Node& n, int64_t axis, int64_t rank, const std::string& attr = "axis") {
  if (axis < -rank || axis >= rank)
    op_fail(n, "attribute '" + attr + "' = " + std::to_string(axis) + " is out of range for a rank-" + std::to_string(rank) + " input",
            "use an axis in [" + std::to_string(-rank) + ", " + std::to_string(rank - 1) + "]");
  return axis < 0 ? axis + rank : axis;
}

}  // namespace math
}  // namespace sf
