// FINN XnorPopcountMatMul: a binary matrix product where {0,1} encode
// bipolar {-1,+1}; each output counts the matching bit positions, i.e.
// (matmul(2a-1, 2b-1) + K) / 2. Counting directly keeps it exact in integers.
// Shapes follow np.matmul with b of rank 2 (K, N) or 1 (K,).
#include <algorithm>
#include <fmt/format.h>

#include "ops/op.h"

namespace sf {
namespace {

Shape xnor_out_shape(const Node& n, const Shape& a, const Shape& b) {
  if (a.empty() || b.empty() || b.size() > 2)
    op_fail(n, fmt::format("cannot multiply input 0 of shape {} by input 1 of shape {}", shape_str(a), shape_str(b)),
            "XnorPopcountMatMul takes (..., M, K) x (K, N) or (K,)");
  if (a.back() != b[0])
    op_fail(n,
            fmt::format("inner dimensions differ: input 0 {} has K = {}, input 1 {} has K = {}", shape_str(a),
                        a.back(), shape_str(b), b[0]),
            "the last axis of input 0 must match the first axis of input 1");
  Shape out(a.begin(), a.end() - 1);
  if (b.size() == 2) out.push_back(b[1]);
  return out;
}

std::vector<uint8_t> binary_bits(const Node& n, const Tensor& t, int idx) {
  const std::vector<double> v = t.to_double();
  std::vector<uint8_t> bits(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != 0.0 && v[i] != 1.0)
      op_fail(n, fmt::format("input {} holds {} at flat index {}, but must be BINARY (0 or 1)", idx, v[i], i),
              "XnorPopcountMatMul encodes bipolar values as 0/1; convert -1/+1 with (x+1)/2 first");
    bits[i] = (uint8_t)v[i];
  }
  return bits;
}

void xnor_execute(ExecCtx& c) {
  const Node& n = c.node;
  const Tensor& a = c.input(0);
  const Tensor& b = c.input(1);
  const Shape os = xnor_out_shape(n, a.shape(), b.shape());
  const std::vector<uint8_t> av = binary_bits(n, a, 0), bv = binary_bits(n, b, 1);
  const int64_t K = b.shape()[0];
  const int64_t N = b.shape().size() == 2 ? b.shape()[1] : 1;
  const int64_t rows = K == 0 ? shape_numel(os) / std::max<int64_t>(N, 1) : (int64_t)av.size() / K;
  Tensor out(ElemType::FLOAT, os);
  float* po = out.data<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < N; ++j) {
      int64_t match = 0;
      for (int64_t k = 0; k < K; ++k) match += av[r * K + k] == bv[k * N + j];
      po[r * N + j] = (float)match;
    }
  c.out.resize(1);
  c.out[0] = std::move(out);
}

OpDef make_xnorpopcount_def() {
  OpDef d;
  d.op_type = "XnorPopcountMatMul";
  d.domain = OpDomain::QONNX;
  d.min_inputs = 2;
  d.max_inputs = 2;
  d.infer_shape = [](InferCtx& c) { c.set_out(0, ElemType::FLOAT, xnor_out_shape(c.node, c.shape(0), c.shape(1))); };
  // Match counts are non-negative integers; qonnx assumes 32 bits.
  d.infer_datatype = [](const DataTypeCtx&) -> std::vector<DataType> { return {DataType::uint(32)}; };
  d.execute = xnor_execute;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_xnorpopcount_def());

}  // namespace sf
