// Broadcasting binary and variadic ONNX ops: arithmetic, Pow, Max/Min/Sum/Mean,
// comparisons, logic and Where.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "ops/elementwise/math_common.h"

namespace sf {
namespace {

using math::bmap2;
using math::dispatch_arith;
using math::dispatch_float;
using math::set_output;

constexpr size_t kVariadicMax = 1u << 20;

enum class Arith { Add, Sub, Mul, Div };

template <typename T>
T int_div(const Node& n, T a, T b) {
  if (b == 0)
    op_fail(n, "integer division by zero", "integer Div has no defined result for a zero divisor; check the divisor input");
  // INT_MIN / -1 traps on x86; the wrapped result is what two's complement gives.
  if (b == -1) return (T)(0 - (std::make_unsigned_t<T>)a);
  return a / b;
}

void exec_arith(ExecCtx& c, Arith op) {
  const Tensor& a = c.input(0);
  const Tensor& b = c.input(1);
  math::require_same_type(c.node, a, b, 0, 1);
  dispatch_arith(a.type(), c.node, [&](auto tag) {
    using T = decltype(tag);
    Tensor r;
    const Node& n = c.node;
    // Integer add/sub/mul wrap like onnxruntime's; doing it unsigned avoids UB.
    using U = std::conditional_t<std::is_integral_v<T>, std::make_unsigned_t<std::conditional_t<std::is_integral_v<T>, T, int>>, T>;
    switch (op) {
      case Arith::Add: r = bmap2<T, T, T>(n, a, b, [](T x, T y) { return (T)((U)x + (U)y); }); break;
      case Arith::Sub: r = bmap2<T, T, T>(n, a, b, [](T x, T y) { return (T)((U)x - (U)y); }); break;
      case Arith::Mul: r = bmap2<T, T, T>(n, a, b, [](T x, T y) { return (T)((U)x * (U)y); }); break;
      case Arith::Div:
        if constexpr (std::is_integral_v<T>) r = bmap2<T, T, T>(n, a, b, [&](T x, T y) { return int_div(n, x, y); });
        else r = bmap2<T, T, T>(n, a, b, [](T x, T y) { return x / y; });
        break;
    }
    set_output(c, 0, std::move(r));
  });
}

void infer_broadcast_same(InferCtx& c, ElemType out_type_override = ElemType::UNDEFINED) {
  std::vector<Shape> shapes;
  for (size_t i = 0; i < c.in.size(); ++i) shapes.push_back(c.shape(i));
  ElemType t = c.in.empty() ? ElemType::FLOAT : c.in[0].elem_type;
  if (out_type_override != ElemType::UNDEFINED) t = out_type_override;
  math::set_out_if(c, 0, t, math::broadcast_or_fail(c.node, shapes));
}

OpDef make_arith(const char* name, Arith op) {
  OpDef d;
  d.op_type = name;
  d.domain = OpDomain::ONNX;
  d.min_inputs = d.max_inputs = 2;
  d.infer_shape = [](InferCtx& c) { infer_broadcast_same(c); };
  const bool negates = op == Arith::Sub;
  if (op != Arith::Div) d.infer_datatype = [negates](const DataTypeCtx& c) { return math::mac_datatype(c, negates); };
  else d.infer_datatype = math::keep_or_float;
  d.execute = math::promote_f16([op](ExecCtx& c) { exec_arith(c, op); });
  return d;
}

template <typename T>
T pow_of(T base, double e) {
  if constexpr (std::is_integral_v<T>) {
    // Exact integer power for integral exponents: double loses bits past 2^53.
    if (e >= 0 && e == std::floor(e) && e < 64) {
      T r = 1, b = base;
      for (uint64_t k = (uint64_t)e; k; k >>= 1) {
        if (k & 1) r = (T)((std::make_unsigned_t<T>)r * (std::make_unsigned_t<T>)b);
        b = (T)((std::make_unsigned_t<T>)b * (std::make_unsigned_t<T>)b);
      }
      return r;
    }
    return (T)std::pow((double)base, e);
  } else {
    return (T)std::pow(base, (T)e);
  }
}

void exec_pow(ExecCtx& c) {
  const Tensor& a = c.input(0);
  const Tensor& b = c.input(1);
  dispatch_arith(a.type(), c.node, [&](auto tag) {
    using T = decltype(tag);
    dispatch_arith(b.type(), c.node, [&](auto etag) {
      using E = decltype(etag);
      set_output(c, 0, bmap2<T, T, E>(c.node, a, b, [](T x, E y) {
                   if constexpr (std::is_same_v<T, float> && std::is_same_v<E, float>) return std::pow(x, y);
                   else return pow_of<T>(x, (double)y);
                 }));
    });
  });
}

enum class Fold { Max, Min, Sum, Mean };

void exec_fold(ExecCtx& c, Fold op) {
  const Tensor& first = c.input(0);
  Tensor acc = first;
  auto body = [&](auto tag) {
    using T = decltype(tag);
    for (size_t i = 1; i < c.in.size(); ++i) {
      const Tensor& x = c.input(i);
      math::require_same_type(c.node, first, x, 0, i);
      switch (op) {
        case Fold::Max: acc = bmap2<T, T, T>(c.node, acc, x, [](T p, T q) { return p < q ? q : p; }); break;
        case Fold::Min: acc = bmap2<T, T, T>(c.node, acc, x, [](T p, T q) { return q < p ? q : p; }); break;
        case Fold::Sum:
        case Fold::Mean: acc = bmap2<T, T, T>(c.node, acc, x, [](T p, T q) { return (T)(p + q); }); break;
      }
    }
    if (op == Fold::Mean) {
      const T k = (T)c.in.size();
      acc = bmap2<T, T, T>(c.node, acc, Tensor::scalar<T>(k), [](T p, T q) { return p / q; });
    }
    // A single input is returned as is; give the caller its own buffer.
    set_output(c, 0, c.in.size() == 1 ? first.clone() : std::move(acc));
  };
  if (op == Fold::Mean) dispatch_float(first.type(), c.node, body);
  else dispatch_arith(first.type(), c.node, body);
}

OpDef make_fold(const char* name, Fold op) {
  OpDef d;
  d.op_type = name;
  d.domain = OpDomain::ONNX;
  d.min_inputs = 1;
  d.max_inputs = kVariadicMax;
  d.infer_shape = [](InferCtx& c) { infer_broadcast_same(c); };
  d.infer_datatype = math::keep_or_float;
  d.execute = math::promote_f16([op](ExecCtx& c) { exec_fold(c, op); });
  return d;
}

enum class Cmp { Eq, Lt, Gt, Le, Ge };

void exec_cmp(ExecCtx& c, Cmp op) {
  const Tensor& a = c.input(0);
  const Tensor& b = c.input(1);
  math::require_same_type(c.node, a, b, 0, 1);
  auto run = [&](auto tag) {
    using T = decltype(tag);
    Tensor r;
    const Node& n = c.node;
    switch (op) {
      case Cmp::Eq: r = bmap2<bool, T, T>(n, a, b, [](T x, T y) { return x == y; }); break;
      case Cmp::Lt: r = bmap2<bool, T, T>(n, a, b, [](T x, T y) { return x < y; }); break;
      case Cmp::Gt: r = bmap2<bool, T, T>(n, a, b, [](T x, T y) { return x > y; }); break;
      case Cmp::Le: r = bmap2<bool, T, T>(n, a, b, [](T x, T y) { return x <= y; }); break;
      case Cmp::Ge: r = bmap2<bool, T, T>(n, a, b, [](T x, T y) { return x >= y; }); break;
    }
    set_output(c, 0, std::move(r));
  };
  if (a.type() == ElemType::BOOL && op == Cmp::Eq) run(bool{});
  else dispatch_arith(a.type(), c.node, run);
}

OpDef make_cmp(const char* name, Cmp op) {
  OpDef d;
  d.op_type = name;
  d.domain = OpDomain::ONNX;
  d.min_inputs = d.max_inputs = 2;
  d.infer_shape = [](InferCtx& c) { infer_broadcast_same(c, ElemType::BOOL); };
  d.infer_datatype = math::keep_or_float;
  d.execute = math::promote_f16([op](ExecCtx& c) { exec_cmp(c, op); });
  return d;
}

enum class Logic { And, Or, Xor };

void exec_logic(ExecCtx& c, Logic op) {
  const Tensor& a = c.input(0);
  const Tensor& b = c.input(1);
  for (const Tensor* t : {&a, &b})
    if (t->type() != ElemType::BOOL) math::fail_elem_type(c.node, t->type(), "bool");
  Tensor r;
  switch (op) {
    case Logic::And: r = bmap2<bool, bool, bool>(c.node, a, b, [](bool x, bool y) { return x && y; }); break;
    case Logic::Or: r = bmap2<bool, bool, bool>(c.node, a, b, [](bool x, bool y) { return x || y; }); break;
    case Logic::Xor: r = bmap2<bool, bool, bool>(c.node, a, b, [](bool x, bool y) { return x != y; }); break;
  }
  set_output(c, 0, std::move(r));
}

OpDef make_logic(const char* name, Logic op) {
  OpDef d;
  d.op_type = name;
  d.domain = OpDomain::ONNX;
  d.min_inputs = d.max_inputs = 2;
  d.infer_shape = [](InferCtx& c) { infer_broadcast_same(c, ElemType::BOOL); };
  d.infer_datatype = math::keep_or_float;
  d.execute = [op](ExecCtx& c) { exec_logic(c, op); };
  return d;
}

// Where copies whole elements, so it works for every element type alike.
void exec_where(ExecCtx& c) {
  const Tensor& cond = c.input(0);
  const Tensor& x = c.input(1);
  const Tensor& y = c.input(2);
  if (cond.type() != ElemType::BOOL) math::fail_elem_type(c.node, cond.type(), "bool condition");
  math::require_same_type(c.node, x, y, 1, 2);
  const Shape s = math::broadcast_or_fail(c.node, {cond.shape(), x.shape(), y.shape()});
  Tensor out(x.type(), s);
  const size_t es = elem_size(x.type());
  const bool* pc = cond.data<bool>();
  const char* px = static_cast<const char*>(x.raw());
  const char* py = static_cast<const char*>(y.raw());
  char* po = static_cast<char*>(out.raw());
  for_each_broadcast(s, {cond.shape(), x.shape(), y.shape()}, [&](int64_t i, const std::vector<int64_t>& o) {
    std::memcpy(po + i * es, pc[o[0]] ? px + o[1] * es : py + o[2] * es, es);
  });
  set_output(c, 0, std::move(out));
}

OpDef make_where() {
  OpDef d;
  d.op_type = "Where";
  d.domain = OpDomain::ONNX;
  d.min_inputs = d.max_inputs = 3;
  d.infer_shape = [](InferCtx& c) {
    math::set_out_if(c, 0, c.in[1].elem_type, math::broadcast_or_fail(c.node, {c.shape(0), c.shape(1), c.shape(2)}));
  };
  d.infer_datatype = math::keep_or_float;
  d.execute = exec_where;
  return d;
}

OpDef make_pow() {
  OpDef d;
  d.op_type = "Pow";
  d.domain = OpDomain::ONNX;
  d.min_inputs = d.max_inputs = 2;
  d.infer_shape = [](InferCtx& c) { infer_broadcast_same(c); };
  d.infer_datatype = math::keep_or_float;
  d.execute = math::promote_f16(exec_pow);
  return d;
}

}  // namespace

SF_REGISTER_OP(make_arith("Add", Arith::Add));
SF_REGISTER_OP(make_arith("Sub", Arith::Sub));
SF_REGISTER_OP(make_arith("Mul", Arith::Mul));
SF_REGISTER_OP(make_arith("Div", Arith::Div));
SF_REGISTER_OP(make_pow());
SF_REGISTER_OP(make_fold("Max", Fold::Max));
SF_REGISTER_OP(make_fold("Min", Fold::Min));
SF_REGISTER_OP(make_fold("Sum", Fold::Sum));
SF_REGISTER_OP(make_fold("Mean", Fold::Mean));
SF_REGISTER_OP(make_cmp("Equal", Cmp::Eq));
SF_REGISTER_OP(make_cmp("Less", Cmp::Lt));
SF_REGISTER_OP(make_cmp("Greater", Cmp::Gt));
SF_REGISTER_OP(make_cmp("LessOrEqual", Cmp::Le));
SF_REGISTER_OP(make_cmp("GreaterOrEqual", Cmp::Ge));
SF_REGISTER_OP(make_logic("And", Logic::And));
SF_REGISTER_OP(make_logic("Or", Logic::Or));
SF_REGISTER_OP(make_logic("Xor", Logic::Xor));
SF_REGISTER_OP(make_where());

}  // namespace sf
