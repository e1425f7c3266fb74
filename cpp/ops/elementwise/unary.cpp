// One-input, shape-preserving ONNX math ops.
#include <cmath>
#include <type_traits>

#include "ops/elementwise/math_common.h"

namespace sf {
namespace {

enum class U {
  Relu, Sigmoid, Tanh, Sign, Neg, Abs, Sqrt, Exp, Log, Floor, Ceil, Round, Erf, Reciprocal, Softplus, Softsign
};

// Ops that make sense on integers; the rest are float-only in ONNX.
bool int_ok(U k) { return k == U::Relu || k == U::Sign || k == U::Neg || k == U::Abs; }

template <typename T>
T round_half_even(T x) {
  const T r = std::round(x);  // ties away from zero
  if (std::fabs(x - std::trunc(x)) == T(0.5)) return T(2) * std::round(x / T(2));
  return r;
}

template <typename T>
T apply(U k, T x) {
  if constexpr (std::is_integral_v<T>) {
    using UT = std::make_unsigned_t<T>;
    switch (k) {
      case U::Relu: return x > 0 ? x : T(0);
      case U::Sign: return T((x > 0) - (x < 0));
      case U::Neg: return T(UT(0) - UT(x));  // wraps INT_MIN like two's complement
      case U::Abs: return x < 0 ? T(UT(0) - UT(x)) : x;
      default: return x;  // unreachable: int_ok() gates integer inputs
    }
  } else {
    switch (k) {
      case U::Relu: return x > 0 ? x : T(0);
      case U::Sigmoid:
        // Split by sign so exp never overflows into inf/inf.
        if (x >= 0) return T(1) / (T(1) + std::exp(-x));
        else {
          const T e = std::exp(x);
          return e / (T(1) + e);
        }
      case U::Tanh: return std::tanh(x);
      case U::Sign: return T((x > 0) - (x < 0));
      case U::Neg: return -x;
      case U::Abs: return std::fabs(x);
      case U::Sqrt: return std::sqrt(x);
      case U::Exp: return std::exp(x);
      case U::Log: return std::log(x);
      case U::Floor: return std::floor(x);
      case U::Ceil: return std::ceil(x);
      case U::Round: return round_half_even(x);
      case U::Erf: return std::erf(x);
      case U::Reciprocal: return T(1) / x;
      case U::Softplus: return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
      case U::Softsign: return x / (T(1) + std::fabs(x));
    }
    return x;
  }
}

void exec_unary(ExecCtx& c, U k) {
  const Tensor& x = c.input(0);
  auto run = [&](auto tag) {
    using T = decltype(tag);
    Tensor out(x.type(), x.shape());
    const T* px = x.data<T>();
    T* po = out.data<T>();
    const int64_t n = x.numel();
    for (int64_t i = 0; i < n; ++i) po[i] = apply<T>(k, px[i]);
    math::set_output(c, 0, std::move(out));
  };
  if (int_ok(k)) math::dispatch_arith(x.type(), c.node, run);
  else math::dispatch_float(x.type(), c.node, run);
}

OpDef make_unary(const char* name, U k) {
  OpDef d;
  d.op_type = name;
  d.domain = OpDomain::ONNX;
  d.min_inputs = d.max_inputs = 1;
  d.infer_shape = [](InferCtx& c) { math::set_out_if(c, 0, c.in[0].elem_type, c.shape(0)); };
  if (k == U::Sign)
    d.infer_datatype = [](const DataTypeCtx& c) {
      std::vector<DataType> r = math::keep_or_float(c);
      if (!r.empty()) r[0] = DataType::bipolar();
      return r;
    };
  else
    d.infer_datatype = math::keep_or_float;
  d.execute = math::promote_f16([k](ExecCtx& c) { exec_unary(c, k); });
  return d;
}

OpDef make_not() {
  OpDef d;
  d.op_type = "Not";
  d.domain = OpDomain::ONNX;
  d.min_inputs = d.max_inputs = 1;
  d.infer_shape = [](InferCtx& c) { math::set_out_if(c, 0, ElemType::BOOL, c.shape(0)); };
  d.infer_datatype = math::keep_or_float;
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    if (x.type() != ElemType::BOOL) math::fail_elem_type(c.node, x.type(), "bool");
    Tensor out(ElemType::BOOL, x.shape());
    const bool* px = x.data<bool>();
    bool* po = out.data<bool>();
    for (int64_t i = 0; i < x.numel(); ++i) po[i] = !px[i];
    math::set_output(c, 0, std::move(out));
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(make_unary("Relu", U::Relu));
SF_REGISTER_OP(make_unary("Sigmoid", U::Sigmoid));
SF_REGISTER_OP(make_unary("Tanh", U::Tanh));
SF_REGISTER_OP(make_unary("Sign", U::Sign));
SF_REGISTER_OP(make_unary("Neg", U::Neg));
SF_REGISTER_OP(make_unary("Abs", U::Abs));
SF_REGISTER_OP(make_unary("Sqrt", U::Sqrt));
SF_REGISTER_OP(make_unary("Exp", U::Exp));
SF_REGISTER_OP(make_unary("Log", U::Log));
SF_REGISTER_OP(make_unary("Floor", U::Floor));
SF_REGISTER_OP(make_unary("Ceil", U::Ceil));
SF_REGISTER_OP(make_unary("Round", U::Round));
SF_REGISTER_OP(make_unary("Erf", U::Erf));
SF_REGISTER_OP(make_unary("Reciprocal", U::Reciprocal));
SF_REGISTER_OP(make_unary("Softplus", U::Softplus));
SF_REGISTER_OP(make_unary("Softsign", U::Softsign));
SF_REGISTER_OP(make_not());

}  // namespace sf
