// Streamlining passes on tiny hand-built graphs: each pass in a positive
// case (it rewrites, the executor gives the same outputs, no existing buffer
// changes) and in negative cases (it refuses and says why).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "exec/executor.h"
#include "exec/infer.h"
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

const char* kQ = "qonnx.custom_op.general";

struct Builder {
  Model m;
  Builder() { m.opset_imports = {{"", 13}, {kQ, 1}}; }
  Builder& input(const std::string& n, const Shape& s, const std::string& dtype = "") {
    ValueInfo vi;
    vi.name = n;
    vi.elem_type = ElemType::FLOAT;
    vi.set_shape(s);
    m.graph.inputs.push_back(vi);
    if (!dtype.empty()) m.graph.set_annotation(n, "finn_datatype", dtype);
    return *this;
  }
  Builder& output(const std::string& n) {
    ValueInfo vi;
    vi.name = n;
    m.graph.outputs.push_back(vi);
    return *this;
  }
  Builder& init(const std::string& n, const Shape& s, const std::vector<float>& v, const std::string& dtype = "") {
    m.graph.set_initializer(n, Tensor::from_vector<float>(s, v));
    if (!dtype.empty()) m.graph.set_annotation(n, "finn_datatype", dtype);
    return *this;
  }
  Node& node(const std::string& op, const std::vector<std::string>& in, const std::vector<std::string>& out,
             const std::string& domain = "") {
    Node n;
    n.op_type = op;
    n.domain = domain;
    n.inputs = in;
    n.outputs = out;
    n.name = op + "_" + std::to_string(m.graph.nodes.size());
    m.graph.nodes.push_back(n);
    return m.graph.nodes.back();
  }
  Node& mt(const std::string& x, const std::string& thr, const std::string& y, const std::string& odt = "UINT2",
           float scale = 1.f, float bias = 0.f) {
    Node& n = node("MultiThreshold", {x, thr}, {y}, kQ);
    n.set_string("out_dtype", odt);
    n.set_float("out_scale", scale);
    n.set_float("out_bias", bias);
    return n;
  }
  Model done() {
    infer_shapes(m);
    infer_datatypes(m);
    return m;
  }
};

std::vector<float> iota_f(size_t n, float start, float step) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + step * (float)i;
  return v;
}

Tensor rand_tensor(const Shape& s, uint32_t seed, float lo = -4, float hi = 4, bool integer = false) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v((size_t)shape_numel(s));
  for (auto& x : v) x = integer ? std::round(d(rng)) : d(rng);
  return Tensor::from_vector<float>(s, v);
}

std::vector<TensorMap> rand_inputs(const Model& m, int n = 4, float lo = -4, float hi = 4, bool integer = false) {
  std::vector<TensorMap> r;
  for (int k = 0; k < n; ++k) {
    TensorMap t;
    for (const ValueInfo* vi : m.graph.runtime_inputs()) t[vi->name] = rand_tensor(vi->shape(), 1234 + k, lo, hi, integer);
    r.push_back(t);
  }
  return r;
}

std::vector<std::string> op_types(const Model& m) {
  std::vector<std::string> r;
  for (const auto& n : m.graph.nodes) r.push_back(n.op_type);
  return r;
}

int count_op(const Model& m, const std::string& op) {
  int c = 0;
  for (const auto& n : m.graph.nodes) c += n.op_type == op;
  return c;
}

bool bit_equal_or_zero(float a, float b) {
  return a == b || (std::isnan(a) && std::isnan(b));  // -0 == +0 counts as equal
}

// Outputs by position: bit-identical (exact) or within float tolerance.
void expect_same_outputs(const Model& a, const Model& b, const std::vector<TensorMap>& ins, bool exact) {
  ASSERT_EQ(a.graph.outputs.size(), b.graph.outputs.size());
  for (const auto& in : ins) {
    TensorMap oa = execute_model(a, in), ob = execute_model(b, in);
    for (size_t k = 0; k < a.graph.outputs.size(); ++k) {
      const Tensor& ta = oa.at(a.graph.outputs[k].name);
      const Tensor& tb = ob.at(b.graph.outputs[k].name);
      ASSERT_EQ(ta.shape(), tb.shape());
      auto va = ta.to_float(), vb = tb.to_float();
      double mag = 1;
      for (float v : va) mag = std::max(mag, (double)std::fabs(v));
      for (size_t i = 0; i < va.size(); ++i) {
        if (exact) ASSERT_TRUE(bit_equal_or_zero(va[i], vb[i])) << "index " << i << ": " << va[i] << " vs " << vb[i];
        else ASSERT_NEAR(va[i], vb[i], 1e-5 * mag) << "index " << i;
      }
    }
  }
}

// Applies `pass` to a copy of m0 (sharing its buffers) and checks: it changed
// (or not), same outputs, and no buffer of the original was written.
Model check_pass(const Model& m0, const std::string& pass, bool exact, bool expect_change = true,
                 std::vector<TensorMap> ins = {}) {
  if (ins.empty()) ins = rand_inputs(m0);
  std::vector<std::pair<std::string, std::vector<double>>> snapshot;
  for (const auto& [n, t] : m0.graph.initializers) snapshot.emplace_back(n, t.to_double());
  Model m = m0;
  const bool changed = apply_pass(m, pass);
  EXPECT_EQ(changed, expect_change) << pass;
  expect_same_outputs(m0, m, ins, exact);
  for (const auto& [n, v] : snapshot) {
    const auto now = m0.graph.get_initializer(n)->to_double();
    for (size_t i = 0; i < v.size(); ++i)
      EXPECT_TRUE(v[i] == now[i] || (std::isnan(v[i]) && std::isnan(now[i]))) << "buffer of '" << n << "' changed";
  }
  // annotations and shapes stay inferable and consistent
  Model again = m;
  EXPECT_NO_THROW(infer_shapes(again));
  return m;
}

bool refused(const std::string& node, const std::string& pass, const std::string& needle = "") {
  for (const auto& r : refusals_for(node))
    if (r.pass == pass && r.reason.find(needle) != std::string::npos) return true;
  return false;
}

// ---------------------------------------------------------------- conversions

TEST(StreamlineConvert, SubToAddBothOperandOrders) {
  Builder b;
  b.input("x", {1, 3}).output("y").init("c", {1, 3}, {0.5f, -1.25f, 3.f});
  b.node("Sub", {"x", "c"}, {"t"});
  b.node("Sub", {"c", "t"}, {"y"});
  Model m = check_pass(b.done(), "ConvertSubToAdd", true);
  EXPECT_EQ(count_op(m, "Sub"), 0);
  EXPECT_EQ(count_op(m, "Add"), 2);
}

TEST(StreamlineConvert, DivToMul) {
  Builder b;
  b.input("x", {2, 4}).output("y").init("c", {}, {4.f});
  b.node("Div", {"x", "c"}, {"y"});
  Model m = check_pass(b.done(), "ConvertDivToMul", true);
  EXPECT_EQ(op_types(m), std::vector<std::string>{"Mul"});
}

TEST(StreamlineConvert, BatchNormToAffine) {
  Builder b;
  b.input("x", {1, 3, 2, 2}).output("y");
  b.init("s", {3}, {1.5f, -0.5f, 2.f}).init("bb", {3}, {0.1f, 0.2f, -0.3f});
  b.init("mu", {3}, {0.f, 1.f, -1.f}).init("var", {3}, {1.f, 0.25f, 4.f});
  b.node("BatchNormalization", {"x", "s", "bb", "mu", "var"}, {"y"});
  Model m = check_pass(b.done(), "BatchNormToAffine", false);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Mul", "Add"}));
  EXPECT_EQ(m.graph.get_initializer(m.graph.nodes[0].inputs[1])->shape(), (Shape{1, 3, 1, 1}));
}

TEST(StreamlineConvert, IdentityBatchNormDisappears) {
  Builder b;
  b.input("x", {1, 2}).output("y");
  b.init("s", {2}, {1.f, 1.f}).init("bb", {2}, {0.f, 0.f}).init("mu", {2}, {0.f, 0.f}).init("var", {2}, {1.f, 1.f});
  Node& n = b.node("BatchNormalization", {"x", "s", "bb", "mu", "var"}, {"y"});
  n.set_float("epsilon", 0.f);
  Model m = check_pass(b.done(), "BatchNormToAffine", true);
  EXPECT_EQ(count_op(m, "BatchNormalization"), 0);
}

TEST(StreamlineConvert, SignToThresIsExactAtZero) {
  Builder b;
  b.input("x", {1, 5}).output("y");
  b.node("Sign", {"x"}, {"y"});
  Model m0 = b.done();
  std::vector<TensorMap> ins = rand_inputs(m0, 2, -2, 2, true);  // integers: many exact zeros
  ins.push_back({{"x", Tensor::from_vector<float>({1, 5}, {0.f, -0.f, 1e-45f, -1e-45f, 3.f})}});
  Model m = check_pass(m0, "ConvertSignToThres", true, true, ins);
  EXPECT_EQ(m.graph.nodes[0].get_string("out_dtype"), "TERNARY");
}

TEST(StreamlineConvert, SignOfBipolarBecomesBipolarThreshold) {
  Builder b;
  b.input("x", {1, 4}, "BIPOLAR").output("y");
  b.node("Sign", {"x"}, {"y"});
  std::vector<TensorMap> ins = {{{"x", Tensor::from_vector<float>({1, 4}, {1.f, -1.f, -1.f, 1.f})}}};
  Model m = check_pass(b.done(), "ConvertSignToThres", true, true, ins);
  EXPECT_EQ(m.graph.nodes[0].get_string("out_dtype"), "BIPOLAR");
  EXPECT_EQ(m.graph.get_datatype("y"), DataType::bipolar());
}

// ---------------------------------------------------------------- moves

TEST(StreamlineMove, ScalarMulPastReshape) {
  Builder b;
  b.input("x", {1, 2, 3}).output("y").init("c", {1, 1, 1}, {0.75f}).m.graph.set_initializer(
      "shape", Tensor::from_vector<int64_t>({2}, {1, 6}));
  b.node("Mul", {"x", "c"}, {"t"});
  b.node("Reshape", {"t", "shape"}, {"y"});
  Model m = check_pass(b.done(), "MoveScalarLinearPastInvariants", true);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Reshape", "Mul"}));
  EXPECT_EQ(tensor_shape(m.graph, "y"), (Shape{1, 6}));
}

TEST(StreamlineMove, PerChannelAddPastTransposeAndFlatten) {
  Builder b;
  b.input("x", {1, 3, 1, 1}).output("y").init("c", {1, 3, 1, 1}, {1.f, -2.f, 0.5f});
  b.node("Add", {"x", "c"}, {"t"});
  b.node("Transpose", {"t"}, {"u"}).set_ints("perm", {0, 2, 3, 1});
  b.node("Flatten", {"u"}, {"y"});
  Model m = check_pass(b.done(), "MoveScalarLinearPastInvariants", true);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Transpose", "Flatten", "Add"}));
  EXPECT_EQ(m.graph.get_initializer(m.graph.nodes[2].inputs[1])->shape(), (Shape{1, 3}));
}

TEST(StreamlineMove, PerChannelThatWouldBecomeAFullTensorIsRefused) {
  clear_refusals();
  Builder b;
  b.input("x", {1, 3, 2, 2}).output("y").init("c", {1, 3, 1, 1}, {1.f, -2.f, 0.5f});
  b.m.graph.set_initializer("shape", Tensor::from_vector<int64_t>({2}, {2, 6}));
  b.node("Mul", {"x", "c"}, {"t"}).name = "Mul_7";
  b.node("Reshape", {"t", "shape"}, {"y"});  // channel c lands in both rows and columns
  check_pass(b.done(), "MoveScalarLinearPastInvariants", true, false);
  EXPECT_TRUE(refused("Mul_7", "MoveScalarLinearPastInvariants", "not per-channel"));
}

TEST(StreamlineMove, AddPastMul) {
  Builder b;
  b.input("x", {2, 3}).output("y").init("a", {3}, {1.f, 2.f, -3.f}).init("s", {}, {-0.5f});
  b.node("Add", {"x", "a"}, {"t"});
  b.node("Mul", {"t", "s"}, {"y"});
  Model m = check_pass(b.done(), "MoveAddPastMul", false);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Mul", "Add"}));
}

TEST(StreamlineMove, ScalarAddPastMatMulAndRowBiasRefused) {
  Builder b;
  b.input("x", {2, 3}).output("y").init("a", {3}, {1.f, 2.f, -3.f});
  b.init("W", {3, 2}, {1, -1, 2, 0, -2, 1}, "INT3");
  b.node("Add", {"x", "a"}, {"t"});
  b.node("MatMul", {"t", "W"}, {"y"});
  Model m = check_pass(b.done(), "MoveScalarAddPastMatMul", false);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"MatMul", "Add"}));

  clear_refusals();
  Builder r;
  r.input("x", {2, 3}).output("y").init("a", {2, 1}, {1.f, 2.f}).init("W", {3, 2}, {1, -1, 2, 0, -2, 1});
  r.node("Add", {"x", "a"}, {"t"}).name = "RowAdd";
  r.node("MatMul", {"t", "W"}, {"y"});
  check_pass(r.done(), "MoveScalarAddPastMatMul", true, false);
  EXPECT_TRUE(refused("RowAdd", "MoveScalarAddPastMatMul", "full matrix"));
}

TEST(StreamlineMove, AddPastConvAndPaddedRefused) {
  auto build = [](bool pad) {
    Builder b;
    b.input("x", {1, 2, 4, 4}).output("y").init("a", {1, 2, 1, 1}, {0.5f, -1.f});
    b.init("W", {3, 2, 3, 3}, iota_f(54, -4.f, 0.25f)).init("bias", {3}, {1.f, 0.f, -1.f});
    b.node("Add", {"x", "a"}, {"t"}).name = "Add_0";
    Node& c = b.node("Conv", {"t", "W", "bias"}, {"y"});
    c.set_ints("kernel_shape", {3, 3});
    if (pad) c.set_ints("pads", {1, 1, 1, 1});
    return b.done();
  };
  Model m = check_pass(build(false), "MoveAddPastConv", false);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Conv", "Add"}));
  clear_refusals();
  check_pass(build(true), "MoveAddPastConv", true, false);
  EXPECT_TRUE(refused("Add_0", "MoveAddPastConv", "pads"));
}

TEST(StreamlineMove, ScalarMulPastMatMulAndPerFeatureRefused) {
  Builder b;
  b.input("x", {2, 3}).output("y").init("s", {1}, {0.125f}).init("W", {3, 2}, {1, -1, 2, 0, -2, 1});
  b.node("Mul", {"x", "s"}, {"t"});
  b.node("MatMul", {"t", "W"}, {"y"});
  Model m = check_pass(b.done(), "MoveScalarMulPastMatMul", true);  // power-of-two scale: exact
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"MatMul", "Mul"}));

  clear_refusals();
  Builder r;
  r.input("x", {2, 3}).output("y").init("s", {3}, {1.f, 2.f, 3.f}).init("W", {3, 2}, {1, -1, 2, 0, -2, 1});
  r.node("Mul", {"x", "s"}, {"t"}).name = "FeatMul";
  r.node("MatMul", {"t", "W"}, {"y"});
  check_pass(r.done(), "MoveScalarMulPastMatMul", true, false);
  EXPECT_TRUE(refused("FeatMul", "MoveScalarMulPastMatMul", "only a scalar"));
}

TEST(StreamlineMove, ScalarMulPastConvSplitsBias) {
  Builder b;
  b.input("x", {1, 2, 5, 5}).output("y").init("s", {}, {-0.75f});
  b.init("W", {3, 2, 3, 3}, iota_f(54, -3.f, 0.125f)).init("bias", {3}, {1.f, 0.5f, -1.f});
  b.node("Mul", {"x", "s"}, {"t"});
  Node& c = b.node("Conv", {"t", "W", "bias"}, {"y"});
  c.set_ints("pads", {1, 1, 1, 1});
  Model m = check_pass(b.done(), "MoveScalarMulPastConv", false);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Conv", "Mul", "Add"}));
}

TEST(StreamlineMove, PerChannelMulPastDepthwiseConv) {
  auto build = [] {
    Builder b;
    b.input("x", {1, 3, 4, 4}).output("y").init("s", {1, 3, 1, 1}, {0.5f, -2.f, 0.f});
    b.init("W", {6, 1, 2, 2}, iota_f(24, -3.f, 0.25f));
    b.node("Mul", {"x", "s"}, {"t"}).name = "ChMul";
    Node& c = b.node("Conv", {"t", "W"}, {"y"});
    c.set_int("group", 3);
    c.set_ints("pads", {1, 0, 1, 0});
    return b.done();
  };
  clear_refusals();
  check_pass(build(), "MoveScalarMulPastConv", true, false);
  EXPECT_TRUE(refused("ChMul", "MoveScalarMulPastConv", "MoveScalarMulPastDWConv"));
  Model m = check_pass(build(), "MoveScalarMulPastDWConv", false);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Conv", "Mul"}));
  EXPECT_EQ(m.graph.get_initializer(m.graph.nodes[1].inputs[1])->to_float(),
            (std::vector<float>{0.5f, 0.5f, -2.f, -2.f, 0.f, 0.f}));
}

TEST(StreamlineMove, MulPastMaxPoolNeedsNonNegativeScale) {
  auto build = [](std::vector<float> s) {
    Builder b;
    b.input("x", {1, 3, 4, 4}).output("y").init("s", {1, 3, 1, 1}, s);
    b.node("Mul", {"x", "s"}, {"t"}).name = "Mul_7";
    Node& p = b.node("MaxPool", {"t"}, {"y"});
    p.name = "MaxPool_3";
    p.set_ints("kernel_shape", {2, 2});
    p.set_ints("strides", {2, 2});
    return b.done();
  };
  Model m = check_pass(build({0.5f, 0.f, 3.f}), "MoveMulPastMaxPool", true);  // exact: rounding is monotone
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"MaxPool", "Mul"}));
  clear_refusals();
  check_pass(build({0.5f, -1.f, 3.f}), "MoveMulPastMaxPool", true, false);
  EXPECT_TRUE(refused("Mul_7", "MoveMulPastMaxPool", "non-negative"));
  EXPECT_TRUE(refused("Mul_7", "MoveMulPastMaxPool", "MaxPool_3"));
}

TEST(StreamlineMove, MaxPoolPastMultiThreshold) {
  Builder b;
  b.input("x", {1, 2, 4, 4}).output("y").init("thr", {2, 3}, {-1.f, 0.f, 1.f, -0.5f, 0.5f, 2.f});
  Node& p = b.node("MaxPool", {"x"}, {"t"});
  p.set_ints("kernel_shape", {3, 3});
  p.set_ints("pads", {1, 1, 1, 1});
  b.mt("t", "thr", "y");
  Model m = check_pass(b.done(), "MoveMaxPoolPastMultiThreshold", true);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"MultiThreshold", "MaxPool"}));
  EXPECT_EQ(m.graph.get_datatype("y"), DataType::uint(2));
}

TEST(StreamlineMove, LinearPastEltwiseAdd) {
  Builder b;
  b.input("x", {1, 3}).input("z", {1, 3}).output("y").output("w");
  b.init("s", {3}, {0.5f, 2.f, -1.f}).init("s2", {1, 3}, {0.5f, 2.f, -1.f});
  b.init("a", {}, {1.f}).init("a2", {3}, {1.f, 2.f, 3.f});
  b.node("Mul", {"x", "s"}, {"t1"});
  b.node("Mul", {"z", "s2"}, {"t2"});
  b.node("Add", {"t1", "t2"}, {"y"});
  b.node("Add", {"x", "a"}, {"u1"});
  b.node("Add", {"z", "a2"}, {"u2"});
  b.node("Add", {"u1", "u2"}, {"w"});
  Model m = check_pass(b.done(), "MoveLinearPastEltwiseAdd", false);
  EXPECT_EQ(count_op(m, "Mul"), 1);
  EXPECT_EQ(count_op(m, "Add"), 3);
}

TEST(StreamlineMove, LinearPastFork) {
  Builder b;
  b.input("x", {1, 3}).output("y").output("z").init("s", {}, {3.f});
  b.node("Mul", {"x", "s"}, {"t"});
  b.node("Relu", {"t"}, {"y"});
  b.node("Neg", {"t"}, {"z"});
  Model m = check_pass(b.done(), "MoveLinearPastFork", true);
  EXPECT_EQ(count_op(m, "Mul"), 2);
}

// ---------------------------------------------------------------- collapses

TEST(StreamlineCollapse, RepeatedMulAndAdd) {
  Builder b;
  b.input("x", {1, 3}).output("y").init("a", {}, {2.f}).init("b", {3}, {0.5f, 0.25f, -1.f});
  b.init("c", {}, {1.f}).init("d", {1, 3}, {1.f, -2.f, 0.f});
  b.node("Mul", {"x", "a"}, {"t"});
  b.node("Mul", {"b", "t"}, {"u"});
  b.node("Add", {"u", "c"}, {"v"});
  b.node("Add", {"v", "d"}, {"y"});
  Model m = check_pass(b.done(), "CollapseRepeatedMul", true);  // x*2 is exact
  m = check_pass(m, "CollapseRepeatedAdd", false);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Mul", "Add"}));
}

TEST(StreamlineCollapse, IdentityChainDisappears) {
  Builder b;
  b.input("x", {1, 3}).output("y").init("a", {}, {2.f}).init("b", {}, {0.5f});
  b.node("Mul", {"x", "a"}, {"t"});
  b.node("Mul", {"t", "b"}, {"y"});
  Model m = check_pass(b.done(), "CollapseRepeatedMul", true);
  EXPECT_EQ(count_op(m, "Mul"), 0);
}

TEST(StreamlineCollapse, LeavesAFactoredSignAlone) {
  Builder b;
  b.input("x", {1, 3}).output("y").init("c", {3}, {-0.5f, 2.f, -3.f});
  b.node("Mul", {"x", "c"}, {"y"});
  const Model m0 = b.done();
  Model m = check_pass(m0, "FactorOutMulSignMagnitude", true);
  check_pass(m, "CollapseRepeatedMul", true, false);
  Model s = m0;
  EXPECT_TRUE(apply_pass(s, "Streamline"));
  EXPECT_FALSE(apply_pass(s, "Streamline"));  // settled, although nothing can absorb the signs
  EXPECT_EQ(op_types(s), (std::vector<std::string>{"Mul", "Mul"}));
}

// ---------------------------------------------------------------- absorbs

// Inputs that sit on, and one float step either side of, the points where
// fl(x op c) crosses a threshold: the cases a naive t - c or t / c misses.
std::vector<TensorMap> boundary_inputs(const std::string& name, const Shape& s, const std::vector<float>& thr,
                                       const std::vector<float>& c, bool mul) {
  std::vector<float> pool;
  for (float t : thr)
    for (float k : c) {
      if (mul && k == 0) continue;
      const float y = mul ? t / k : t - k;
      pool.insert(pool.end(), {y, std::nextafter(y, -INFINITY), std::nextafter(y, INFINITY)});
    }
  std::vector<TensorMap> r;
  std::mt19937 rng(7);
  const int64_t n = shape_numel(s);
  for (int rep = 0; rep < 16; ++rep) {
    std::vector<float> v((size_t)n);
    for (auto& x : v) x = pool[rng() % pool.size()];
    r.push_back({{name, Tensor::from_vector<float>(s, v)}});
  }
  return r;
}

TEST(StreamlineAbsorb, PerChannelAddIntoSharedThresholdsIsExact) {
  const std::vector<float> thr = {-0.3f, 0.1f, 0.7f}, c = {0.1f, -1.7f, 0.3333333f};
  Builder b;
  b.input("x", {1, 3, 2, 2}).output("y").init("thr", {1, 3}, thr).init("c", {1, 3, 1, 1}, c);
  b.node("Add", {"x", "c"}, {"t"});
  b.mt("t", "thr", "y");
  Model m0 = b.done();
  auto ins = boundary_inputs("x", {1, 3, 2, 2}, thr, c, false);
  Model m = check_pass(m0, "AbsorbAddIntoMultiThreshold", true, true, ins);
  EXPECT_EQ(op_types(m), std::vector<std::string>{"MultiThreshold"});
  EXPECT_EQ(m.graph.get_initializer(m.graph.nodes[0].inputs[1])->shape(), (Shape{3, 3}));
}

TEST(StreamlineAbsorb, PerChannelMulIntoThresholdsNhwcIncludingZero) {
  const std::vector<float> thr = {-0.3f, 0.1f, 0.7f, -1.f, 0.f, 1.f}, c = {0.1f, 0.f};
  Builder b;
  b.input("x", {1, 2, 2, 2}).output("y").init("thr", {2, 3}, thr).init("c", {2}, c);
  b.node("Mul", {"x", "c"}, {"t"});
  b.mt("t", "thr", "y").set_string("data_layout", "NHWC");
  Model m = check_pass(b.done(), "AbsorbMulIntoMultiThreshold", true, true,
                       boundary_inputs("x", {1, 2, 2, 2}, thr, c, true));
  EXPECT_EQ(op_types(m), std::vector<std::string>{"MultiThreshold"});
}

TEST(StreamlineAbsorb, NegativeScaleRefused) {
  clear_refusals();
  Builder b;
  b.input("x", {1, 3}).output("y").init("thr", {1, 2}, {0.f, 1.f}).init("c", {3}, {0.5f, -2.f, 1.f});
  b.node("Mul", {"x", "c"}, {"t"}).name = "Mul_7";
  b.mt("t", "thr", "y");
  check_pass(b.done(), "AbsorbMulIntoMultiThreshold", true, false);
  EXPECT_TRUE(refused("Mul_7", "AbsorbMulIntoMultiThreshold", "negative"));
}

TEST(StreamlineAbsorb, ScaleOnWrongAxisRefused) {
  clear_refusals();
  Builder b;
  b.input("x", {1, 3, 2, 2}).output("y").init("thr", {1, 2}, {0.f, 1.f}).init("c", {2}, {0.5f, 2.f});
  b.node("Mul", {"x", "c"}, {"t"}).name = "WMul";
  b.mt("t", "thr", "y");  // NCHW: channels on axis 1, the scale varies along axis 3
  check_pass(b.done(), "AbsorbMulIntoMultiThreshold", true, false);
  EXPECT_TRUE(refused("WMul", "AbsorbMulIntoMultiThreshold", "axis 1"));
}

TEST(StreamlineAbsorb, RandomThresholdTransferIsBitExact) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> d(-10, 10);
  for (int trial = 0; trial < 20; ++trial) {
    const bool mul = trial % 2;
    std::vector<float> thr(5), c(3);
    for (auto& t : thr) t = d(rng);
    std::sort(thr.begin(), thr.end());
    for (auto& k : c) k = mul ? std::fabs(d(rng)) * 0.37f : d(rng) * 1.3f;
    Builder b;
    b.input("x", {2, 3}).output("y").init("thr", {1, 5}, thr).init("c", {3}, c);
    b.node(mul ? "Mul" : "Add", {"x", "c"}, {"t"});
    b.mt("t", "thr", "y", "UINT3");
    auto ins = boundary_inputs("x", {2, 3}, thr, c, mul);
    check_pass(b.done(), mul ? "AbsorbMulIntoMultiThreshold" : "AbsorbAddIntoMultiThreshold", true, true, ins);
  }
}

TEST(StreamlineAbsorb, SignBiasIntoOutBias) {
  Builder b;
  b.input("x", {1, 3}).output("y").init("thr", {1, 3}, {-1.f, 0.f, 1.f}).init("c", {}, {-2.f});
  b.mt("x", "thr", "t");
  b.node("Add", {"t", "c"}, {"y"});
  Model m = check_pass(b.done(), "AbsorbSignBiasIntoMultiThreshold", true);
  EXPECT_EQ(op_types(m), std::vector<std::string>{"MultiThreshold"});
  EXPECT_EQ(m.graph.nodes[0].get_string("out_dtype"), "INT2");
  EXPECT_EQ(m.graph.get_datatype("y"), DataType::sint(2));
}

TEST(StreamlineAbsorb, FactorOutSignThenAbsorbIntoMatMulWeights) {
  Builder b;
  b.input("x", {2, 3}).output("y").init("W", {3, 2}, {1, -2, 1, 0, -2, 1}, "INT2");
  b.init("c", {2}, {-0.5f, 3.f});
  b.node("MatMul", {"x", "W"}, {"t"});
  b.node("Mul", {"t", "c"}, {"y"});
  Model m0 = b.done();
  auto ins = rand_inputs(m0, 3, -3, 3, true);
  Model m = check_pass(m0, "FactorOutMulSignMagnitude", true, true, ins);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"MatMul", "Mul", "Mul"}));
  m = check_pass(m, "Absorb1BitMulIntoMatMul", true, true, ins);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"MatMul", "Mul"}));
  // -(-2) = 2 does not fit INT2 any more
  EXPECT_EQ(m.graph.get_datatype(m.graph.nodes[0].inputs[1]), DataType::sint(3));
}

TEST(StreamlineAbsorb, OneBitMulIntoConvWeightsAndBias) {
  Builder b;
  b.input("x", {1, 2, 3, 3}).output("y").init("W", {2, 2, 2, 2}, iota_f(16, -8, 1), "INT4");
  b.init("bias", {2}, {3.f, -4.f}).init("c", {1, 2, 1, 1}, {-1.f, 1.f});
  b.node("Conv", {"x", "W", "bias"}, {"t"});
  b.node("Mul", {"t", "c"}, {"y"});
  Model m0 = b.done();
  Model m = check_pass(m0, "Absorb1BitMulIntoConv", true, true, rand_inputs(m0, 3, -3, 3, true));
  EXPECT_EQ(op_types(m), std::vector<std::string>{"Conv"});
  // channel 0 (-8..-1) is negated: the weights are now 0..8
  EXPECT_EQ(m.graph.get_datatype(m.graph.nodes[0].inputs[1]), DataType::uint(4));
}

// ---------------------------------------------------------------- rounding

TEST(StreamlineRound, IntegerInputThresholdsAreBitExact) {
  for (const std::string dt : {"UINT4", "INT4", "BIPOLAR"}) {
    Builder b;
    b.input("x", {1, 16, 2}, dt).output("y");  // rank 3: channels last
    b.init("thr", {2, 4}, {-9.5f, -0.5f, 0.f, 2.2f, 3.7f, 7.01f, 15.f, 100.f});
    b.mt("x", "thr", "y", "UINT3");
    const DataType d = DataType::from_name(dt);
    std::vector<float> v;
    for (int r = 0; r < 2; ++r)
      for (double k = d.min(); v.size() < (size_t)(16 * (r + 1)); k = k + 1 > d.max() ? d.min() : k + 1)
        if (d.allowed(k)) v.push_back((float)k);
    Model m = check_pass(b.done(), "RoundAndClipThresholds", true, true,
                         {{{"x", Tensor::from_vector<float>({1, 16, 2}, v)}}});
    for (float t : m.graph.get_initializer(m.graph.nodes[0].inputs[1])->to_float()) {
      EXPECT_EQ(t, std::ceil(t)) << dt;
      EXPECT_GE(t, d.min()) << dt;
      EXPECT_LE(t, d.max() + 1) << dt;
    }
    Model again = m;
    EXPECT_FALSE(apply_pass(again, "RoundAndClipThresholds"));
  }
}

// FINN's convention: a signed activation's MultiThreshold declares INT2 but
// counts 0..3 until its bias Add is absorbed. Clipping to INT2's range would
// cut off level 3; the pass must use the producer's real levels.
TEST(StreamlineRound, ProvisionalSignedOutDtypeIsNotTrusted) {
  Builder b;
  b.input("x", {1, 4}).output("y").init("t0", {1, 3}, {-1.f, 0.f, 1.f}).init("t1", {1, 3}, {0.5f, 2.5f, 3.f});
  b.mt("x", "t0", "a", "INT2");
  b.mt("a", "t1", "y", "UINT2");
  Model m0 = b.done();
  ASSERT_EQ(m0.graph.get_datatype("a"), DataType::sint(2));
  std::vector<TensorMap> ins = {{{"x", Tensor::from_vector<float>({1, 4}, {-2.f, -0.5f, 0.5f, 2.f})}}};
  Model m = check_pass(m0, "RoundAndClipThresholds", true, true, ins);
  EXPECT_EQ(m.graph.get_initializer(m.graph.nodes[1].inputs[1])->to_float(), (std::vector<float>{1.f, 3.f, 3.f}));
}

TEST(StreamlineAbsorb, SignBiasCopiedIntoAForkIsAbsorbedOnce) {
  Builder b;
  b.input("x", {1, 3}).output("y").output("z").init("thr", {1, 3}, {-1.f, 0.f, 1.f}).init("c", {1}, {-2.f});
  b.init("c2", {}, {-2.f});
  b.mt("x", "thr", "t", "INT2");
  b.node("Add", {"t", "c"}, {"u"});
  b.node("Add", {"c2", "t"}, {"v"});
  b.node("Relu", {"u"}, {"y"});
  b.node("Neg", {"v"}, {"z"});
  Model m = check_pass(b.done(), "AbsorbSignBiasIntoMultiThreshold", true);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"MultiThreshold", "Relu", "Neg"}));
  EXPECT_EQ(m.graph.nodes[0].get_float("out_bias"), -2.f);
}

TEST(StreamlineRound, FloatInputRefused) {
  clear_refusals();
  Builder b;
  b.input("x", {1, 2}).output("y").init("thr", {1, 1}, {0.5f});
  b.mt("x", "thr", "y").name = "MT_f";
  check_pass(b.done(), "RoundAndClipThresholds", true, false);
  EXPECT_TRUE(refused("MT_f", "RoundAndClipThresholds", "FLOAT32"));
}

TEST(StreamlineRound, ExactSignBecomesBipolarOnIntegerInput) {
  Builder b;
  b.input("x", {1, 4}, "INT8").output("y").init("c", {}, {0.5f});
  b.node("Add", {"x", "c"}, {"t"});
  b.node("Sign", {"t"}, {"y"});
  Model m0 = b.done();
  auto ins = rand_inputs(m0, 4, -6, 6, true);
  Model m = check_pass(m0, "ConvertSignToThres", true, true, ins);
  m = check_pass(m, "AbsorbAddIntoMultiThreshold", true, true, ins);
  m = check_pass(m, "RoundAndClipThresholds", true, true, ins);
  ASSERT_EQ(op_types(m), std::vector<std::string>{"MultiThreshold"});
  EXPECT_EQ(m.graph.nodes[0].get_string("out_dtype"), "BIPOLAR");
  EXPECT_EQ(m.graph.get_initializer(m.graph.nodes[0].inputs[1])->shape(), (Shape{1, 1}));
}

// ---------------------------------------------------------------- whole sequence

TEST(StreamlineSequence, FcLayerEndsAsIntegerMatMulAndThresholds) {
  // MT(INT2 via bias) -> Mul(act scale) -> MatMul(int W) -> Mul(w scale, per column)
  // -> Add(bias) -> BN -> MT: the shape of a QONNX->FINN converted layer.
  Builder b;
  b.input("x", {1, 4}, "INT4").output("y");
  b.init("thr0", {1, 3}, {-1.f, 0.f, 1.f}).init("m2", {}, {-2.f}).init("as", {}, {0.37f});
  b.init("W", {4, 3}, {1, -1, 0, 1, 1, -1, -1, 0, 1, 0, 1, 1}, "INT2");
  b.init("ws", {3}, {0.2f, 0.05f, 0.7f}).init("bias", {3}, {0.1f, -0.2f, 0.3f});
  b.init("s", {3}, {1.5f, -0.5f, 2.f}).init("bb", {3}, {0.1f, 0.2f, -0.3f});
  b.init("mu", {3}, {0.f, 1.f, -1.f}).init("var", {3}, {1.f, 0.25f, 4.f});
  b.init("thr1", {1, 3}, {-0.4f, 0.05f, 0.6f});
  b.mt("x", "thr0", "a0");
  b.node("Add", {"a0", "m2"}, {"a1"});
  b.node("Mul", {"a1", "as"}, {"a2"});
  b.node("MatMul", {"a2", "W"}, {"h0"});
  b.node("Mul", {"h0", "ws"}, {"h1"});
  b.node("Add", {"h1", "bias"}, {"h2"});
  b.node("BatchNormalization", {"h2", "s", "bb", "mu", "var"}, {"h3"});
  b.mt("h3", "thr1", "y");
  Model m0 = b.done();
  std::vector<TensorMap> ins;
  for (int k = 0; k < 32; ++k) ins.push_back({{"x", rand_tensor({1, 4}, 100 + k, -8, 7, true)}});
  Model m = m0;
  EXPECT_TRUE(apply_pass(m, "Streamline"));
  expect_same_outputs(m0, m, ins, true);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"MultiThreshold", "MatMul", "MultiThreshold"}));
  for (const auto& n : m.graph.nodes) {
    if (n.op_type != "MultiThreshold") continue;
    for (float t : m.graph.get_initializer(n.inputs[1])->to_float()) EXPECT_EQ(t, std::ceil(t));
  }
}

}  // namespace
}  // namespace sf
