// Data-movement ops (reshape/, transpose/, concat/, split/, slice/, pad/,
// gather/, argmax/, topk/, reduce/, constant/, shape/, resize/): small
// hand-computed cases and attribute errors. Randomized comparisons against
// onnxruntime live in tests/python/test_onnx_ops_shape.py.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ops/op.h"

using namespace sf;

namespace {

using I64 = std::vector<int64_t>;

Node make_node(const std::string& op, std::vector<std::string> inputs, size_t n_out = 1) {
  Node n;
  n.name = op + "_0";
  n.op_type = op;
  n.inputs = std::move(inputs);
  for (size_t i = 0; i < n_out; ++i) n.outputs.push_back("out" + std::to_string(i));
  return n;
}

const OpDef& def_of(const std::string& op) {
  const OpDef* d = OpRegistry::instance().find(op, "");
  if (!d) throw std::runtime_error("op not registered: " + op);
  return *d;
}

std::vector<Tensor> run(const Node& n, std::vector<const Tensor*> in, int64_t opset = 18) {
  const OpDef& d = def_of(n.op_type);
  if (d.validate) d.validate(n);
  ExecCtx c{n, opset, std::move(in), {}};
  d.execute(c);
  return c.out;
}

Tensor run1(const Node& n, std::vector<const Tensor*> in, int64_t opset = 18) { return run(n, std::move(in), opset)[0]; }

template <typename T>
std::vector<T> vals(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

Tensor iota_f(const Shape& s) {
  std::vector<float> v((size_t)shape_numel(s));
  for (size_t i = 0; i < v.size(); ++i) v[i] = (float)i;
  return Tensor::from_vector<float>(s, v);
}

Tensor ints(const I64& v) { return Tensor::from_vector<int64_t>({(int64_t)v.size()}, v); }

// Shape inference of node `n` whose inputs have the given shapes; constants
// (by input index) are attached as values.
Shape infer(const Node& n, const std::vector<Shape>& shapes, const std::vector<const Tensor*>& consts = {},
            int64_t opset = 18, size_t out = 0) {
  Model m;
  m.set_opset_version("", opset);
  InferCtx c{n, m, {}, {}};
  for (size_t i = 0; i < shapes.size(); ++i) {
    TensorInfo ti;
    ti.elem_type = ElemType::FLOAT;
    ti.shape = shapes[i];
    if (i < consts.size()) ti.value = consts[i];
    if (ti.value) ti.elem_type = consts[i]->type();
    c.in.push_back(ti);
  }
  def_of(n.op_type).infer_shape(c);
  return *c.out.at(out).shape;
}

// Asserts a ModelError whose message names the node and contains `needle`.
template <typename F>
void expect_model_error(F&& f, const std::string& node, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected ModelError mentioning '" << needle << "'";
  } catch (const ModelError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(node), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_FALSE(e.hint().empty()) << msg;
  }
}

}  // namespace

TEST(OpsShape, ReshapeZeroCopiesAndMinusOneInfers) {
  Node n = make_node("Reshape", {"x", "s"});
  Tensor x = iota_f({2, 3, 4}), s = ints({0, -1});
  Tensor y = run1(n, {&x, &s});
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  EXPECT_EQ(vals<float>(y), vals<float>(x));
  EXPECT_EQ(infer(n, {{2, 3, 4}, {2}}, {nullptr, &s}), (Shape{2, 12}));
  // allowzero=1: a literal 0 is a zero-sized dimension.
  Tensor e(ElemType::FLOAT, {0, 3}), s0 = ints({3, 0});
  n.set_int("allowzero", 1);
  EXPECT_EQ(run1(n, {&e, &s0}).shape(), (Shape{3, 0}));
}

TEST(OpsShape, ReshapeErrors) {
  Node n = make_node("Reshape", {"x", "s"});
  Tensor x = iota_f({2, 3}), bad = ints({4, -1}), two = ints({-1, -1});
  expect_model_error([&] { run(n, {&x, &bad}); }, "Reshape_0", "cannot reshape");
  expect_model_error([&] { run(n, {&x, &two}); }, "Reshape_0", "more than one -1");
  // The shape input must be a constant for shape inference.
  expect_model_error([&] { infer(n, {{2, 3}, {2}}); }, "Reshape_0", "constant");
}

TEST(OpsShape, FlattenAxes) {
  Node n = make_node("Flatten", {"x"});
  Tensor x = iota_f({2, 3, 4});
  EXPECT_EQ(run1(n, {&x}).shape(), (Shape{2, 12}));
  n.set_int("axis", 0);
  EXPECT_EQ(run1(n, {&x}).shape(), (Shape{1, 24}));
  n.set_int("axis", -1);
  EXPECT_EQ(run1(n, {&x}).shape(), (Shape{6, 4}));
  n.set_int("axis", 3);
  EXPECT_EQ(run1(n, {&x}).shape(), (Shape{24, 1}));
  n.set_int("axis", 4);
  expect_model_error([&] { run(n, {&x}); }, "Flatten_0", "axis");
}

TEST(OpsShape, SqueezeUnsqueeze) {
  Tensor x = iota_f({1, 3, 1, 2});
  Node sq = make_node("Squeeze", {"x"});
  EXPECT_EQ(run1(sq, {&x}).shape(), (Shape{3, 2}));
  Node sq2 = make_node("Squeeze", {"x", "a"});
  Tensor a = ints({-2});
  EXPECT_EQ(run1(sq2, {&x, &a}).shape(), (Shape{1, 3, 2}));
  Tensor bad = ints({1});
  expect_model_error([&] { run(sq2, {&x, &bad}); }, "Squeeze_0", "size 3");
  // Opset 11 attribute form.
  Node sq_attr = make_node("Squeeze", {"x"});
  sq_attr.set_ints("axes", {0});
  EXPECT_EQ(run1(sq_attr, {&x}, 11).shape(), (Shape{3, 1, 2}));

  Node un = make_node("Unsqueeze", {"x", "a"});
  Tensor y = iota_f({3, 4}), ua = ints({0, -1});
  EXPECT_EQ(run1(un, {&y, &ua}).shape(), (Shape{1, 3, 4, 1}));
  Tensor dup = ints({1, 1});
  expect_model_error([&] { run(un, {&y, &dup}); }, "Unsqueeze_0", "twice");
  Tensor far = ints({3});
  expect_model_error([&] { run(un, {&y, &far}); }, "Unsqueeze_0", "axes[0]");
}

TEST(OpsShape, ExpandBroadcastsBothWays) {
  Node n = make_node("Expand", {"x", "s"});
  Tensor x = Tensor::from_vector<int32_t>({3, 1}, {1, 2, 3}), s = ints({2, 1, 4});
  Tensor y = run1(n, {&x, &s});
  EXPECT_EQ(y.shape(), (Shape{2, 3, 4}));
  auto v = vals<int32_t>(y);
  EXPECT_EQ(v[0], 1);
  EXPECT_EQ(v[4], 2);
  EXPECT_EQ(v[23], 3);
  Tensor bad = ints({2, 2});
  expect_model_error([&] { run(n, {&x, &bad}); }, "Expand_0", "cannot be expanded");
}

TEST(OpsShape, TransposeDefaultAndPerm) {
  Node n = make_node("Transpose", {"x"});
  Tensor x = iota_f({2, 3});
  Tensor y = run1(n, {&x});
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(vals<float>(y), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  Node p = make_node("Transpose", {"x"});
  p.set_ints("perm", {1, 0, 2});
  Tensor z = iota_f({2, 2, 2});
  EXPECT_EQ(vals<float>(run1(p, {&z})), (std::vector<float>{0, 1, 4, 5, 2, 3, 6, 7}));
  p.set_ints("perm", {0, 0, 1});
  expect_model_error([&] { run(p, {&z}); }, "Transpose_0", "perm");
  p.set_ints("perm", {1, 0});
  expect_model_error([&] { run(p, {&z}); }, "Transpose_0", "perm");
}

TEST(OpsShape, TransposeMovesEveryElementType) {
  Node n = make_node("Transpose", {"x"});
  Tensor b = Tensor::from_vector<bool>({2, 2}, {true, false, false, true});
  b.data<bool>()[1] = true;  // [[1,1],[0,1]]
  EXPECT_EQ(vals<bool>(run1(n, {&b})), (std::vector<bool>{true, false, true, true}));
  const uint64_t big = std::numeric_limits<uint64_t>::max() - 1;
  Tensor u = Tensor::from_vector<uint64_t>({1, 2}, {big, 7});
  EXPECT_EQ(vals<uint64_t>(run1(n, {&u})), (std::vector<uint64_t>{big, 7}));
  Tensor h(ElemType::FLOAT16, {2, 1});
  static_cast<uint16_t*>(h.raw())[0] = 0x3c00;  // 1.0
  static_cast<uint16_t*>(h.raw())[1] = 0xc000;  // -2.0
  Tensor hy = run1(n, {&h});
  EXPECT_EQ(hy.type(), ElemType::FLOAT16);
  EXPECT_EQ(static_cast<const uint16_t*>(hy.raw())[1], 0xc000);
}

TEST(OpsShape, ConcatNegativeAxis) {
  Node n = make_node("Concat", {"a", "b"});
  n.set_int("axis", -1);
  Tensor a = Tensor::from_vector<int8_t>({2, 1}, {1, 2}), b = Tensor::from_vector<int8_t>({2, 2}, {3, 4, 5, 6});
  Tensor y = run1(n, {&a, &b});
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(vals<int8_t>(y), (std::vector<int8_t>{1, 3, 4, 2, 5, 6}));
  Tensor c = Tensor::from_vector<int8_t>({3, 1}, {0, 0, 0});
  expect_model_error([&] { run(n, {&a, &c}); }, "Concat_0", "does not match");
  Node noaxis = make_node("Concat", {"a", "b"});
  expect_model_error([&] { run(noaxis, {&a, &b}, 13); }, "Concat_0", "axis");
}

TEST(OpsShape, SplitForms) {
  Tensor x = iota_f({7, 2});
  Node eq = make_node("Split", {"x"}, 3);
  eq.set_int("num_outputs", 3);
  auto outs = run(eq, {&x});
  ASSERT_EQ(outs.size(), 3u);
  EXPECT_EQ(outs[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(outs[2].shape(), (Shape{1, 2}));
  EXPECT_EQ(vals<float>(outs[2]), (std::vector<float>{12, 13}));
  Node sz = make_node("Split", {"x", "s"}, 2);
  Tensor s = ints({2, 5});
  auto o2 = run(sz, {&x, &s});
  EXPECT_EQ(o2[1].shape(), (Shape{5, 2}));
  EXPECT_EQ(vals<float>(o2[1])[0], 4.f);
  EXPECT_EQ(infer(sz, {{7, 2}, {2}}, {nullptr, &s}, 18, 1), (Shape{5, 2}));
  Node attr = make_node("Split", {"x"}, 2);
  attr.set_ints("split", {1, 1});
  attr.set_int("axis", 1);
  EXPECT_EQ(run(attr, {&x}, 11)[0].shape(), (Shape{7, 1}));
  Node uneven = make_node("Split", {"x"}, 2);
  expect_model_error([&] { run(uneven, {&x}, 13); }, "Split_0", "evenly");
  Tensor wrong = ints({3, 3});
  expect_model_error([&] { run(sz, {&x, &wrong}); }, "Split_0", "split");
}

TEST(OpsShape, SliceClampsAndSteps) {
  Tensor x = iota_f({5});
  Node n = make_node("Slice", {"x", "s", "e", "a", "p"});
  const int64_t big = std::numeric_limits<int64_t>::max();
  Tensor s = ints({-1}), e = ints({-big}), a = ints({0}), p = ints({-2});
  EXPECT_EQ(vals<float>(run1(n, {&x, &s, &e, &a, &p})), (std::vector<float>{4, 2, 0}));
  Tensor s2 = ints({1}), e2 = ints({big}), p2 = ints({3});
  EXPECT_EQ(vals<float>(run1(n, {&x, &s2, &e2, &a, &p2})), (std::vector<float>{1, 4}));
  Tensor s3 = ints({10}), e3 = ints({20}), p3 = ints({1});
  EXPECT_EQ(run1(n, {&x, &s3, &e3, &a, &p3}).shape(), (Shape{0}));
  Tensor p0 = ints({0});
  expect_model_error([&] { run(n, {&x, &s2, &e2, &a, &p0}); }, "Slice_0", "steps[0]");
  // Huge steps take one element; INT64_MAX as end with a negative step means
  // "to the front" (numpy's None), as onnxruntime reads it.
  Tensor s0 = ints({0}), e_four = ints({4}), pbig = ints({big});
  EXPECT_EQ(vals<float>(run1(n, {&x, &s0, &e_four, &a, &pbig})), (std::vector<float>{0}));
  Tensor s5 = ints({2}), pm1 = ints({-1});
  EXPECT_EQ(vals<float>(run1(n, {&x, &s5, &e2, &a, &pm1})), (std::vector<float>{2, 1, 0}));
  Tensor empty(ElemType::FLOAT, {0});
  EXPECT_EQ(run1(n, {&empty, &s, &e, &a, &p}).shape(), (Shape{0}));
  // Axes on a 2-D input, no steps; int32 index inputs work too.
  Tensor y = iota_f({3, 4});
  Node n2 = make_node("Slice", {"x", "s", "e", "a"});
  Tensor s4 = Tensor::from_vector<int32_t>({1}, {1}), e4 = Tensor::from_vector<int32_t>({1}, {-1}),
         a4 = Tensor::from_vector<int32_t>({1}, {-1});
  Tensor z = run1(n2, {&y, &s4, &e4, &a4});
  EXPECT_EQ(z.shape(), (Shape{3, 2}));
  EXPECT_EQ(vals<float>(z), (std::vector<float>{1, 2, 5, 6, 9, 10}));
  // Opset 1 attribute form.
  Node old = make_node("Slice", {"x"});
  old.set_ints("starts", {0, 2});
  old.set_ints("ends", {2, 100});
  EXPECT_EQ(vals<float>(run1(old, {&y}, 9)), (std::vector<float>{2, 3, 6, 7}));
}

TEST(OpsShape, PadModes) {
  Tensor x = Tensor::from_vector<int32_t>({3}, {1, 2, 3});
  Node n = make_node("Pad", {"x", "p", "v"});
  Tensor p = ints({2, 1}), v = Tensor::scalar<int32_t>(9);
  EXPECT_EQ(vals<int32_t>(run1(n, {&x, &p, &v})), (std::vector<int32_t>{9, 9, 1, 2, 3, 9}));
  n.set_string("mode", "reflect");
  EXPECT_EQ(vals<int32_t>(run1(n, {&x, &p, nullptr})), (std::vector<int32_t>{3, 2, 1, 2, 3, 2}));
  n.set_string("mode", "edge");
  EXPECT_EQ(vals<int32_t>(run1(n, {&x, &p, nullptr})), (std::vector<int32_t>{1, 1, 1, 2, 3, 3}));
  n.set_string("mode", "wrap");
  EXPECT_EQ(vals<int32_t>(run1(n, {&x, &p, nullptr})), (std::vector<int32_t>{2, 3, 1, 2, 3, 1}));
  // Negative pads crop first.
  n.set_string("mode", "constant");
  Tensor crop = ints({-1, 1});
  EXPECT_EQ(vals<int32_t>(run1(n, {&x, &crop, nullptr})), (std::vector<int32_t>{2, 3, 0}));
  n.set_string("mode", "reflect");
  Tensor far = ints({3, 0});
  expect_model_error([&] { run(n, {&x, &far, nullptr}); }, "Pad_0", "reflect");
  Node bn = make_node("Pad", {"x", "p"});
  bn.set_string("mode", "edge");
  Tensor b = Tensor::from_vector<bool>({2}, {false, true});
  EXPECT_EQ(vals<bool>(run1(bn, {&b, &p})), (std::vector<bool>{false, false, false, true, true}));
  n.set_string("mode", "mirror");
  expect_model_error([&] { run(n, {&x, &p, nullptr}); }, "Pad_0", "mode");
}

TEST(OpsShape, PadAttributeFormAndAxes) {
  Tensor x = iota_f({2, 2});
  Node old = make_node("Pad", {"x"});
  old.set_ints("pads", {0, 1, 0, 0});
  old.set_float("value", 1.5f);
  EXPECT_EQ(vals<float>(run1(old, {&x}, 2)), (std::vector<float>{1.5f, 0, 1, 1.5f, 2, 3}));
  Node ax = make_node("Pad", {"x", "p", "", "a"});
  Tensor p = ints({1, 0}), a = ints({-2});
  Tensor y = run1(ax, {&x, &p, nullptr, &a});
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(infer(ax, {{2, 2}, {2}, {}, {1}}, {nullptr, &p, nullptr, &a}), (Shape{3, 2}));
  Tensor short_p = ints({1});
  expect_model_error([&] { run(ax, {&x, &short_p, nullptr, &a}); }, "Pad_0", "pads");
}

TEST(OpsShape, GatherNegativeIndices) {
  Tensor x = iota_f({3, 2});
  Node n = make_node("Gather", {"x", "i"});
  Tensor i = ints({-1, 0});
  Tensor y = run1(n, {&x, &i});
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(vals<float>(y), (std::vector<float>{4, 5, 0, 1}));
  n.set_int("axis", 1);
  Tensor s = Tensor::scalar<int32_t>(-1);
  Tensor z = run1(n, {&x, &s});
  EXPECT_EQ(z.shape(), (Shape{3}));
  EXPECT_EQ(vals<float>(z), (std::vector<float>{1, 3, 5}));
  Tensor oob = ints({2});
  expect_model_error([&] { run(n, {&x, &oob}); }, "Gather_0", "out of range");
}

TEST(OpsShape, ArgMaxArgMinTies) {
  Tensor x = Tensor::from_vector<float>({2, 3}, {1, 5, 5, 2, 0, 0});
  Node mx = make_node("ArgMax", {"x"});
  mx.set_int("axis", 1);
  Tensor y = run1(mx, {&x});
  EXPECT_EQ(y.shape(), (Shape{2, 1}));
  EXPECT_EQ(vals<int64_t>(y), (I64{1, 0}));
  mx.set_int("select_last_index", 1);
  mx.set_int("keepdims", 0);
  Tensor z = run1(mx, {&x});
  EXPECT_EQ(z.shape(), (Shape{2}));
  EXPECT_EQ(vals<int64_t>(z), (I64{2, 0}));
  Node mn = make_node("ArgMin", {"x"});
  mn.set_int("axis", -1);
  EXPECT_EQ(vals<int64_t>(run1(mn, {&x})), (I64{0, 1}));
  mn.set_int("keepdims", 2);
  expect_model_error([&] { run(mn, {&x}); }, "ArgMin_0", "keepdims");
  const OpDef& d = def_of("ArgMax");
  Model m;
  DataTypeCtx dc{mx, m, {DataType()}, {DataType::sint(4)}, {nullptr}};
  EXPECT_EQ(d.infer_datatype(dc)[0], DataType::sint(64));
}

TEST(OpsShape, TopKStableAndUnsorted) {
  Tensor x = Tensor::from_vector<float>({6}, {3, 1, 4, 1, 5, 4});
  Node n = make_node("TopK", {"x", "k"}, 2);
  Tensor k = ints({3});
  auto o = run(n, {&x, &k});
  EXPECT_EQ(vals<float>(o[0]), (std::vector<float>{5, 4, 4}));
  EXPECT_EQ(vals<int64_t>(o[1]), (I64{4, 2, 5}));
  n.set_int("largest", 0);
  o = run(n, {&x, &k});
  EXPECT_EQ(vals<int64_t>(o[1]), (I64{1, 3, 0}));
  n.set_int("sorted", 0);
  o = run(n, {&x, &k});
  EXPECT_EQ(vals<int64_t>(o[1]), (I64{0, 1, 3}));
  Tensor k9 = ints({7});
  expect_model_error([&] { run(n, {&x, &k9}); }, "TopK_0", "k = 7");
  // Opset 1: k attribute.
  Node old = make_node("TopK", {"x"}, 2);
  old.set_int("k", 2);
  EXPECT_EQ(vals<int64_t>(run(old, {&x}, 1)[1]), (I64{4, 2}));
  const OpDef& d = def_of("TopK");
  Model m;
  DataTypeCtx dc{n, m, {DataType(), DataType()}, {DataType::uint(3), DataType::sint(64)}, {nullptr, &k}};
  auto dts = d.infer_datatype(dc);
  ASSERT_EQ(dts.size(), 2u);
  EXPECT_EQ(dts[0], DataType::uint(3));
  EXPECT_EQ(dts[1], DataType::sint(64));
}

TEST(OpsShape, ReduceOps) {
  Tensor x = Tensor::from_vector<int32_t>({2, 3}, {1, 2, 3, 4, 5, 7});
  Node sum = make_node("ReduceSum", {"x", "a"});
  Tensor a = ints({-1});
  Tensor y = run1(sum, {&x, &a});
  EXPECT_EQ(y.shape(), (Shape{2, 1}));
  EXPECT_EQ(vals<int32_t>(y), (std::vector<int32_t>{6, 16}));
  Node all = make_node("ReduceSum", {"x"});
  all.set_int("keepdims", 0);
  EXPECT_EQ(run1(all, {&x}).shape(), Shape{});
  EXPECT_EQ(vals<int32_t>(run1(all, {&x}))[0], 22);
  Node noop = make_node("ReduceSum", {"x", "a"});
  noop.set_int("noop_with_empty_axes", 1);
  Tensor none = ints({});
  EXPECT_EQ(run1(noop, {&x, &none}).shape(), (Shape{2, 3}));
  Node mean = make_node("ReduceMean", {"x"});
  mean.set_ints("axes", {0});
  EXPECT_EQ(vals<int32_t>(run1(mean, {&x}, 13)), (std::vector<int32_t>{2, 3, 5}));
  Node mx = make_node("ReduceMax", {"x"});
  mx.set_ints("axes", {1});
  mx.set_int("keepdims", 0);
  EXPECT_EQ(vals<int32_t>(run1(mx, {&x}, 13)), (std::vector<int32_t>{3, 7}));
  Node mn = make_node("ReduceMin", {"x"});
  EXPECT_EQ(vals<int32_t>(run1(mn, {&x}, 13)), (std::vector<int32_t>{1}));
  mx.set_ints("axes", {2});
  expect_model_error([&] { run(mx, {&x}, 13); }, "ReduceMax_0", "axes[0]");
}

TEST(OpsShape, ConstantAndShape) {
  Node c = make_node("Constant", {});
  c.set_ints("value_ints", {4, 5});
  Tensor t = run1(c, {});
  EXPECT_EQ(t.type(), ElemType::INT64);
  EXPECT_EQ(vals<int64_t>(t), (I64{4, 5}));
  c.set_float("value_float", 1.f);
  expect_model_error([&] { run(c, {}); }, "Constant_0", "exactly one");
  Node v = make_node("Constant", {});
  v.set_tensor("value", Tensor::from_vector<int8_t>({2}, {-3, 3}));
  EXPECT_EQ(vals<int8_t>(run1(v, {})), (std::vector<int8_t>{-3, 3}));

  Tensor x(ElemType::UINT8, {2, 3, 5, 7});
  Node s = make_node("Shape", {"x"});
  EXPECT_EQ(vals<int64_t>(run1(s, {&x})), (I64{2, 3, 5, 7}));
  s.set_int("start", -3);
  s.set_int("end", -1);
  EXPECT_EQ(vals<int64_t>(run1(s, {&x})), (I64{3, 5}));
  s.set_int("start", 10);
  EXPECT_EQ(run1(s, {&x}).shape(), (Shape{0}));
}

TEST(OpsShape, ResizeNearest) {
  Tensor x = iota_f({1, 1, 2, 2});
  Node n = make_node("Resize", {"x", "", "s"});
  n.set_string("coordinate_transformation_mode", "asymmetric");
  n.set_string("nearest_mode", "floor");
  Tensor s = Tensor::from_vector<float>({4}, {1, 1, 2, 2});
  Tensor y = run1(n, {&x, nullptr, &s}, 13);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 4, 4}));
  EXPECT_EQ(vals<float>(y), (std::vector<float>{0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3}));
  // Downsample by sizes, half_pixel + round_prefer_floor (the defaults).
  Tensor z = iota_f({1, 4});
  Node d = make_node("Resize", {"x", "", "", "sz"});
  Tensor sz = ints({1, 2});
  Tensor r = run1(d, {&z, nullptr, nullptr, &sz}, 13);
  EXPECT_EQ(vals<float>(r), (std::vector<float>{0, 2}));  // 0.5 and 2.5 round down
  EXPECT_EQ(infer(d, {{1, 4}, {}, {}, {2}}, {nullptr, nullptr, nullptr, &sz}, 13), (Shape{1, 2}));
  // Opset 10: scales is input 1.
  Node r10 = make_node("Resize", {"x", "s"});
  EXPECT_EQ(run1(r10, {&x, &s}, 10).shape(), (Shape{1, 1, 4, 4}));
  // Upsample-7 with scales attribute.
  Node up = make_node("Upsample", {"x"});
  up.set_floats("scales", {1, 1, 2, 3});
  EXPECT_EQ(run1(up, {&x}, 7).shape(), (Shape{1, 1, 4, 6}));
  up.set_floats("scales", {1, 1, 0.5f, 1});
  expect_model_error([&] { run(up, {&x}, 7); }, "Upsample_0", "scales[2]");
  // Linear: shape inference works, execution is refused with a clear error.
  n.set_string("mode", "linear");
  EXPECT_EQ(infer(n, {{1, 1, 2, 2}, {}, {4}}, {nullptr, nullptr, &s}, 13), (Shape{1, 1, 4, 4}));
  EXPECT_THROW(run(n, {&x, nullptr, &s}, 13), UnsupportedOpError);
}
