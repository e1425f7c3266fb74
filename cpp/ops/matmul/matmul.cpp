// MatMul (NumPy semantics: batch broadcasting, 1-D operands) and Gemm. Both
// run on Eigen's blocked GEMM so the reference executor handles real CNNs.
#include <Eigen/Core>

#include "ops/elementwise/math_common.h"

namespace sf {
namespace {

using math::set_output;

template <typename T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// C (M x N) = op(A) * op(B), row-major; op transposes when asked.
template <typename T>
void gemm(const T* a, const T* b, T* c, int64_t m, int64_t k, int64_t n, bool ta, bool tb) {
  Eigen::Map<RowMat<T>> C(c, m, n);
  if (k == 0) {
    C.setZero();
    return;
  }
  Eigen::Map<const RowMat<T>> A(a, ta ? k : m, ta ? m : k);
  Eigen::Map<const RowMat<T>> B(b, tb ? n : k, tb ? k : n);
  if (!ta && !tb) C.noalias() = A * B;
  else if (ta && !tb) C.noalias() = A.transpose() * B;
  else if (!ta && tb) C.noalias() = A * B.transpose();
  else C.noalias() = A.transpose() * B.transpose();
}

// ---- MatMul -----------------------------------------------------------------

struct MatMulGeom {
  Shape batch_a, batch_b, batch, out;
  int64_t m = 0, k = 0, n = 0;
};

MatMulGeom matmul_geom(const Node& nd, const Shape& a, const Shape& b) {
  if (a.empty() || b.empty())
    op_fail(nd, "MatMul operands must have rank >= 1, got " + shape_str(a) + " and " + shape_str(b),
            "use Mul for scalar products");
  MatMulGeom g;
  const bool a1 = a.size() == 1, b1 = b.size() == 1;
  g.m = a1 ? 1 : a[a.size() - 2];
  g.k = a.back();
  const int64_t kb = b1 ? b[0] : b[b.size() - 2];
  g.n = b1 ? 1 : b.back();
  if (g.k != kb)
    op_fail(nd, "MatMul inner dimensions differ: A " + shape_str(a) + " has K=" + std::to_string(g.k) + ", B " +
                    shape_str(b) + " has K=" + std::to_string(kb),
            "A's last axis must equal B's second-to-last axis (its only axis when 1-D); check for a missing Transpose");
  if (!a1) g.batch_a.assign(a.begin(), a.end() - 2);
  if (!b1) g.batch_b.assign(b.begin(), b.end() - 2);
  g.batch = math::broadcast_or_fail(nd, {g.batch_a, g.batch_b});
  g.out = g.batch;
  if (!a1) g.out.push_back(g.m);
  if (!b1) g.out.push_back(g.n);
  return g;
}

template <typename T>
Tensor matmul_typed(const Node& nd, const Tensor& a, const Tensor& b) {
  const MatMulGeom g = matmul_geom(nd, a.shape(), b.shape());
  Tensor out(a.type(), g.out);
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* po = out.data<T>();
  if (out.numel() == 0) return out;
  const int64_t sa = g.m * g.k, sb = g.k * g.n, so = g.m * g.n;
  if (shape_numel(g.batch_b) == 1) {
    // B is shared by every batch entry: one tall GEMM instead of many small ones.
    gemm<T>(pa, pb, po, shape_numel(g.batch) * g.m, g.k, g.n, false, false);
    return out;
  }
  for_each_broadcast(g.batch, {g.batch_a, g.batch_b}, [&](int64_t i, const std::vector<int64_t>& off) {
    gemm<T>(pa + off[0] * sa, pb + off[1] * sb, po + i * so, g.m, g.k, g.n, false, false);
  });
  return out;
}

OpDef make_matmul() {
  OpDef d;
  d.op_type = "MatMul";
  d.domain = OpDomain::ONNX;
  d.min_inputs = d.max_inputs = 2;
  d.infer_shape = [](InferCtx& c) {
    math::set_out_if(c, 0, c.in[0].elem_type, matmul_geom(c.node, c.shape(0), c.shape(1)).out);
  };
  d.infer_datatype = [](const DataTypeCtx& c) { return math::mac_datatype(c, false); };
  d.execute = math::promote_f16([](ExecCtx& c) {
    const Tensor& a = c.input(0);
    const Tensor& b = c.input(1);
    math::require_same_type(c.node, a, b, 0, 1);
    math::dispatch_arith(a.type(), c.node, [&](auto tag) {
      using T = decltype(tag);
      set_output(c, 0, matmul_typed<T>(c.node, a, b));
    });
  });
  return d;
}

// ---- Gemm -------------------------------------------------------------------

struct GemmGeom {
  int64_t m, k, n;
};

GemmGeom gemm_geom(const Node& nd, const Shape& a, const Shape& b, const Shape* c) {
  const bool ta = nd.get_int("transA", 0) != 0, tb = nd.get_int("transB", 0) != 0;
  if (a.size() != 2 || b.size() != 2)
    op_fail(nd, "Gemm needs 2-D A and B, got " + shape_str(a) + " and " + shape_str(b),
            "Flatten or Reshape the operands to 2-D first, or use MatMul for batched products");
  GemmGeom g{ta ? a[1] : a[0], ta ? a[0] : a[1], tb ? b[0] : b[1]};
  const int64_t kb = tb ? b[1] : b[0];
  if (g.k != kb)
    op_fail(nd, "Gemm inner dimensions differ: op(A) is " + std::to_string(g.m) + "x" + std::to_string(g.k) +
                    " but op(B) is " + std::to_string(kb) + "x" + std::to_string(g.n) + " (transA=" +
                    std::to_string(ta) + ", transB=" + std::to_string(tb) + ")",
            "check the transA/transB attributes against the weight layout");
  if (c) {
    bool ok = c->size() <= 2;
    for (size_t i = 0; ok && i < c->size(); ++i) {
      const int64_t want = (c->size() - i == 1) ? g.n : g.m;
      ok = (*c)[i] == 1 || (*c)[i] == want;
    }
    if (!ok)
      op_fail(nd, "Gemm input C has shape " + shape_str(*c) + ", which does not broadcast to the output (" +
                      std::to_string(g.m) + ", " + std::to_string(g.n) + ")",
              "C must be a scalar, (N), (1, N), (M, 1) or (M, N)");
  }
  return g;
}

void validate_gemm(const Node& n) {
  for (const char* a : {"transA", "transB"}) {
    const int64_t v = n.get_int(a, 0);
    if (v != 0 && v != 1)
      op_fail(n, std::string("attribute '") + a + "' = " + std::to_string(v) + ", expected 0 or 1", "set it to 0 or 1");
  }
}

template <typename T>
void gemm_exec_typed(ExecCtx& c) {
  const Node& nd = c.node;
  const Tensor& a = c.input(0);
  const Tensor& b = c.input(1);
  const Tensor* cc = c.has_input(2) ? &c.input(2) : nullptr;
  const GemmGeom g = gemm_geom(nd, a.shape(), b.shape(), cc ? &cc->shape() : nullptr);
  const bool ta = nd.get_int("transA", 0) != 0, tb = nd.get_int("transB", 0) != 0;
  const double alpha = nd.get_float("alpha", 1.0f), beta = nd.get_float("beta", 1.0f);
  Tensor y(a.type(), {g.m, g.n});
  gemm<T>(a.data<T>(), b.data<T>(), y.data<T>(), g.m, g.k, g.n, ta, tb);
  T* py = y.data<T>();
  if (alpha != 1.0)
    for (int64_t i = 0; i < y.numel(); ++i) py[i] = (T)(alpha * py[i]);
  if (cc && beta != 0.0) {
    math::require_same_type(nd, a, *cc, 0, 2);
    const T tbeta = (T)beta;
    if (beta == 1.0) y = math::bmap2<T, T, T>(nd, y, *cc, [](T p, T q) { return (T)(p + q); });
    else if constexpr (std::is_integral_v<T>)
      y = math::bmap2<T, T, T>(nd, y, *cc, [beta](T p, T q) { return (T)(p + (T)(beta * q)); });
    else
      y = math::bmap2<T, T, T>(nd, y, *cc, [tbeta](T p, T q) { return (T)(p + tbeta * q); });
  }
  set_output(c, 0, std::move(y));
}

OpDef make_gemm() {
  OpDef d;
  d.op_type = "Gemm";
  d.domain = OpDomain::ONNX;
  d.min_inputs = 2;
  d.max_inputs = 3;
  d.validate = validate_gemm;
  d.infer_shape = [](InferCtx& c) {
    validate_gemm(c.node);
    Shape cs;
    const bool has_c = c.has_input(2);
    if (has_c) cs = c.shape(2);
    const GemmGeom g = gemm_geom(c.node, c.shape(0), c.shape(1), has_c ? &cs : nullptr);
    math::set_out_if(c, 0, c.in[0].elem_type, {g.m, g.n});
  };
  d.infer_datatype = [](const DataTypeCtx& c) { return math::mac_datatype(c, false); };
  d.execute = math::promote_f16([](ExecCtx& c) {
    validate_gemm(c.node);
    math::require_same_type(c.node, c.input(0), c.input(1), 0, 1);
    math::dispatch_arith(c.input(0).type(), c.node, [&](auto tag) { gemm_exec_typed<decltype(tag)>(c); });
  });
  return d;
}

}  // namespace

SF_REGISTER_OP(make_matmul());
SF_REGISTER_OP(make_gemm());

}  // namespace sf
