// The cleanup and QONNX->FINN passes on tiny hand-built graphs: each pass
// where it applies (and the function is unchanged, bit for bit where the pass
// claims it) and where it must refuse. tests/python/test_passes_*.py run the
// same passes on the zoo and on random Brevitas networks.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "exec/executor.h"
#include "exec/infer.h"
#include "passes/pass.h"
#include "passes/qonnx_to_finn/qonnx_to_finn.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

const char* kQ = "qonnx.custom_op.general";

Tensor f32(const Shape& s, const std::vector<float>& v) { return Tensor::from_vector<float>(s, v); }
Tensor sc(float v) { return Tensor::scalar<float>(v); }

// A small graph builder: one float input "x", outputs named explicitly.
struct G {
  Model m;
  explicit G(const Shape& x_shape) {
    m.opset_imports = {{"", 13}, {kQ, 1}};
    ValueInfo vi;
    vi.name = "x";
    vi.elem_type = ElemType::FLOAT;
    vi.set_shape(x_shape);
    m.graph.inputs.push_back(vi);
  }
  G& init(const std::string& n, const Tensor& t) {
    m.graph.set_initializer(n, t);
    return *this;
  }
  Node& node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
             const std::string& domain = "") {
    m.graph.nodes.push_back(make_node(op, in, out, op + "_" + std::to_string(m.graph.nodes.size()), domain));
    return m.graph.nodes.back();
  }
  Node& quant(const std::string& x, const std::string& out, const Tensor& s, float zp, float bits, int sgn, int narrow) {
    init(out + "_s", s).init(out + "_z", sc(zp)).init(out + "_b", sc(bits));
    Node& n = node("Quant", {x, out + "_s", out + "_z", out + "_b"}, {out}, kQ);
    n.set_int("signed", sgn);
    n.set_int("narrow", narrow);
    n.set_string("rounding_mode", "ROUND");
    return n;
  }
  G& output(const std::string& n) {
    ValueInfo vi;
    vi.name = n;
    vi.elem_type = ElemType::FLOAT;
    m.graph.outputs.push_back(vi);
    return *this;
  }
  Model done() {
    infer_shapes(m);
    return m;
  }
};

int count(const Model& m, const std::string& op) {
  int c = 0;
  for (const auto& n : m.graph.nodes) c += n.op_type == op;
  return c;
}

const Node* find_op(const Model& m, const std::string& op) {
  for (const auto& n : m.graph.nodes)
    if (n.op_type == op) return &n;
  return nullptr;
}

Tensor random_input(const Shape& s, float lo, float hi, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v((size_t)shape_numel(s));
  for (auto& e : v) e = u(rng);
  return f32(s, v);
}

std::vector<float> run(const Model& m, const Tensor& x) {
  TensorMap out = execute_model(m, {{"x", x}});
  return out.at(m.graph.outputs.at(0).name).to_float();
}

// Applies the pass; expects it to change the model and keep outputs equal
// (bit-exact unless tol > 0, then relative to the largest magnitude).
Model apply_checked(const Model& m, const std::string& pass, const Tensor& x, double tol = 0) {
  Model after = m;
  EXPECT_TRUE(apply_pass(after, pass)) << pass << " did not apply";
  const auto a = run(m, x), b = run(after, x);
  EXPECT_EQ(a.size(), b.size());
  double mag = 1;
  for (float v : a) mag = std::max(mag, (double)std::fabs(v));
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (tol == 0) EXPECT_EQ(a[i], b[i]) << pass << " changed output element " << i;
    else EXPECT_NEAR(a[i], b[i], tol * mag) << pass << " changed output element " << i;
  }
  return after;
}

bool refused(const std::string& node, const std::string& pass) {
  for (const auto& r : refusals_for(node))
    if (r.pass == pass) return true;
  return false;
}

// ---------------------------------------------------------------- cleanup

TEST(CleanupFoldConstants, FoldsChainsButNeverQuantizers) {
  G b({1, 3});
  b.init("w", f32({3, 2}, {1, 2, 3, 4, 5, 6})).init("perm_src", f32({2, 3}, {1, 1, 1, 2, 2, 2}));
  b.node("Transpose", {"perm_src"}, {"wt"});
  b.node("Add", {"w", "wt"}, {"w2"});
  b.quant("w2", "wq", sc(0.5f), 0, 4, 1, 0);
  b.node("MatMul", {"x", "wq"}, {"y"});
  Model m = b.output("y").done();
  Model after = apply_checked(m, "FoldConstants", random_input({1, 3}, -1, 1));
  EXPECT_EQ(count(after, "Transpose"), 0);
  EXPECT_EQ(count(after, "Add"), 0);
  EXPECT_EQ(count(after, "Quant"), 1) << "quantized weights are FoldQuantWeights' job";
  EXPECT_NE(after.graph.get_initializer("w2"), nullptr);
  EXPECT_FALSE(apply_pass(after, "FoldConstants"));
}

TEST(CleanupFoldConstants, ShapeOfKnownTensorAndGraphOutputsStay) {
  G b({2, 3});
  b.node("Shape", {"x"}, {"s"});
  b.node("Reshape", {"x", "s"}, {"y"});
  b.init("c", f32({1}, {2})).node("Neg", {"c"}, {"z"});
  Model m = b.output("y").output("z").done();
  Model after = apply_checked(m, "FoldConstants", random_input({2, 3}, -1, 1));
  EXPECT_EQ(count(after, "Shape"), 0);
  EXPECT_EQ(count(after, "Neg"), 1) << "a graph output stays computed";
}

TEST(CleanupNames, UniqueNodeNamesAndReadableTensorNames) {
  G b({1, 4});
  b.init("k", f32({1, 4}, {1, 2, 3, 4}));
  b.node("Mul", {"x", "k"}, {"a"}).name = "";
  b.node("Mul", {"a", "k"}, {"b"}).name = "dup";
  b.node("Relu", {"b"}, {"y"}).name = "dup";
  Model m = b.output("y").done();
  m.graph.set_datatype("a", DataType::sint(8));
  m.graph.set_datatype("k", DataType::uint(3));
  ASSERT_TRUE(apply_pass(m, "GiveUniqueNodeNames"));
  EXPECT_EQ(m.graph.nodes[0].name, "Mul_0");
  EXPECT_EQ(m.graph.nodes[1].name, "Mul_1");
  EXPECT_EQ(m.graph.nodes[2].name, "Relu_0");
  EXPECT_FALSE(apply_pass(m, "GiveUniqueNodeNames"));
  apply_pass(m, "GiveReadableTensorNames");
  const Graph& g = m.graph;
  EXPECT_EQ(g.inputs[0].name, "global_in");
  EXPECT_EQ(g.outputs[0].name, "global_out");
  EXPECT_EQ(g.nodes[0].inputs[0], "global_in");
  EXPECT_EQ(g.nodes[0].outputs[0], "Mul_0_out0");
  EXPECT_EQ(g.nodes[1].inputs[1], "Mul_1_param0") << "a shared parameter is named after its last reader";
  EXPECT_EQ(g.get_datatype("Mul_0_out0"), DataType::sint(8));
  EXPECT_EQ(g.get_datatype("Mul_1_param0"), DataType::uint(3));
  EXPECT_NE(g.find_value_info("Mul_0_out0"), nullptr);
  EXPECT_EQ(g.find_value_info("a"), nullptr);
  TensorMap out = execute_model(m, {{"global_in", random_input({1, 4}, -1, 1)}});
  EXPECT_EQ(out.count("global_out"), 1u);
}

TEST(CleanupNames, UniqueParameterTensorsSplitSharedInitializers) {
  G b({1, 2});
  b.init("k", f32({1, 2}, {2, 3}));
  b.node("Mul", {"x", "k"}, {"a"});
  b.node("Add", {"a", "k"}, {"y"});
  Model m = b.output("y").done();
  m.graph.set_datatype("k", DataType::uint(2));
  Model after = m;
  ASSERT_TRUE(apply_pass(after, "GiveUniqueParameterTensors"));
  const std::string k2 = after.graph.nodes[1].inputs[1];
  EXPECT_NE(k2, "k");
  EXPECT_EQ(after.graph.get_datatype(k2), DataType::uint(2));
  EXPECT_FALSE(apply_pass(after, "GiveUniqueParameterTensors"));
  const Tensor x = random_input({1, 2}, -1, 1);
  EXPECT_EQ(run(m, x), run(after, x));
}

TEST(CleanupRemoveIdentityOps, RemovesExactIdentities) {
  G b({2, 3});
  b.init("one", f32({3}, {1, 1, 1})).init("zero", sc(0)).init("shape", Tensor::from_vector<int64_t>({2}, {0, -1}));
  b.init("pads", Tensor::from_vector<int64_t>({4}, {0, 0, 0, 0}));
  b.node("Identity", {"x"}, {"a"});
  b.node("Mul", {"one", "a"}, {"c"});
  b.node("Add", {"c", "zero"}, {"d"});
  b.node("Div", {"d", "one"}, {"e"});
  b.node("Sub", {"e", "zero"}, {"f"});
  b.node("Reshape", {"f", "shape"}, {"g"});
  b.node("Pad", {"g", "pads"}, {"h"});
  b.node("Dropout", {"h"}, {"i"});
  b.node("Relu", {"i"}, {"y"});
  Model m = b.output("y").done();
  Model after = m;
  while (apply_pass(after, "RemoveIdentityOps")) {
  }
  EXPECT_EQ(after.graph.nodes.size(), 1u);
  const Tensor x = random_input({2, 3}, -1, 1);
  EXPECT_EQ(run(m, x), run(after, x));
}

TEST(CleanupRemoveIdentityOps, KeepsWhatIsNoIdentity) {
  G b({2, 1});
  b.init("one3", f32({1, 3}, {1, 1, 1})).init("almost", sc(1.0001f)).init("zero", sc(0));
  b.node("Mul", {"x", "one3"}, {"a"});  // broadcasts (2,1) to (2,3)
  b.node("Mul", {"a", "almost"}, {"c"});
  b.node("Sub", {"zero", "c"}, {"d"});  // 0 - x is no identity
  b.node("Identity", {"x"}, {"y2"});    // graph input straight to a graph output
  Model m = b.output("d").output("y2").done();
  EXPECT_FALSE(apply_pass(m, "RemoveIdentityOps"));
}

TEST(CleanupTidy, UnusedTensorsStaticInputsAndSort) {
  G b({1, 2});
  b.init("k", f32({1, 2}, {1, 2})).init("unused", sc(3));
  ValueInfo vi;
  vi.name = "k";
  vi.elem_type = ElemType::FLOAT;
  vi.set_shape({1, 2});
  b.m.graph.inputs.push_back(vi);
  b.node("Relu", {"a"}, {"y"});
  b.node("Mul", {"x", "k"}, {"a"});  // out of order on purpose
  b.output("y");
  Model m = b.m;
  EXPECT_TRUE(apply_pass(m, "RemoveUnusedTensors"));
  EXPECT_EQ(m.graph.get_initializer("unused"), nullptr);
  EXPECT_TRUE(apply_pass(m, "RemoveStaticGraphInputs"));
  EXPECT_EQ(m.graph.inputs.size(), 1u);
  EXPECT_NE(m.graph.find_value_info("k"), nullptr);
  EXPECT_TRUE(apply_pass(m, "SortGraph"));
  EXPECT_EQ(m.graph.nodes[0].op_type, "Mul");
  EXPECT_FALSE(apply_pass(m, "SortGraph"));
}

TEST(CleanupGemmToMatMul, AllAttributesAndAQuantizedTransposedWeight) {
  G b({3, 2});
  b.init("c", f32({4}, {0.5f, -1, 2, 0.25f}));
  b.quant("w", "wq", f32({4, 1}, {0.1f, 0.2f, 0.3f, 0.4f}), 0, 4, 1, 0);
  b.init("w", random_input({4, 3}, -1, 1, 7));
  Node& gemm = b.node("Gemm", {"x", "wq", "c"}, {"y"});
  gemm.set_int("transA", 1);
  gemm.set_int("transB", 1);
  gemm.set_float("alpha", 0.75f);
  gemm.set_float("beta", 1.5f);
  Model m = b.output("y").done();
  Model after = apply_checked(m, "GemmToMatMul", random_input({3, 2}, -1, 1), 1e-6);
  EXPECT_EQ(count(after, "Gemm"), 0);
  EXPECT_EQ(count(after, "MatMul"), 1);
  EXPECT_EQ(count(after, "Transpose"), 1) << "only A needs a Transpose node";
  const Node* q = find_op(after, "Quant");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(after.graph.get_initializer(q->inputs[0])->shape(), (Shape{3, 4}));
  EXPECT_EQ(after.graph.get_initializer(q->inputs[1])->shape(), (Shape{1, 4}));
}

TEST(CleanupGemmToMatMul, PlainGemmIsExact) {
  G b({2, 3});
  b.init("w", random_input({3, 4}, -1, 1, 3)).init("c", random_input({1, 4}, -1, 1, 4));
  b.node("Gemm", {"x", "w", "c"}, {"y"});
  Model m = b.output("y").done();
  Model after = apply_checked(m, "GemmToMatMul", random_input({2, 3}, -1, 1));
  EXPECT_EQ(count(after, "Mul"), 0);
  EXPECT_EQ(count(after, "Add"), 1);
}

TEST(CleanupExtractBiasFromConv, BiasBecomesExactAdd) {
  G b({1, 2, 5, 5});
  b.init("w", random_input({3, 2, 3, 3}, -1, 1, 5)).init("bias", f32({3}, {0.1f, -0.2f, 0.3f}));
  b.node("Conv", {"x", "w", "bias"}, {"y"}).set_ints("kernel_shape", {3, 3});
  Model m = b.output("y").done();
  Model after = apply_checked(m, "ExtractBiasFromConv", random_input({1, 2, 5, 5}, -1, 1));
  const Node* add = find_op(after, "Add");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(after.graph.get_initializer(add->inputs[1])->shape(), (Shape{1, 3, 1, 1}));
  EXPECT_EQ(find_op(after, "Conv")->inputs.size(), 2u);
}

// ---------------------------------------------------------------- QONNX -> FINN

TEST(QonnxToFinnFoldTransposeIntoQuantInit, PermutesDataAndPerChannelScale) {
  G b({1, 3});
  b.init("w", random_input({4, 3}, -1, 1, 9));
  b.quant("w", "wq", f32({4, 1}, {0.1f, 0.2f, 0.15f, 0.05f}), 0, 3, 1, 1);
  b.node("Transpose", {"wq"}, {"wt"});
  b.node("MatMul", {"x", "wt"}, {"y"});
  Model m = b.output("y").done();
  Model after = apply_checked(m, "FoldTransposeIntoQuantInit", random_input({1, 3}, -1, 1));
  EXPECT_EQ(count(after, "Transpose"), 0);
  EXPECT_EQ(count(after, "Quant"), 1);
  EXPECT_EQ(after.graph.get_initializer(find_op(after, "Quant")->inputs[1])->shape(), (Shape{1, 4}));
}

TEST(QonnxToFinnFoldQuantWeights, ConvPerChannelScaleMovesBehindConv) {
  G b({1, 2, 4, 4});
  b.init("w", random_input({3, 2, 3, 3}, -1, 1, 11)).init("bias", f32({3}, {0.5f, -0.5f, 0.25f}));
  b.quant("w", "wq", f32({3, 1, 1, 1}, {0.125f, 0.25f, 0.2f}), 0, 4, 1, 1);
  b.node("Conv", {"x", "wq", "bias"}, {"y"}).set_ints("pads", {1, 1, 1, 1});
  Model m = b.output("y").done();
  Model after = apply_checked(m, "FoldQuantWeights", random_input({1, 2, 4, 4}, -1, 1), 1e-6);
  EXPECT_EQ(count(after, "Quant"), 0);
  const Node* conv = find_op(after, "Conv");
  EXPECT_EQ(conv->inputs.size(), 2u) << "the bias moves behind the rescaling";
  EXPECT_EQ(after.graph.get_datatype(conv->inputs[1]), DataType::sint(4));
  for (double v : after.graph.get_initializer(conv->inputs[1])->to_double()) {
    EXPECT_EQ(v, std::round(v));
    EXPECT_LE(std::fabs(v), 7);
  }
  const Node* mul = find_op(after, "Mul");
  ASSERT_NE(mul, nullptr);
  EXPECT_EQ(after.graph.get_initializer(mul->inputs[1])->shape(), (Shape{1, 3, 1, 1}));
  EXPECT_EQ(count(after, "Add"), 1);
}

TEST(QonnxToFinnFoldQuantWeights, UnitScaleZeroPointAndBipolar) {
  G b({1, 3});
  b.init("w1", random_input({3, 3}, -3, 3, 2)).init("w2", random_input({3, 3}, -1, 1, 3));
  b.quant("w1", "q1", sc(1.0f), 2, 3, 0, 0);  // unsigned 3 bits, zero point 2 -> integers -2..5
  b.node("MatMul", {"x", "q1"}, {"a"});
  b.init("w2s", f32({1, 3}, {0.5f, 0.25f, 2.0f}));
  b.node("BipolarQuant", {"w2", "w2s"}, {"q2"}, kQ);
  b.node("MatMul", {"a", "q2"}, {"y"});
  Model m = b.output("y").done();
  Model after = m;
  while (apply_pass(after, "FoldQuantWeights")) {
  }
  const Tensor x = random_input({1, 3}, -1, 1);
  const auto ya = run(m, x), yb = run(after, x);
  for (size_t i = 0; i < ya.size(); ++i) EXPECT_NEAR(ya[i], yb[i], 1e-5);
  EXPECT_EQ(count(after, "Quant") + count(after, "BipolarQuant"), 0);
  EXPECT_EQ(count(after, "Mul"), 1) << "unit scale adds no Mul";
  EXPECT_EQ(after.graph.get_datatype("q1"), DataType::sint(4));  // [-2, 5]
  EXPECT_EQ(after.graph.get_datatype("q2"), DataType::bipolar());
  for (double v : after.graph.get_initializer("q2")->to_double()) EXPECT_TRUE(v == 1 || v == -1);
}

TEST(QonnxToFinnFoldQuantWeights, RefusesWhatItCannotDoExactly) {
  clear_refusals();
  G b({1, 2, 3, 3});
  b.init("w", random_input({2, 2, 1, 1}, -1, 1, 4));
  // per-input-channel scale cannot move behind the Conv
  b.quant("w", "wq", f32({1, 2, 1, 1}, {0.1f, 0.2f}), 0, 4, 1, 0).name = "Qw";
  b.node("Conv", {"x", "wq"}, {"a"});
  b.init("v", random_input({2, 3}, -1, 1, 6));
  b.quant("v", "vq", sc(0.1f), 0.5f, 4, 1, 0).name = "Qv";  // fractional zero point
  b.node("Reshape", {"a", "shp"}, {"a2"});
  b.init("shp", Tensor::from_vector<int64_t>({2}, {9, 2}));
  b.node("MatMul", {"a2", "vq"}, {"y"});
  Model m = b.output("y").done();
  EXPECT_FALSE(apply_pass(m, "FoldQuantWeights"));
  EXPECT_TRUE(refused("Qw", "FoldQuantWeights"));
  EXPECT_TRUE(refused("Qv", "FoldQuantWeights"));
}

TEST(QonnxToFinnThresholds, ExactThresholdsFindEveryStep) {
  // round-half-even of x / 0.1 clamped to [0, 15]
  auto level = [](float x) {
    float y = x / 0.1f;
    y = std::min(std::max(y, 0.f), 15.f);
    return (double)std::nearbyint(y);
  };
  const auto t = exact_thresholds(level, 0, 15);
  ASSERT_EQ(t.size(), 15u);
  for (size_t j = 0; j < t.size(); ++j) {
    EXPECT_EQ(level(t[j]), (double)(j + 1));
    EXPECT_LT(level(std::nextafter(t[j], -1.f)), (double)(j + 1));
    EXPECT_NEAR(t[j], 0.1 * (j + 0.5), 1e-6);
  }
}

// Quant(act) -> MultiThreshold must agree on every float near every step.
void expect_exact_on_steps(const Model& m, const Model& after, const Shape& shape) {
  std::vector<float> xs;
  const Node* mt = find_op(after, "MultiThreshold");
  ASSERT_NE(mt, nullptr);
  for (double t : after.graph.get_initializer(mt->inputs[1])->to_double())
    for (float x = std::nextafter(std::nextafter((float)t, -1e9f), -1e9f), k = 0; k < 5; ++k, x = std::nextafter(x, 1e9f))
      xs.push_back(x);
  const int64_t n = shape_numel(shape);
  for (size_t i = 0; i < xs.size(); i += (size_t)n) {
    std::vector<float> chunk(xs.begin() + i, xs.begin() + std::min(xs.size(), i + (size_t)n));
    chunk.resize((size_t)n, 0.f);
    const Tensor x = f32(shape, chunk);
    ASSERT_EQ(run(m, x), run(after, x)) << "near a threshold";
  }
}

TEST(QonnxToFinnQuantAct, ReluCaseAbsorbsReluNoAdd) {
  G b({1, 3});
  b.node("Relu", {"x"}, {"r"});
  b.quant("r", "y", sc(0.1f), 0, 4, 0, 0);
  Model m = b.output("y").done();
  Model after = apply_checked(m, "ConvertQuantActToMultiThreshold", random_input({1, 3}, -2, 2));
  EXPECT_EQ(count(after, "Relu"), 0);
  EXPECT_EQ(count(after, "Add"), 0);
  EXPECT_EQ(count(after, "Mul"), 1);
  const Node* mt = find_op(after, "MultiThreshold");
  EXPECT_EQ(mt->get_string("out_dtype"), "UINT4");
  EXPECT_EQ(mt->inputs[0], "x");
  EXPECT_EQ(after.graph.get_initializer(mt->inputs[1])->shape(), (Shape{1, 15}));
  EXPECT_EQ(after.graph.get_datatype(mt->outputs[0]), DataType::uint(4));
  expect_exact_on_steps(m, after, {1, 3});
}

TEST(QonnxToFinnQuantAct, IdentityCaseSignedNarrowAndNot) {
  for (int narrow : {0, 1}) {
    G b({1, 4});
    b.quant("x", "y", sc(0.25f), 0, 3, 1, narrow);
    Model m = b.output("y").done();
    Model after = apply_checked(m, "ConvertQuantActToMultiThreshold", random_input({1, 4}, -2, 2));
    const Node* mt = find_op(after, "MultiThreshold");
    EXPECT_EQ(mt->get_string("out_dtype"), "INT3");
    EXPECT_EQ(after.graph.get_initializer(mt->inputs[1])->shape(), (Shape{1, narrow ? 6 : 7}));
    const Node* add = find_op(after, "Add");
    ASSERT_NE(add, nullptr);
    EXPECT_EQ(after.graph.get_initializer(add->inputs[1])->item_double(), narrow ? -3.0 : -4.0);
    expect_exact_on_steps(m, after, {1, 4});
  }
}

TEST(QonnxToFinnQuantAct, PerChannelScaleGivesRowsPerChannel) {
  G b({1, 3, 2, 2});
  b.quant("x", "y", f32({1, 3, 1, 1}, {0.1f, 0.3f, 0.7f}), 0, 2, 1, 0);
  Model m = b.output("y").done();
  Model after = apply_checked(m, "ConvertQuantActToMultiThreshold", random_input({1, 3, 2, 2}, -2, 2));
  const Node* mt = find_op(after, "MultiThreshold");
  EXPECT_EQ(after.graph.get_initializer(mt->inputs[1])->shape(), (Shape{3, 3}));
  EXPECT_EQ(after.graph.get_initializer(find_op(after, "Mul")->inputs[1])->shape(), (Shape{1, 3, 1, 1}));
}

TEST(QonnxToFinnQuantAct, BipolarBecomesOneThreshold) {
  G b({1, 5});
  b.init("s", sc(1.0f));
  b.node("BipolarQuant", {"x", "s"}, {"y"}, kQ);
  Model m = b.output("y").done();
  Model after = apply_checked(m, "ConvertQuantActToMultiThreshold", f32({1, 5}, {-1, -0.f, 0, 1e-30f, 3}));
  ASSERT_EQ(after.graph.nodes.size(), 1u) << "unit scale: no Add, no Mul";
  const Node& mt = after.graph.nodes[0];
  EXPECT_EQ(mt.get_float("out_scale"), 2.0f);
  EXPECT_EQ(mt.get_float("out_bias"), -1.0f);
  EXPECT_EQ(mt.get_string("out_dtype"), "BIPOLAR");
  EXPECT_EQ(after.graph.get_initializer(mt.inputs[1])->to_double(), std::vector<double>{0.0});
}

TEST(QonnxToFinnQuantAct, RefusesWideAndNonConstant) {
  clear_refusals();
  G b({1, 2});
  b.quant("x", "a", sc(0.1f), 0, 9, 1, 0).name = "Wide";
  b.init("s2", sc(0.5f)).init("z2", sc(0)).init("b2", sc(4));
  b.node("Mul", {"s2", "s2"}, {"dyn_s"});
  b.node("Quant", {"a", "dyn_s", "z2", "b2"}, {"y"}, kQ).name = "Dyn";
  Model m = b.output("y").done();
  EXPECT_FALSE(apply_pass(m, "ConvertQuantActToMultiThreshold"));
  EXPECT_TRUE(refused("Wide", "ConvertQuantActToMultiThreshold"));
  EXPECT_TRUE(refused("Dyn", "ConvertQuantActToMultiThreshold"));
  QuantActOptions wide;
  wide.max_bits = 9;
  EXPECT_TRUE(convert_quant_act_to_multithreshold(m, wide));
}

TEST(QonnxToFinnAvgPool, TruncAvgPoolBecomesQuantAvgPool) {
  G b({1, 2, 4, 4});
  b.quant("x", "q", sc(0.5f), 0, 4, 1, 0);
  Node& pool = b.node("AveragePool", {"q"}, {"p"});
  pool.set_ints("kernel_shape", {2, 2});
  pool.set_ints("strides", {2, 2});
  // Brevitas 0.13 TruncAvgPool2d: Trunc v2 on the average, scale = s / k^2
  b.init("ts", sc(0.125f)).init("tz", sc(0)).init("tib", sc(8)).init("tos", sc(0.125f)).init("tob", sc(8));
  Node& t = b.node("Trunc", {"p", "ts", "tz", "tib", "tos", "tob"}, {"y"}, kQ);
  t.set_string("rounding_mode", "ROUND");
  Model m = b.output("y").done();
  Model conv = m;
  ASSERT_TRUE(apply_pass(conv, "ConvertQuantActToMultiThreshold"));
  Model after = apply_checked(conv, "AvgPoolAndTruncToQuantAvgPool", random_input({1, 2, 4, 4}, -5, 5));
  EXPECT_EQ(count(after, "Trunc") + count(after, "AveragePool"), 0);
  const Node* qap = find_op(after, "QuantAvgPool2d");
  ASSERT_NE(qap, nullptr);
  EXPECT_EQ(qap->get_int("signed"), 1);
  EXPECT_EQ(qap->get_int("kernel"), 2);
}

TEST(QonnxToFinnAvgPool, RefusesRoundingAShiftedSum) {
  clear_refusals();
  G b({1, 1, 4, 4});
  b.quant("x", "q", sc(0.5f), 0, 4, 1, 0);
  b.node("AveragePool", {"q"}, {"p"}).set_ints("kernel_shape", {2, 2});
  b.init("ts", sc(0.125f)).init("tz", sc(0)).init("tib", sc(8)).init("tos", sc(0.5f)).init("tob", sc(6));
  b.node("Trunc", {"p", "ts", "tz", "tib", "tos", "tob"}, {"y"}, kQ).set_string("rounding_mode", "ROUND");
  Model m = b.output("y").done();
  EXPECT_FALSE(apply_pass(m, "AvgPoolAndTruncToQuantAvgPool"));
}

TEST(QonnxToFinnRemoveEmptyPadding, ZeroPadsGoNonZeroStay) {
  G b({1, 1, 2, 2});
  b.init("p0", Tensor::from_vector<int64_t>({8}, {0, 0, 0, 0, 0, 0, 0, 0}));
  b.init("p1", Tensor::from_vector<int64_t>({8}, {0, 0, 1, 1, 0, 0, 1, 1}));
  b.node("Pad", {"x", "p0"}, {"a"});
  b.node("Pad", {"a", "p1"}, {"y"});
  Model m = b.output("y").done();
  Model after = apply_checked(m, "RemoveEmptyPadding", random_input({1, 1, 2, 2}, -1, 1));
  EXPECT_EQ(count(after, "Pad"), 1);
  EXPECT_FALSE(apply_pass(after, "RemoveEmptyPadding"));
}

}  // namespace
}  // namespace sf
