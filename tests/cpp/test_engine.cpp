// The fast engine's kernels against naive loops on random shapes (K not a
// multiple of 64 or 512, ragged N, 1..8-bit operands) on every ISA path this
// CPU has, and hand-built graphs against the reference executor, batched and
// not: a MatMul + MultiThreshold with float output, a fused 255-threshold
// epilogue writing packed UINT8 that a byte GEMM reads, and standalone
// MultiThresholds on float NHWC input writing packed INT8 / UINT2 / BIPOLAR.
// (test_engine_packed.cpp fuzzes the packed kernels one by one.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
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

// ---- hand-built graphs on the packed paths ---------------------------------------

ValueInfo float_vi(const std::string& name, const Shape& shape) {
  ValueInfo v;
  v.name = name;
  v.elem_type = ElemType::FLOAT;
  v.set_shape(shape);
  return v;
}

Node make_node(const std::string& name, const std::string& op, std::vector<std::string> ins,
               std::vector<std::string> outs) {
  Node n;
  n.name = name;
  n.op_type = op;
  if (op == "MultiThreshold") n.domain = "qonnx.custom_op.general";
  n.inputs = std::move(ins);
  n.outputs = std::move(outs);
  return n;
}

Model empty_model() {
  Model m;
  m.set_opset_version("", 13);
  m.set_opset_version("qonnx.custom_op.general", 1);
  return m;
}

// One row of `steps` thresholds in the styles quantizers and odd models
// give: evenly spaced with a non-power-of-two step, the same with jitter,
// random, with NaNs (dropped by the plan) and +-inf, shuffled (the plan sorts).
std::vector<float> threshold_row(std::mt19937_64& rng, int steps, float lo, float hi) {
  std::vector<float> r((size_t)steps);
  const int style = (int)(rng() % 4);
  const float step = (hi - lo) / (float)steps * (0.5f + (float)(rng() % 100) / 100.0f);
  for (int k = 0; k < steps; ++k) {
    if (style == 3) r[(size_t)k] = lo + (hi - lo) * (float)(rng() % 10000) / 10000.0f;
    else r[(size_t)k] = lo + step * (float)k + (style == 2 && rng() % 3 == 0 ? step * 0.75f : 0.0f);
    if (style == 1) r[(size_t)k] = std::round(r[(size_t)k] * 4.0f) / 4.0f;
  }
  if (rng() % 4 == 0) r[(size_t)(rng() % steps)] = std::nanf("");
  if (rng() % 8 == 0) r[0] = -std::numeric_limits<float>::infinity();
  if (rng() % 8 == 0) r[(size_t)steps - 1] = std::numeric_limits<float>::infinity();
  if (rng() % 2) std::shuffle(r.begin(), r.end(), rng);
  return r;
}

// Every path's batched run equals the reference run image by image; `want`
// names plan lines that must be there (the path under test is planned).
void expect_engine_equals_reference(const Model& m, const std::string& in, const Shape& image_shape,
                                    const std::vector<float>& x, int64_t B, const std::vector<std::string>& want) {
  const int64_t per = shape_numel(image_shape);
  Shape bs = image_shape;
  bs[0] = B;
  std::vector<TensorMap> ref;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<float> image(x.begin() + b * per, x.begin() + (b + 1) * per);
    ref.push_back(execute_model(m, {{in, Tensor::from_vector<float>(image_shape, image)}}));
  }
  for (Isa isa : available_isas()) {
    EngineOptions o;
    o.isa = isa_name(isa);
    o.warn = false;
    Engine e(m, o);
    EXPECT_TRUE(e.fallback_nodes().empty()) << isa_name(isa);
    std::string plan;
    for (const auto& l : e.plan()) plan += l + "\n";
    for (const auto& w : want)
      EXPECT_NE(plan.find(w), std::string::npos) << isa_name(isa) << ": no '" << w << "' in\n" << plan;
    for (int64_t batch : {int64_t(1), B}) {
      Shape s = image_shape;
      s[0] = batch;
      const TensorMap got =
          e.run({{in, Tensor::from_vector<float>(s, std::vector<float>(x.begin(), x.begin() + batch * per))}});
      for (const auto& [name, r0] : ref[0]) {
        const Tensor& g = got.at(name);
        const int64_t n = r0.numel();
        ASSERT_EQ(g.numel(), n * batch) << name;
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t i = 0; i < n; ++i) {
            const float gv = g.data<float>()[b * n + i], rv = ref[(size_t)b].at(name).data<float>()[i];
            ASSERT_TRUE(gv == rv || (std::isnan(gv) && std::isnan(rv)))
                << isa_name(isa) << " batch=" << batch << " image " << b << " " << name << "[" << i << "]: " << gv
                << " != " << rv;
            ASSERT_EQ(std::signbit(gv), std::signbit(rv)) << isa_name(isa) << " " << name << "[" << i << "]";
          }
      }
    }
  }
}

// x (1, K) UINT4 -> MatMul (INT3) -> MultiThreshold with 255 thresholds per
// channel (fused, packed UINT8 output) -> MatMul (INT2) -> MultiThreshold
// with 20 thresholds (fused, float output) -> y. The 8-bit epilogue guesses
// counts from the threshold spacing; the second GEMM reads packed bytes.
TEST(Engine, ManyThresholdsFusedEqualsReference) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 3; ++trial) {
    const int64_t K = 37 + trial * 40, N1 = 70 + trial * 3, N2 = 9, B = 9;
    Model m = empty_model();
    Graph& g = m.graph;
    g.inputs.push_back(float_vi("x", {1, K}));
    g.outputs.push_back(float_vi("y", {1, N2}));
    g.value_info = {float_vi("a1", {1, N1}), float_vi("h", {1, N1}), float_vi("a2", {1, N2})};
    std::vector<float> w1((size_t)(K * N1)), w2((size_t)(N1 * N2)), t1, t2;
    for (auto& v : w1) v = (float)((int)(rng() % 8) - 4);
    for (auto& v : w2) v = (float)((int)(rng() % 4) - 2);
    // Thresholds around where the accumulators lie (x about 7.5, w1 about
    // -0.5, h about 127, w2 about -0.5 on average).
    const float mean1 = -3.75f * (float)K, span1 = 40.0f * std::sqrt((float)K);
    for (int64_t n = 0; n < N1; ++n) {
      auto r = threshold_row(rng, 255, mean1 - span1, mean1 + span1);
      t1.insert(t1.end(), r.begin(), r.end());
    }
    const float mean2 = -0.5f * 127.0f * (float)N1, span2 = 150.0f * std::sqrt((float)N1);
    for (int64_t n = 0; n < N2; ++n) {
      auto r = threshold_row(rng, 20, mean2 - span2, mean2 + span2);
      t2.insert(t2.end(), r.begin(), r.end());
    }
    g.set_initializer("w1", Tensor::from_vector<float>({K, N1}, w1));
    g.set_initializer("w2", Tensor::from_vector<float>({N1, N2}, w2));
    g.set_initializer("t1", Tensor::from_vector<float>({N1, 255}, t1));
    g.set_initializer("t2", Tensor::from_vector<float>({N2, 20}, t2));
    g.set_datatype("x", DataType::uint(4));
    g.set_datatype("w1", DataType::sint(3));
    g.set_datatype("h", DataType::uint(8));
    g.set_datatype("w2", DataType::sint(2));
    Node mt1 = make_node("mt1", "MultiThreshold", {"a1", "t1"}, {"h"});
    mt1.set_string("data_layout", "NC");
    Node mt2 = make_node("mt2", "MultiThreshold", {"a2", "t2"}, {"y"});
    mt2.set_string("data_layout", "NC");
    mt2.set_float("out_scale", -0.5f);
    mt2.set_float("out_bias", 3.0f);
    g.nodes = {make_node("mm1", "MatMul", {"x", "w1"}, {"a1"}), mt1, make_node("mm2", "MatMul", {"h", "w2"}, {"a2"}),
               mt2};
    std::vector<float> x((size_t)(B * K));
    for (auto& v : x) v = (float)(rng() % 16);
    // The thresholds bite: the outputs take several values.
    ExecOptions full;
    full.full_context = true;
    const std::vector<float> x0(x.begin(), x.begin() + K);
    const TensorMap ctx = execute_model(m, {{"x", Tensor::from_vector<float>({1, K}, x0)}}, full);
    const Tensor& y0 = ctx.at("y");
    const Tensor& h0 = ctx.at("h");
    std::vector<float> ys(y0.data<float>(), y0.data<float>() + N2), hs(h0.data<float>(), h0.data<float>() + N1);
    std::sort(ys.begin(), ys.end());
    std::sort(hs.begin(), hs.end());
    EXPECT_GE(std::unique(ys.begin(), ys.end()) - ys.begin(), 3);
    EXPECT_GE(std::unique(hs.begin(), hs.end()) - hs.begin(), 20);
    expect_engine_equals_reference(m, "x", {1, K}, x, B, {"+ mt1 -> packed UINT8", "+ mt2"});
  }
}

// A standalone MultiThreshold on float NHWC input (what quantizes a network's
// input) writing packed codes: 3 channels (the flat AVX-512 path), 20 and
// 130; 255 thresholds to INT8 bytes, 3 to UINT2 planes, 1 to BIPOLAR. NaN,
// +-inf and exact threshold values in the input.
TEST(Engine, StandaloneThresholdsEqualReference) {
  std::mt19937_64 rng(12);
  struct Case {
    int T;
    float scale, bias;
    DataType dt;
    const char* packed;
  };
  const Case cases[] = {{255, 1.0f, -128.0f, DataType::sint(8), "packed INT8"},
                        {3, 1.0f, 0.0f, DataType::uint(2), "packed UINT2"},
                        {1, 2.0f, -1.0f, DataType::bipolar(), "packed BIPOLAR"}};
  for (int64_t C : {3, 20, 130})
    for (const Case& c : cases) {
      const int64_t H = 3, W = 5, B = 4;
      Model m = empty_model();
      Graph& g = m.graph;
      g.inputs.push_back(float_vi("x", {1, H, W, C}));
      g.outputs.push_back(float_vi("y", {1, H, W, C}));
      std::vector<float> t;
      for (int64_t ch = 0; ch < C; ++ch) {
        auto r = threshold_row(rng, c.T, -1.0f, 1.0f);
        t.insert(t.end(), r.begin(), r.end());
      }
      g.set_initializer("t", Tensor::from_vector<float>({C, c.T}, t));
      g.set_datatype("y", c.dt);
      Node mt = make_node("mt", "MultiThreshold", {"x", "t"}, {"y"});
      mt.set_string("data_layout", "NHWC");
      mt.set_float("out_scale", c.scale);
      mt.set_float("out_bias", c.bias);
      g.nodes = {mt};
      std::vector<float> x((size_t)(B * H * W * C));
      for (size_t i = 0; i < x.size(); ++i) {
        const int pick = (int)(rng() % 12);
        const float th = t[(size_t)((int64_t)(i % (size_t)C) * c.T + (int64_t)(rng() % (uint64_t)c.T))];
        x[i] = pick == 0 ? std::nanf("") : pick == 1 ? ((rng() & 1) ? 1.0f : -1.0f) * INFINITY
               : pick < 5 ? th : pick == 5 ? std::nextafter(th, 0.0f)
                                            : -1.2f + 2.4f * (float)(rng() % 100000) / 100000.0f;
      }
      expect_engine_equals_reference(m, "x", {1, H, W, C}, x, B, {std::string("thresholds -> ") + c.packed});
    }
}

}  // namespace
