// The fast engine's kernels against naive loops on random shapes (K not a
// multiple of 64 or 512, ragged N, 1..8-bit operands) on every ISA path this
// CPU has, and one hand-built MatMul + MultiThreshold graph against the
// reference executor, batched and not.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "exec/engine/engine.h"
#include "exec/executor.h"
#include "ir/errors.h"

using namespace sf;
using namespace sf::engine;

namespace {

std::vector<int64_t> k_sizes() { return {1, 7, 63, 64, 65, 127, 200, 511, 512, 513, 784, 1000}; }

TEST(EngineKernels, PopcountGemmMatchesNaive) {
  std::mt19937_64 rng(42);
  for (Isa isa : available_isas())
    for (int64_t K : k_sizes())
      for (BitOp op : {BitOp::XOR, BitOp::AND}) {
        const int64_t M = 1 + (int64_t)(rng() % 5), N = 1 + (int64_t)(rng() % 37);
        std::vector<uint8_t> a((size_t)(M * K)), w((size_t)(K * N));
        for (auto& v : a) v = rng() & 1;
        for (auto& v : w) v = rng() & 1;
        PackedBits pw = pack_weight_bits(K, N, [&](int64_t k, int64_t n) { return w[(size_t)(k * N + n)] != 0; });
        std::vector<uint64_t> pa((size_t)(M * pw.words), 0);
        for (int64_t m = 0; m < M; ++m)
          for (int64_t k = 0; k < K; ++k)
            if (a[(size_t)(m * K + k)]) pa[(size_t)(m * pw.words + k / 64)] |= uint64_t(1) << (k % 64);
        std::vector<int32_t> acc((size_t)(M * N), -1);
        popcount_gemm(isa, op, pa.data(), pw, 0, M, 0, pw.blocks, acc.data(), N);
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n) {
            int32_t want = 0;
            for (int64_t k = 0; k < K; ++k) {
              const int x = a[(size_t)(m * K + k)], y = w[(size_t)(k * N + n)];
              want += op == BitOp::XOR ? (x ^ y) : (x & y);
            }
            ASSERT_EQ(acc[(size_t)(m * N + n)], want) << isa_name(isa) << " K=" << K << " N=" << N;
          }
      }
}

// Activation packing must agree bit for bit on every path, including ragged
// K, -0.0, and the rejection of values outside {lo, hi} (NaN included).
TEST(EngineKernels, PackRowBitsMatchesNaive) {
  std::mt19937_64 rng(7);
  for (Isa isa : available_isas())
    for (int64_t K : k_sizes())
      for (float lo : {0.0f, -1.0f})
        for (int bad = 0; bad < 3; ++bad) {
          std::vector<float> a((size_t)K);
          for (auto& v : a) v = (rng() & 1) ? 1.0f : (lo == 0.0f && (rng() & 1) ? -0.0f : lo);
          if (bad == 1) a[(size_t)(rng() % K)] = 0.5f;
          if (bad == 2) a[(size_t)(rng() % K)] = std::nanf("");
          const int64_t words = (K + 63) / 64;
          std::vector<uint64_t> got((size_t)words, ~uint64_t(0)), want((size_t)words, 0);
          for (int64_t k = 0; k < K; ++k)
            if (a[(size_t)k] > 0) want[(size_t)(k / 64)] |= uint64_t(1) << (k % 64);
          const bool ok = pack_row_bits(isa, a.data(), K, lo, 1.0f, got.data());
          ASSERT_EQ(ok, bad == 0) << isa_name(isa) << " K=" << K;
          if (ok) {
            ASSERT_EQ(got, want) << isa_name(isa) << " K=" << K;
          }
        }
}

TEST(EngineKernels, Int16GemmMatchesNaive) {
  std::mt19937_64 rng(7);
  for (Isa isa : available_isas())
    for (int64_t K : k_sizes())
      for (int bits = 1; bits <= 8; ++bits) {
        const bool a_signed = rng() & 1, w_signed = rng() & 1;
        auto draw = [&](bool sgn) {
          const int64_t lo = sgn ? -(int64_t(1) << (bits - 1)) : 0, hi = sgn ? (int64_t(1) << (bits - 1)) - 1
                                                                             : (int64_t(1) << bits) - 1;
          return (int16_t)(lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1)));
        };
        const int64_t M = 1 + (int64_t)(rng() % 4), N = 1 + (int64_t)(rng() % 40);
        std::vector<int16_t> a((size_t)(M * K)), w((size_t)(K * N));
        for (auto& v : a) v = draw(a_signed);
        for (auto& v : w) v = draw(w_signed);
        PackedI16 pw = pack_weight_i16(K, N, [&](int64_t k, int64_t n) { return w[(size_t)(k * N + n)]; });
        std::vector<int16_t> pa((size_t)(M * pw.Kp), 0);
        for (int64_t m = 0; m < M; ++m)
          for (int64_t k = 0; k < K; ++k) pa[(size_t)(m * pw.Kp + k)] = a[(size_t)(m * K + k)];
        std::vector<int32_t> acc((size_t)(M * N), -1);
        // Split the columns in two calls to exercise block ranges.
        const int64_t half = pw.blocks / 2;
        i16_gemm(isa, pa.data(), pw, 0, M, 0, half, acc.data(), N);
        i16_gemm(isa, pa.data(), pw, 0, M, half, pw.blocks, acc.data(), N);
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n) {
            int64_t want = 0;
            for (int64_t k = 0; k < K; ++k) want += (int64_t)a[(size_t)(m * K + k)] * w[(size_t)(k * N + n)];
            ASSERT_EQ(acc[(size_t)(m * N + n)], want) << isa_name(isa) << " K=" << K << " bits=" << bits;
          }
      }
}

TEST(EngineKernels, ParseIsa) {
  EXPECT_EQ(parse_isa("scalar"), Isa::SCALAR);
  EXPECT_EQ(parse_isa("auto"), best_isa());
  EXPECT_THROW(parse_isa("neon"), InputError);
}

// x (1, K) UINT4 -> MatMul(INT3 weights) -> MultiThreshold (per-channel, with
// fractional and NaN thresholds) -> out.
Model tiny_model(int64_t K, int64_t N, std::mt19937_64& rng) {
  Model m;
  m.set_opset_version("", 13);
  m.set_opset_version("qonnx.custom_op.general", 1);
  Graph& g = m.graph;
  ValueInfo in;
  in.name = "x";
  in.elem_type = ElemType::FLOAT;
  in.set_shape({1, K});
  g.inputs.push_back(in);
  ValueInfo out;
  out.name = "y";
  out.elem_type = ElemType::FLOAT;
  out.set_shape({1, N});
  g.outputs.push_back(out);
  std::vector<float> w((size_t)(K * N)), t((size_t)(N * 3));
  for (auto& v : w) v = (float)((int)(rng() % 8) - 4);
  for (size_t i = 0; i < t.size(); ++i) t[i] = (float)((int)(rng() % 200) - 100) + (i % 3 == 1 ? 0.5f : 0.f);
  t[4] = std::nanf("");
  g.set_initializer("w", Tensor::from_vector<float>({K, N}, w));
  g.set_initializer("t", Tensor::from_vector<float>({N, 3}, t));
  g.set_datatype("x", DataType::uint(4));
  g.set_datatype("w", DataType::sint(3));
  Node mm;
  mm.name = "mm";
  mm.op_type = "MatMul";
  mm.inputs = {"x", "w"};
  mm.outputs = {"acc"};
  Node mt;
  mt.name = "mt";
  mt.op_type = "MultiThreshold";
  mt.domain = "qonnx.custom_op.general";
  mt.inputs = {"acc", "t"};
  mt.outputs = {"y"};
  mt.set_float("out_scale", 2.0f);
  mt.set_float("out_bias", -3.0f);
  mt.set_string("data_layout", "NC");
  g.nodes = {mm, mt};
  return m;
}

TEST(Engine, MatMulThresholdEqualsReference) {
  std::mt19937_64 rng(3);
  const int64_t K = 70, N = 19, B = 5;
  Model m = tiny_model(K, N, rng);
  std::vector<float> x((size_t)(B * K));
  for (auto& v : x) v = (float)(rng() % 16);
  for (Isa isa : available_isas()) {
    EngineOptions o;
    o.isa = isa_name(isa);
    o.warn = false;
    Engine e(m, o);
    EXPECT_TRUE(e.fallback_nodes().empty());
    Tensor xb = Tensor::from_vector<float>({B, K}, x);
    const Tensor yb = e.run({{"x", xb}}).at("y");
    for (int64_t b = 0; b < B; ++b) {
      std::vector<float> row(x.begin() + b * K, x.begin() + (b + 1) * K);
      const Tensor ref = execute_model(m, {{"x", Tensor::from_vector<float>({1, K}, row)}}).at("y");
      for (int64_t n = 0; n < N; ++n)
        ASSERT_EQ(yb.data<float>()[b * N + n], ref.data<float>()[n]) << isa_name(isa) << " b=" << b << " n=" << n;
    }
  }
}

TEST(Engine, RejectsWrongInputs) {
  std::mt19937_64 rng(5);
  Model m = tiny_model(8, 4, rng);
  EngineOptions o;
  o.warn = false;
  Engine e(m, o);
  EXPECT_THROW(e.run({{"x", Tensor(ElemType::FLOAT, {1, 9})}}), InputError);
  EXPECT_THROW(e.run({{"z", Tensor(ElemType::FLOAT, {1, 8})}}), InputError);
  // 99 is no UINT4: the engine recomputes that layer like the reference does.
  Tensor bad = Tensor::from_vector<float>({1, 8}, {0, 1, 2, 3, 4, 5, 6, 99});
  const Tensor got = e.run({{"x", bad}}).at("y"), want = execute_model(m, {{"x", bad}}).at("y");
  for (int64_t n = 0; n < 4; ++n) EXPECT_EQ(got.data<float>()[n], want.data<float>()[n]);
}

}  // namespace
