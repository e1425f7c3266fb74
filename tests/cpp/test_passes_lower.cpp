// Lowering passes (cpp/passes/lower/): each pass on tiny hand-built graphs,
// positive and negative. Positive cases check the rewritten structure and
// that the function is bit-identical on random integer-valued inputs.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "exec/executor.h"
#include "exec/infer.h"
#include "ir/graph.h"
#include "passes/pass.h"

using namespace sf;

namespace {

constexpr const char* QD = "qonnx.custom_op.general";

struct Builder {
  Model m;
  Builder() {
    m.set_opset_version("", 13);
    m.set_opset_version(QD, 1);
  }
  Builder& input(const std::string& n, const Shape& s, const std::string& dt = "") {
    ValueInfo vi;
    vi.name = n;
    vi.elem_type = ElemType::FLOAT;
    vi.set_shape(s);
    m.graph.inputs.push_back(vi);
    if (!dt.empty()) m.graph.set_datatype(n, DataType::from_name(dt));
    return *this;
  }
  Builder& output(const std::string& n) {
    ValueInfo vi;
    vi.name = n;
    vi.elem_type = ElemType::FLOAT;
    m.graph.outputs.push_back(vi);
    return *this;
  }
  Builder& init(const std::string& n, const Tensor& t, const std::string& dt = "") {
    m.graph.set_initializer(n, t);
    if (!dt.empty()) m.graph.set_datatype(n, DataType::from_name(dt));
    return *this;
  }
  Node& node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
             const std::string& domain = "") {
    Node n;
    n.op_type = op;
    n.domain = domain;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    n.name = op + "_" + std::to_string(m.graph.nodes.size());
    m.graph.nodes.push_back(n);
    return m.graph.nodes.back();
  }
  Model done() {
    infer_shapes(m);
    return m;
  }
};

// Integers in [lo, hi], float32, reproducible.
Tensor rand_int(const Shape& s, int lo, int hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<float> v((size_t)shape_numel(s));
  for (auto& x : v) x = (float)d(rng);
  return Tensor::from_vector<float>(s, v);
}

Tensor bipolar(const Shape& s, unsigned seed) {
  Tensor t = rand_int(s, 0, 1, seed);
  std::vector<float> v = t.to_float();
  for (auto& x : v) x = 2 * x - 1;
  return Tensor::from_vector<float>(s, v);
}

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

// Applies `pass` to a copy; expects a change (or none) and the same outputs,
// compared bit for bit, on every input set.
Model apply_and_check(const Model& m, const std::string& pass, const std::vector<TensorMap>& inputs,
                      bool expect_change = true) {
  Model after = m;
  EXPECT_EQ(apply_pass(after, pass), expect_change) << pass;
  for (const auto& in : inputs) {
    TensorMap a = execute_model(m, in), b = execute_model(after, in);
    for (size_t i = 0; i < m.graph.outputs.size(); ++i) {
      const Tensor& ta = a.at(m.graph.outputs[i].name);
      const Tensor& tb = b.at(after.graph.outputs[i].name);
      EXPECT_EQ(ta.shape(), tb.shape()) << pass;
      if (ta.shape() != tb.shape()) continue;
      EXPECT_EQ(ta.to_double(), tb.to_double()) << pass << " output " << i;
    }
  }
  infer_shapes(after);  // the rewritten graph is still well formed
  return after;
}

Model conv_model(const Shape& x, const Shape& w, std::vector<std::pair<std::string, std::vector<int64_t>>> attrs,
                 int64_t group = 1, bool bias = false, const std::string& in_dt = "INT4") {
  Builder b;
  b.input("x", x, in_dt).output("y").init("W", rand_int(w, -3, 3, 7), "INT3");
  std::vector<std::string> ins = {"x", "W"};
  if (bias) {
    b.init("B", rand_int({w[0]}, -5, 5, 8), "INT4");
    ins.push_back("B");
  }
  Node& c = b.node("Conv", ins, {"y"});
  for (auto& [k, v] : attrs) c.set_ints(k, v);
  if (group != 1) c.set_int("group", group);
  return b.done();
}

}  // namespace

// ---- LowerConvsToMatMul -------------------------------------------------------

TEST(LowerConvs, PaddedStridedConvBecomesIm2ColMatMul) {
  Model m = conv_model({1, 3, 7, 6}, {4, 3, 3, 2}, {{"pads", {1, 0, 2, 1}}, {"strides", {2, 1}}, {"dilations", {1, 2}}});
  Model a = apply_and_check(m, "LowerConvsToMatMul", {{{"x", rand_int({1, 3, 7, 6}, -8, 7, 1)}}});
  EXPECT_EQ(count(a, "Conv"), 0);
  EXPECT_EQ(count(a, "Transpose"), 2);
  const Node* ic = find_op(a, "Im2Col");
  ASSERT_NE(ic, nullptr);
  EXPECT_EQ(ic->get_ints("pad_amount"), (std::vector<int64_t>{1, 0, 2, 1}));
  EXPECT_EQ(ic->get_ints("dilations"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ic->get_int("pad_value"), 0);
  // Weight (KH*KW*C, M), its datatype kept; Im2Col output keeps the input's.
  const Node* mm = find_op(a, "MatMul");
  ASSERT_NE(mm, nullptr);
  EXPECT_EQ(a.graph.get_initializer(mm->inputs[1])->shape(), (Shape{3 * 2 * 3, 4}));
  EXPECT_EQ(a.graph.get_datatype(mm->inputs[1]).name(), "INT3");
  EXPECT_EQ(a.graph.get_datatype(ic->outputs[0]).name(), "INT4");
  EXPECT_EQ(a.graph.get_layout(ic->outputs[0]), (std::vector<std::string>{"N", "H", "W", "C"}));
  // The original weight buffer is untouched (models share buffers).
  EXPECT_EQ(m.graph.get_initializer("W")->shape(), (Shape{4, 3, 3, 2}));
}

TEST(LowerConvs, PointwiseConvNeedsNoIm2Col) {
  Model m = conv_model({1, 5, 4, 4}, {3, 5, 1, 1}, {}, 1, true);
  Model a = apply_and_check(m, "LowerConvsToMatMul", {{{"x", rand_int({1, 5, 4, 4}, -8, 7, 2)}}});
  EXPECT_EQ(count(a, "Im2Col"), 0);
  EXPECT_EQ(count(a, "MatMul"), 1);
  EXPECT_EQ(count(a, "Add"), 1);  // the bias
}

TEST(LowerConvs, DepthwiseAndGroupedConvs) {
  Model dw = conv_model({1, 4, 5, 5}, {4, 1, 3, 3}, {{"pads", {1, 1, 1, 1}}}, 4);
  Model a = apply_and_check(dw, "LowerConvsToMatMul", {{{"x", rand_int({1, 4, 5, 5}, -8, 7, 3)}}});
  const Node* ic = find_op(a, "Im2Col");
  ASSERT_NE(ic, nullptr);
  EXPECT_EQ(ic->get_int("depthwise"), 1);
  const Node* mm = find_op(a, "MatMul");
  EXPECT_EQ(a.graph.get_initializer(mm->inputs[1])->shape(), (Shape{36, 4}));
  EXPECT_NE(a.graph.get_annotation(mm->inputs[1], "tensor_sparsity").find("dw"), std::string::npos);
  // 1 < group < C: block-diagonal weight, not depthwise
  Model gr = conv_model({1, 4, 5, 5}, {6, 2, 3, 3}, {{"strides", {2, 2}}}, 2, true);
  Model b = apply_and_check(gr, "LowerConvsToMatMul", {{{"x", rand_int({1, 4, 5, 5}, -8, 7, 4)}}});
  EXPECT_EQ(find_op(b, "Im2Col")->get_int("depthwise"), 0);
}

TEST(LowerConvs, OneDimensionalConv) {
  Model m = conv_model({1, 3, 11}, {5, 3, 3}, {{"pads", {2, 1}}, {"strides", {2}}, {"dilations", {2}}});
  Model a = apply_and_check(m, "LowerConvsToMatMul", {{{"x", rand_int({1, 3, 11}, -8, 7, 5)}}});
  EXPECT_EQ(count(a, "Conv"), 0);
  EXPECT_EQ(find_op(a, "Im2Col")->get_ints("kernel_size"), (std::vector<int64_t>{1, 3}));
  Model pw = conv_model({1, 3, 11}, {5, 3, 1}, {});
  Model b = apply_and_check(pw, "LowerConvsToMatMul", {{{"x", rand_int({1, 3, 11}, -8, 7, 6)}}});
  EXPECT_EQ(count(b, "Im2Col"), 0);
  EXPECT_EQ(count(b, "Reshape"), 0);
}

TEST(LowerConvs, BipolarPaddingStaysExact) {
  // Conv pads with 0, which is no BIPOLAR value: Im2Col pads with -1 and a
  // constant Add restores the result, so Im2Col's output stays BIPOLAR.
  Model m = conv_model({1, 3, 5, 5}, {4, 3, 3, 3}, {{"pads", {1, 1, 1, 1}}}, 1, false, "BIPOLAR");
  Model a = apply_and_check(m, "LowerConvsToMatMul", {{{"x", bipolar({1, 3, 5, 5}, 9)}}, {{"x", bipolar({1, 3, 5, 5}, 10)}}});
  const Node* ic = find_op(a, "Im2Col");
  EXPECT_EQ(ic->get_int("pad_value"), -1);
  EXPECT_EQ(a.graph.get_datatype(ic->outputs[0]), DataType::bipolar());
  EXPECT_EQ(count(a, "Add"), 1);
  infer_datatypes(a);  // Im2Col's datatype rule accepts the padding value
}

TEST(LowerConvs, QuantizedWeightKeepsItsQuantizer) {
  Builder b;
  b.input("x", {1, 2, 4, 4}).output("y");
  std::vector<float> sc = {0.5f, 0.25f, 2.0f};
  b.init("Wf", rand_int({3, 2, 2, 2}, -9, 9, 11)).init("s", Tensor::from_vector<float>({3, 1, 1, 1}, sc));
  b.init("z", Tensor::scalar<float>(0)).init("bw", Tensor::scalar<float>(3));
  b.node("Quant", {"Wf", "s", "z", "bw"}, {"Wq"}, QD).set_int("signed", 1);
  b.node("Conv", {"x", "Wq"}, {"y"}).set_ints("pads", {0, 1, 1, 0});
  Model a = apply_and_check(b.done(), "LowerConvsToMatMul", {{{"x", rand_int({1, 2, 4, 4}, -4, 4, 12)}}});
  EXPECT_EQ(count(a, "Quant"), 1);
  const Node* q = find_op(a, "Quant");
  EXPECT_EQ(a.graph.get_initializer(q->inputs[0])->shape(), (Shape{8, 3}));
  EXPECT_EQ(a.graph.get_initializer(q->inputs[1])->shape(), (Shape{1, 3}));  // per output channel
}

TEST(LowerConvs, RefusesWhatItCannotLower) {
  clear_refusals();
  Builder b;  // weight computed at run time
  b.input("x", {1, 2, 4, 4}).input("w", {3, 2, 3, 3}).output("y");
  b.node("Conv", {"x", "w"}, {"y"});
  Model m = b.done();
  Model a = m;
  EXPECT_FALSE(apply_pass(a, "LowerConvsToMatMul"));
  EXPECT_EQ(count(a, "Conv"), 1);
  EXPECT_FALSE(refusals_for("Conv_0").empty());
  // 3-D conv
  Model c3 = conv_model({1, 2, 3, 3, 3}, {2, 2, 1, 1, 1}, {});
  EXPECT_FALSE(apply_pass(c3, "LowerConvsToMatMul"));
  // grouped conv whose quantizer maps 0 to +scale (bipolar weights)
  Builder g;
  g.input("x", {1, 2, 4, 4}).output("y").init("Wf", rand_int({2, 1, 3, 3}, -2, 2, 1)).init("s", Tensor::scalar<float>(1));
  g.node("BipolarQuant", {"Wf", "s"}, {"Wq"}, QD);
  g.node("Conv", {"x", "Wq"}, {"y"}).set_int("group", 2);
  Model gm = g.done();
  EXPECT_FALSE(apply_pass(gm, "LowerConvsToMatMul"));
  EXPECT_FALSE(refusals_for("Conv_1").empty());
}

// ---- MaxPoolNHWC / MakeMaxPoolNHWC ---------------------------------------------

TEST(LowerLayout, MaxPoolNHWCMatchesMaxPool) {
  Builder b;
  b.input("x", {1, 3, 7, 6}).output("y").output("z");
  Node& p = b.node("MaxPool", {"x"}, {"y"});
  p.set_ints("kernel_shape", {3, 2});
  p.set_ints("pads", {1, 0, 1, 0});
  p.set_ints("strides", {2, 2});
  p.set_int("ceil_mode", 1);
  b.node("Transpose", {"x"}, {"xt"}).set_ints("perm", {0, 2, 3, 1});
  Node q = b.m.graph.nodes[0];
  q.op_type = "MaxPoolNHWC", q.domain = QD, q.name = "MaxPoolNHWC_0", q.inputs = {"xt"}, q.outputs = {"zt"};
  b.m.graph.nodes.push_back(q);
  b.node("Transpose", {"zt"}, {"z"}).set_ints("perm", {0, 3, 1, 2});
  Model m = b.done();
  TensorMap r = execute_model(m, {{"x", rand_int({1, 3, 7, 6}, -50, 50, 3)}});
  EXPECT_EQ(r.at("y").shape(), r.at("z").shape());
  EXPECT_EQ(r.at("y").to_double(), r.at("z").to_double());
}

TEST(LowerLayout, MakeMaxPoolNHWCBothDirections) {
  for (bool before : {false, true}) {
    Builder b;
    b.input("x", {1, 4, 6, 6}, "INT4").output("y");
    std::string cur = "x";
    if (before) {  // NHWC producer: T(to NCHW) -> MaxPool
      b.node("Transpose", {"x"}, {"xt"}).set_ints("perm", {0, 2, 3, 1});
      b.node("Transpose", {"xt"}, {"xc"}).set_ints("perm", {0, 3, 1, 2});
      cur = "xc";
    }
    Node& p = b.node("MaxPool", {cur}, {before ? "y" : "p"});
    p.set_ints("kernel_shape", {2, 2});
    p.set_ints("strides", {2, 2});
    if (!before) b.node("Transpose", {"p"}, {"y"}).set_ints("perm", {0, 2, 3, 1});
    Model m = b.done();
    infer_datatypes(m);
    Model a = apply_and_check(m, "MakeMaxPoolNHWC", {{{"x", rand_int({1, 4, 6, 6}, -8, 7, 4)}}});
    EXPECT_EQ(count(a, "MaxPool"), 0);
    EXPECT_EQ(count(a, "MaxPoolNHWC"), 1);
    EXPECT_EQ(a.graph.get_datatype(find_op(a, "MaxPoolNHWC")->inputs[0]).name(), "INT4");
  }
  // No transposes around: nothing to do. Asymmetric pads: refused.
  Builder b;
  b.input("x", {1, 4, 6, 6}).output("y");
  Node& p = b.node("MaxPool", {"x"}, {"p"});
  p.set_ints("kernel_shape", {2, 2});
  p.set_ints("pads", {0, 0, 1, 1});
  b.node("Transpose", {"p"}, {"y"}).set_ints("perm", {0, 2, 3, 1});
  Model m = b.done();
  clear_refusals();
  EXPECT_FALSE(apply_pass(m, "MakeMaxPoolNHWC"));
  EXPECT_FALSE(refusals_for("MaxPool_0").empty());
}

TEST(LowerLayout, QuantAvgPoolGoesNHWC) {
  Builder b;
  b.input("x", {1, 6, 6, 3}, "UINT4").output("y");
  b.node("Transpose", {"x"}, {"xc"}).set_ints("perm", {0, 3, 1, 2});
  Node& q = b.node("QuantAvgPool2d", {"xc"}, {"y"}, QD);
  q.set_int("kernel", 2), q.set_int("stride", 2), q.set_int("ibits", 4), q.set_int("obits", 6), q.set_int("signed", 0);
  Model a = apply_and_check(b.done(), "MakeMaxPoolNHWC", {{{"x", rand_int({1, 6, 6, 3}, 0, 15, 5)}}});
  EXPECT_EQ(find_op(a, "QuantAvgPool2d")->get_string("data_layout"), "NHWC");
}

TEST(LowerLayout, AbsorbTransposeIntoMultiThreshold) {
  Tensor thr = Tensor::from_vector<float>({3, 2}, {-1, 2, 0, 1, -3, 3});
  for (bool closing : {true, false}) {
    Builder b;
    b.input("x", {1, 4, 4, 3}).output("y").init("t", thr);
    b.node("Transpose", {"x"}, {"xc"}).set_ints("perm", {0, 3, 1, 2});
    b.node("MultiThreshold", {"xc", "t"}, {closing ? "m" : "y"}, QD).set_string("out_dtype", "UINT2");
    if (closing) b.node("Transpose", {"m"}, {"y"}).set_ints("perm", {0, 2, 3, 1});
    Model a = apply_and_check(b.done(), "AbsorbTransposeIntoMultiThreshold", {{{"x", rand_int({1, 4, 4, 3}, -4, 4, 6)}}});
    EXPECT_EQ(count(a, "Transpose"), closing ? 0 : 1);
    EXPECT_EQ(find_op(a, "MultiThreshold")->get_string("data_layout"), "NHWC");
  }
  Builder b;  // already NHWC: refused
  b.input("x", {1, 4, 3, 5}).output("y").init("t", thr);
  b.node("Transpose", {"x"}, {"xc"}).set_ints("perm", {0, 3, 1, 2});
  b.node("MultiThreshold", {"xc", "t"}, {"y"}, QD).set_string("data_layout", "NHWC");
  Model m = b.done();
  EXPECT_FALSE(apply_pass(m, "AbsorbTransposeIntoMultiThreshold"));
}

// ---- transposes ---------------------------------------------------------------

TEST(LowerTransposes, ConsecutiveTransposesCancelOrCompose) {
  Builder b;
  b.input("x", {1, 2, 3, 4}).output("y").output("z");
  b.node("Transpose", {"x"}, {"a"}).set_ints("perm", {0, 2, 3, 1});
  b.node("Transpose", {"a"}, {"y"}).set_ints("perm", {0, 3, 1, 2});  // identity overall
  b.node("Transpose", {"a"}, {"z"}).set_ints("perm", {3, 2, 1, 0});  // composed
  Model a = apply_and_check(b.done(), "AbsorbConsecutiveTransposes", {{{"x", rand_int({1, 2, 3, 4}, -9, 9, 7)}}});
  EXPECT_LE(count(a, "Transpose"), 1);
  Builder n;  // a single Transpose: nothing to do
  n.input("x", {1, 2, 3, 4}).output("y");
  n.node("Transpose", {"x"}, {"y"}).set_ints("perm", {0, 2, 3, 1});
  Model nm = n.done();
  EXPECT_FALSE(apply_pass(nm, "AbsorbConsecutiveTransposes"));
}

TEST(LowerTransposes, MovePastScalarAndPerChannelOps) {
  auto build = [](const Tensor& c, const std::string& op) {
    Builder b;
    b.input("x", {1, 3, 4, 2}).output("y").init("c", c);
    b.node("Transpose", {"x"}, {"xt"}).set_ints("perm", {0, 3, 1, 2});
    b.node(op, {"c", "xt"}, {"s"});  // constant first: operand order must survive
    b.node("Relu", {"s"}, {"y"});
    return b.done();
  };
  const TensorMap in = {{"x", rand_int({1, 3, 4, 2}, -9, 9, 8)}};
  Model sc = build(Tensor::scalar<float>(3), "Mul");
  Model a = apply_and_check(sc, "MoveTransposePastScalarMul", {in});
  EXPECT_EQ(a.graph.nodes[0].op_type, "Mul");
  Model pc = build(rand_int({2, 1, 1}, -5, 5, 9), "Sub");  // per channel (C=2 in NCHW)
  EXPECT_FALSE(apply_pass(pc, "MoveTransposePastScalarMul"));
  Model b = apply_and_check(pc, "MoveTransposePastEltwise", {in});
  EXPECT_EQ(b.graph.nodes.back().op_type, "Transpose");  // moved past Sub and Relu
}

TEST(LowerTransposes, JoinAddAndFork) {
  Builder b;
  b.input("x", {1, 2, 3, 4}).output("y");
  b.node("Transpose", {"x"}, {"t"}).set_ints("perm", {0, 3, 1, 2});
  b.node("Relu", {"t"}, {"r"});
  b.node("Add", {"t", "r"}, {"y"});
  Model m = b.done();
  const TensorMap in = {{"x", rand_int({1, 2, 3, 4}, -9, 9, 9)}};
  Model f = apply_and_check(m, "MoveTransposePastFork", {in});
  EXPECT_EQ(count(f, "Transpose"), 2);
  Model e = apply_and_check(f, "MoveTransposePastEltwise", {in});
  Model j = apply_and_check(e, "MoveTransposePastJoinAdd", {in});
  EXPECT_EQ(count(j, "Transpose"), 1);
  EXPECT_EQ(j.graph.nodes.back().op_type, "Transpose");
  EXPECT_FALSE(apply_pass(j, "MoveTransposePastJoinAdd"));
}

// The quantized block input of a residual block feeds the conv path (through
// its NCHW->NHWC Transpose) and the skip, which re-joins the conv path's
// NHWC->NCHW Transpose at the Add (issue 16). The Transpose moves to the
// graph input, the skip reads the NHWC value through one back-Transpose, and
// the cancel loop carries that to the join: no Transpose is left inside.
TEST(LowerTransposes, InputQuantizerForkingIntoConvAndSkip) {
  Tensor thr = Tensor::from_vector<float>({1, 3}, {-1, 0, 1});
  for (bool second_nhwc_reader : {false, true}) {
    Builder b;
    b.input("x", {1, 2, 3, 4}).output("y").init("t", thr);
    b.node("MultiThreshold", {"x", "t"}, {"q"}, QD).set_string("out_dtype", "UINT2");
    b.node("Transpose", {"q"}, {"qn"}).set_ints("perm", {0, 2, 3, 1});
    b.node("Relu", {"qn"}, {"body"});  // stands for the conv path, in NHWC
    b.node("Transpose", {"body"}, {"back"}).set_ints("perm", {0, 3, 1, 2});
    std::string skip = "q";
    if (second_nhwc_reader) {  // a second lowered conv reading the same input
      b.node("Transpose", {"q"}, {"qn2"}).set_ints("perm", {0, 2, 3, 1});
      b.node("Neg", {"qn2"}, {"n2"});
      b.node("Transpose", {"n2"}, {"back2"}).set_ints("perm", {0, 3, 1, 2});
      b.node("Add", {"q", "back2"}, {"skip2"});
      skip = "skip2";
    }
    b.node("Add", {"back", skip}, {"y"});
    Model m = b.done();
    const TensorMap in = {{"x", rand_int({1, 2, 3, 4}, -2, 2, 11)}};
    Model a = apply_and_check(m, "MoveTransposeToGraphInput", {in});
    EXPECT_EQ(find_op(a, "MultiThreshold")->get_string("data_layout"), "NHWC");
    EXPECT_EQ(a.graph.nodes[0].op_type, "Transpose");
    Model c = apply_and_check(a, "CancelLayoutTransposes", {in});
    // left: the one at the graph input and the one back to NCHW at the output
    EXPECT_EQ(count(c, "Transpose"), 2) << second_nhwc_reader;
    EXPECT_EQ(c.graph.nodes.back().op_type, "Transpose");
  }
}

// ---- ConvertBipolarMatMulToXnorPopcount ---------------------------------------

TEST(LowerXnor, BipolarThresholdChainBecomesBinary) {
  Builder b;
  b.input("x", {1, 3, 4, 4}).output("y").init("t", Tensor::from_vector<float>({1, 1}, {0.f}));
  b.init("W", bipolar({27, 5}, 3), "BIPOLAR");
  Node& mt = b.node("MultiThreshold", {"x", "t"}, {"a"}, QD);
  mt.set_string("out_dtype", "BIPOLAR"), mt.set_float("out_scale", 2.f), mt.set_float("out_bias", -1.f);
  b.node("Transpose", {"a"}, {"an"}).set_ints("perm", {0, 2, 3, 1});
  Node& ic = b.node("Im2Col", {"an"}, {"cols"}, QD);
  ic.set_ints("stride", {1, 1}), ic.set_ints("kernel_size", {3, 3}), ic.set_ints("pad_amount", {1, 1, 1, 1});
  ic.set_int("pad_value", -1), ic.set_string("input_shape", "(1,4,4,3)");
  b.node("MatMul", {"cols", "W"}, {"y"});
  Model m = b.done();
  infer_datatypes(m);
  ASSERT_EQ(m.graph.get_datatype("cols"), DataType::bipolar());
  Model a = apply_and_check(m, "ConvertBipolarMatMulToXnorPopcount",
                            {{{"x", rand_int({1, 3, 4, 4}, -3, 3, 1)}}, {{"x", rand_int({1, 3, 4, 4}, -3, 3, 2)}}});
  EXPECT_EQ(count(a, "XnorPopcountMatMul"), 1);
  EXPECT_EQ(count(a, "MatMul"), 0);
  EXPECT_EQ(find_op(a, "MultiThreshold")->get_string("out_dtype"), "BINARY");
  EXPECT_EQ(find_op(a, "Im2Col")->get_int("pad_value"), 0);
  EXPECT_EQ(a.graph.get_datatype("cols"), DataType::binary());
}

TEST(LowerXnor, GraphInputGetsExplicitEncoding) {
  Builder b;
  b.input("x", {2, 6}, "BIPOLAR").output("y").init("W", bipolar({6, 3}, 4), "BIPOLAR");
  b.node("MatMul", {"x", "W"}, {"y"});
  Model m = b.done();
  Model a = apply_and_check(m, "ConvertBipolarMatMulToXnorPopcount", {{{"x", bipolar({2, 6}, 5)}}});
  EXPECT_EQ(a.graph.get_datatype("x"), DataType::bipolar());  // the interface is unchanged
  EXPECT_EQ(count(a, "XnorPopcountMatMul"), 1);
  // Weights that are not actually bipolar: refused.
  Builder n;
  n.input("x", {2, 6}, "BIPOLAR").output("y").init("W", rand_int({6, 3}, -2, 2, 6), "BIPOLAR");
  n.node("MatMul", {"x", "W"}, {"y"});
  Model nm = n.done();
  EXPECT_FALSE(apply_pass(nm, "ConvertBipolarMatMulToXnorPopcount"));
  // Integer (non-bipolar) activations: not a candidate.
  Builder i;
  i.input("x", {2, 6}, "INT2").output("y").init("W", bipolar({6, 3}, 4), "BIPOLAR");
  i.node("MatMul", {"x", "W"}, {"y"});
  Model im = i.done();
  EXPECT_FALSE(apply_pass(im, "ConvertBipolarMatMulToXnorPopcount"));
}

// ---- RemoveCNVtoFCFlatten / AbsorbScalarMulAddIntoTopK ----------------------------

TEST(LowerTail, FlattenPermutationFoldsIntoWeights) {
  for (bool flatten : {true, false}) {
    Builder b;
    b.input("x", {1, 2, 3, 4}).output("y").init("W", rand_int({24, 5}, -4, 4, 1), "INT3");
    b.node("Transpose", {"x"}, {"xc"}).set_ints("perm", {0, 3, 1, 2});
    if (flatten) {
      b.node("Flatten", {"xc"}, {"f"});
    } else {
      b.init("shape", Tensor::from_vector<int64_t>({2}, {1, -1}));
      b.node("Reshape", {"xc", "shape"}, {"f"});
    }
    b.node("MatMul", {"f", "W"}, {"y"});
    Model a = apply_and_check(b.done(), "RemoveCNVtoFCFlatten", {{{"x", rand_int({1, 2, 3, 4}, -8, 7, 2)}}});
    EXPECT_EQ(count(a, "Transpose"), 0);
    EXPECT_EQ(a.graph.get_datatype(find_op(a, "MatMul")->inputs[1]).name(), "INT3");
  }
  Builder g;  // Gemm consumer: refused (GemmToMatMul first)
  g.input("x", {1, 2, 3, 4}).output("y").init("W", rand_int({24, 5}, -4, 4, 1));
  g.node("Transpose", {"x"}, {"xc"}).set_ints("perm", {0, 3, 1, 2});
  g.node("Flatten", {"xc"}, {"f"});
  g.node("Gemm", {"f", "W"}, {"y"});
  Model gm = g.done();
  EXPECT_FALSE(apply_pass(gm, "RemoveCNVtoFCFlatten"));
}

namespace {
Model topk_model(float mul, float add, const std::string& dt, bool values_used) {
  Builder b;
  b.input("x", {1, 10}, dt).output("idx").init("m", Tensor::scalar<float>(mul)).init("a", Tensor::scalar<float>(add));
  b.init("k", Tensor::from_vector<int64_t>({1}, {3}));
  if (values_used) b.output("vals");
  b.node("Mul", {"x", "m"}, {"s"});
  b.node("Add", {"a", "s"}, {"t"});
  b.node("TopK", {"t", "k"}, {"vals", "idx"});
  return b.done();
}
}  // namespace

TEST(LowerTail, AbsorbScalarMulAddIntoTopK) {
  std::vector<TensorMap> ins;
  for (unsigned s = 0; s < 4; ++s) ins.push_back({{"x", rand_int({1, 10}, -8, 7, s)}});
  Model a = apply_and_check(topk_model(0.37f, -1.5f, "INT4", false), "AbsorbScalarMulAddIntoTopK", ins);
  EXPECT_EQ(count(a, "Mul") + count(a, "Add"), 0);
  clear_refusals();
  Model used = topk_model(0.37f, -1.5f, "INT4", true);
  EXPECT_FALSE(apply_pass(used, "AbsorbScalarMulAddIntoTopK"));
  Model flt = topk_model(0.37f, -1.5f, "", false);  // FLOAT32 input: ties not provably preserved
  EXPECT_FALSE(apply_pass(flt, "AbsorbScalarMulAddIntoTopK"));
  EXPECT_FALSE(refusals_for("Add_1").empty());
  Model neg = topk_model(-2.f, 0.f, "INT4", false);  // a negative scale reverses the order
  EXPECT_FALSE(apply_pass(neg, "AbsorbScalarMulAddIntoTopK"));
  Model tiny = topk_model(1e-30f, 1.f, "INT16", false);  // 1 + tiny*x collapses distinct values
  EXPECT_FALSE(apply_pass(tiny, "AbsorbScalarMulAddIntoTopK"));
}

// qonnx types every XnorPopcountMatMul UINT32 and every MatMul INT32, too wide
// to check value by value; the producer's own range (0..K matches, or the
// extreme sums of constant integer weights) is what the check covers.
TEST(LowerTail, AbsorbIntoTopKUsesTheProducerRange) {
  for (bool xnor : {true, false}) {
    Builder b;
    b.input("x", {2, 40}, xnor ? "BINARY" : "INT4").output("idx");
    b.init("W", xnor ? rand_int({40, 10}, 0, 1, 3) : rand_int({40, 10}, -2, 1, 3), xnor ? "BINARY" : "INT2");
    b.init("m", Tensor::scalar<float>(2.f)).init("a", Tensor::scalar<float>(-40.f));
    b.init("k", Tensor::from_vector<int64_t>({1}, {3}));
    if (xnor) b.node("XnorPopcountMatMul", {"x", "W"}, {"p"}, QD);
    else b.node("MatMul", {"x", "W"}, {"p"});
    b.node("Mul", {"p", "m"}, {"s"});
    b.node("Add", {"s", "a"}, {"t"});
    b.node("TopK", {"t", "k"}, {"vals", "idx"});
    Model m = b.done();
    infer_datatypes(m);
    ASSERT_EQ(m.graph.get_datatype("p").name(), xnor ? "UINT32" : "INT32");
    std::vector<TensorMap> ins;
    for (unsigned s = 0; s < 4; ++s)
      ins.push_back({{"x", xnor ? rand_int({2, 40}, 0, 1, s) : rand_int({2, 40}, -8, 7, s)}});
    Model a = apply_and_check(m, "AbsorbScalarMulAddIntoTopK", ins);
    EXPECT_EQ(count(a, "Mul") + count(a, "Add"), 0) << xnor;
  }
}
