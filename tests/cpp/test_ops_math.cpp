// Standard ONNX math ops (elementwise/, matmul/, conv/, batchnorm/, pool/,
// softmax/): small hand-computed cases, shape and datatype rules, attribute
// errors. Randomized comparisons against onnxruntime live in
// tests/python/test_onnx_ops_math.py.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ops/op.h"

using namespace sf;

namespace {

using F = std::vector<float>;

Node mnode(const std::string& op, std::vector<std::string> inputs, size_t n_out = 1) {
  Node n;
  n.name = op + "_0";
  n.op_type = op;
  n.inputs = std::move(inputs);
  for (size_t i = 0; i < n_out; ++i) n.outputs.push_back("out" + std::to_string(i));
  return n;
}

const OpDef& mdef(const std::string& op) {
  const OpDef* d = OpRegistry::instance().find(op, "");
  if (!d) throw std::runtime_error("op not registered: " + op);
  return *d;
}

// Mirrors the executor: input count, validate, execute.
std::vector<Tensor> mrun(const Node& n, std::vector<const Tensor*> in, int64_t opset = 18) {
  const OpDef& d = mdef(n.op_type);
  if (n.inputs.size() < d.min_inputs || n.inputs.size() > d.max_inputs)
    throw ModelError(n.name + ": wrong input count", "fix inputs", n.name);
  if (d.validate) d.validate(n);
  ExecCtx c{n, opset, std::move(in), {}};
  d.execute(c);
  return c.out;
}

Tensor mrun1(const Node& n, std::vector<const Tensor*> in, int64_t opset = 18) { return mrun(n, std::move(in), opset)[0]; }

template <typename T>
std::vector<T> v(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

Tensor f32(const Shape& s, const F& x) { return Tensor::from_vector<float>(s, x); }

Tensor iota(const Shape& s, float start = 0) {
  F x((size_t)shape_numel(s));
  for (size_t i = 0; i < x.size(); ++i) x[i] = start + (float)i;
  return f32(s, x);
}

std::vector<TensorInfo> infos(const std::vector<Shape>& shapes, ElemType t = ElemType::FLOAT) {
  std::vector<TensorInfo> r;
  for (const Shape& s : shapes) {
    TensorInfo ti;
    ti.elem_type = t;
    ti.shape = s;
    r.push_back(ti);
  }
  return r;
}

TensorInfo infer(const Node& n, const std::vector<TensorInfo>& in, int64_t opset = 18, size_t out = 0) {
  Model m;
  m.set_opset_version("", opset);
  InferCtx c{n, m, in, {}};
  c.out.resize(n.outputs.size());
  mdef(n.op_type).infer_shape(c);
  return c.out.at(out);
}

Shape infer_shape(const Node& n, const std::vector<Shape>& shapes, int64_t opset = 18) {
  return *infer(n, infos(shapes), opset).shape;
}

std::vector<DataType> dtypes(const Node& n, const std::vector<std::string>& in,
                             const std::vector<std::string>& cur = {}) {
  Model m;
  DataTypeCtx c{n, m, {}, {}, {}};
  for (const auto& s : cur) c.out_current.push_back(DataType::from_name(s));
  for (const auto& s : in) {
    c.in.push_back(DataType::from_name(s));
    c.in_value.push_back(nullptr);
  }
  const OpDef& d = mdef(n.op_type);
  if (!d.infer_datatype) return std::vector<DataType>(n.outputs.size(), DataType::float32());
  return d.infer_datatype(c);
}

template <typename Fn>
void expect_error(Fn&& f, const std::string& needle, const std::string& node) {
  try {
    f();
    ADD_FAILURE() << "expected ModelError mentioning '" << needle << "'";
  } catch (const ModelError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(node), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_FALSE(e.hint().empty()) << msg;
  }
}

void expect_near(const F& got, const F& want, float tol = 1e-6f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

}  // namespace

// ---- elementwise --------------------------------------------------------------

TEST(MathElementwise, AddBroadcastsPerChannel) {
  Node n = mnode("Add", {"a", "b"});
  Tensor a = iota({2, 2, 3}), b = f32({2, 1}, {100, 200});
  Tensor y = mrun1(n, {&a, &b});
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(v<float>(y), (F{100, 101, 102, 203, 204, 205, 106, 107, 108, 209, 210, 211}));
  EXPECT_EQ(infer_shape(n, {{2, 2, 3}, {2, 1}}), (Shape{2, 2, 3}));
  expect_error([&] { infer_shape(n, {{2, 3}, {4}}); }, "do not broadcast", "Add_0");
}

TEST(MathElementwise, IntegerArithmetic) {
  Tensor a = Tensor::from_vector<int32_t>({5}, {7, -7, 7, -7, std::numeric_limits<int32_t>::min()});
  Tensor b = Tensor::from_vector<int32_t>({5}, {2, 2, -2, -2, -1});
  EXPECT_EQ(v<int32_t>(mrun1(mnode("Div", {"a", "b"}), {&a, &b})),
            (std::vector<int32_t>{3, -3, -3, 3, std::numeric_limits<int32_t>::min()}));
  EXPECT_EQ(v<int32_t>(mrun1(mnode("Sub", {"a", "b"}), {&a, &b}))[0], 5);
  Tensor z = Tensor::from_vector<int64_t>({1}, {0}), one = Tensor::from_vector<int64_t>({1}, {1});
  expect_error([&] { mrun(mnode("Div", {"a", "b"}), {&one, &z}); }, "division by zero", "Div_0");
  Tensor fl = f32({1}, {1});
  expect_error([&] { mrun(mnode("Add", {"a", "b"}), {&fl, &one}); }, "different element types", "Add_0");
  Tensor i8 = Tensor::from_vector<int8_t>({1}, {1});
  expect_error([&] { mrun(mnode("Mul", {"a", "b"}), {&i8, &i8}); }, "int8", "Mul_0");
}

TEST(MathElementwise, PowVariadicAndWhere) {
  Tensor base = Tensor::from_vector<int64_t>({3}, {3, -2, 10}), e = Tensor::from_vector<int64_t>({1}, {4});
  EXPECT_EQ(v<int64_t>(mrun1(mnode("Pow", {"a", "b"}), {&base, &e})), (std::vector<int64_t>{81, 16, 10000}));
  Tensor a = f32({3}, {1, 5, 3}), b = f32({1}, {2}), c = f32({2, 1}, {0, 4});
  Node mx = mnode("Max", {"a", "b", "c"});
  EXPECT_EQ(v<float>(mrun1(mx, {&a, &b, &c})), (F{2, 5, 3, 4, 5, 4}));
  EXPECT_EQ(infer_shape(mx, {{3}, {1}, {2, 1}}), (Shape{2, 3}));
  EXPECT_EQ(v<float>(mrun1(mnode("Mean", {"a", "b"}), {&a, &b})), (F{1.5f, 3.5f, 2.5f}));
  Tensor cond = Tensor::from_vector<bool>({3}, {true, false, true});
  EXPECT_EQ(v<float>(mrun1(mnode("Where", {"c", "x", "y"}), {&cond, &a, &b})), (F{1, 2, 3}));
  Tensor lt = mrun1(mnode("Less", {"a", "b"}), {&a, &b});
  EXPECT_EQ(lt.type(), ElemType::BOOL);
  EXPECT_EQ(v<bool>(lt), (std::vector<bool>{true, false, false}));
  EXPECT_EQ(infer(mnode("Equal", {"a", "b"}), infos({{3}, {1}})).elem_type, ElemType::BOOL);
}

TEST(MathElementwise, UnaryOps) {
  Tensor x = f32({7}, {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 2.6f});
  EXPECT_EQ(v<float>(mrun1(mnode("Round", {"x"}), {&x})), (F{-2, -2, -0, 0, 2, 2, 3}));
  EXPECT_EQ(v<float>(mrun1(mnode("Relu", {"x"}), {&x})), (F{0, 0, 0, 0.5f, 1.5f, 2.5f, 2.6f}));
  Tensor s = f32({3}, {-3, 0, 2});
  EXPECT_EQ(v<float>(mrun1(mnode("Sign", {"x"}), {&s})), (F{-1, 0, 1}));
  Tensor big = f32({2}, {-1000, 1000});
  EXPECT_EQ(v<float>(mrun1(mnode("Sigmoid", {"x"}), {&big})), (F{0, 1}));
  Tensor i = Tensor::from_vector<int32_t>({3}, {-4, 0, 5});
  EXPECT_EQ(v<int32_t>(mrun1(mnode("Abs", {"x"}), {&i})), (std::vector<int32_t>{4, 0, 5}));
  EXPECT_EQ(v<int32_t>(mrun1(mnode("Neg", {"x"}), {&i})), (std::vector<int32_t>{4, 0, -5}));
  expect_error([&] { mrun(mnode("Exp", {"x"}), {&i}); }, "int32", "Exp_0");
}

TEST(MathElementwise, Float16GoesThroughFloat32) {
  Tensor a = f32({3}, {1.5f, -2, 0.25f}).cast(ElemType::FLOAT16);
  Tensor b = f32({1}, {2}).cast(ElemType::FLOAT16);
  Tensor y = mrun1(mnode("Mul", {"a", "b"}), {&a, &b});
  EXPECT_EQ(y.type(), ElemType::FLOAT16);
  EXPECT_EQ(y.to_float(), (F{3, -4, 0.5f}));
}

TEST(MathElementwise, ClipForms) {
  Tensor x = f32({4}, {-3, -0.5f, 0.5f, 3});
  Node old = mnode("Clip", {"x"});
  old.set_float("min", -1);
  old.set_float("max", 1);
  EXPECT_EQ(v<float>(mrun1(old, {&x}, 6)), (F{-1, -0.5f, 0.5f, 1}));
  Node nu = mnode("Clip", {"x", "", "hi"});
  Tensor hi = Tensor::scalar<float>(0);
  EXPECT_EQ(v<float>(mrun1(nu, {&x, nullptr, &hi}, 13)), (F{-3, -0.5f, 0, 0}));
  // min > max: everything becomes max.
  Node both = mnode("Clip", {"x", "lo", "hi"});
  Tensor lo = Tensor::scalar<float>(2);
  EXPECT_EQ(v<float>(mrun1(both, {&x, &lo, &hi}, 13)), (F{0, 0, 0, 0}));
  expect_error([&] { mrun(both, {&x, &lo, &hi}, 6); }, "attributes", "Clip_0");
  Tensor vec = f32({2}, {0, 1});
  expect_error([&] { mrun(both, {&x, &vec, &hi}, 13); }, "scalar", "Clip_0");
}

TEST(MathElementwise, CastIdentityDropout) {
  Tensor x = f32({4}, {-1.7f, 0, 2.9f, 300});
  Node c = mnode("Cast", {"x"});
  c.set_int("to", (int64_t)ElemType::INT32);
  EXPECT_EQ(v<int32_t>(mrun1(c, {&x})), (std::vector<int32_t>{-1, 0, 2, 300}));
  EXPECT_EQ(infer(c, infos({{4}})).elem_type, ElemType::INT32);
  c.set_int("to", (int64_t)ElemType::BOOL);
  EXPECT_EQ(v<bool>(mrun1(c, {&x})), (std::vector<bool>{true, false, true, true}));
  c.set_int("to", (int64_t)ElemType::STRING);
  expect_error([&] { mrun(c, {&x}); }, "'to'", "Cast_0");

  Tensor id = mrun1(mnode("Identity", {"x"}), {&x});
  EXPECT_NE(id.raw(), x.raw());  // never aliases the caller's buffer
  EXPECT_EQ(v<float>(id), v<float>(x));

  Node d = mnode("Dropout", {"x"}, 2);
  auto outs = mrun(d, {&x}, 13);
  EXPECT_EQ(v<float>(outs[0]), v<float>(x));
  EXPECT_EQ(v<bool>(outs[1]), (std::vector<bool>(4, true)));
  EXPECT_EQ(mrun(d, {&x}, 7)[1].type(), ElemType::FLOAT);
  Node dt = mnode("Dropout", {"x", "r", "t"});
  Tensor r = Tensor::scalar<float>(0.5f), t = Tensor::scalar<bool>(true);
  expect_error([&] { mrun(dt, {&x, &r, &t}); }, "training_mode", "Dropout_0");
}

// ---- MatMul / Gemm ---------------------------------------------------------------

TEST(MathMatMul, ShapesAndValues) {
  Node n = mnode("MatMul", {"a", "b"});
  Tensor a = iota({2, 3}), b = iota({3, 2});
  EXPECT_EQ(v<float>(mrun1(n, {&a, &b})), (F{10, 13, 28, 40}));
  Tensor v3 = f32({3}, {1, 1, 1});
  Tensor mv = mrun1(n, {&a, &v3});
  EXPECT_EQ(mv.shape(), (Shape{2}));
  EXPECT_EQ(v<float>(mv), (F{3, 12}));
  EXPECT_EQ(mrun1(n, {&v3, &v3}).shape(), (Shape{}));
  EXPECT_EQ(infer_shape(n, {{2, 1, 4, 3}, {5, 3, 6}}), (Shape{2, 5, 4, 6}));
  EXPECT_EQ(infer_shape(n, {{3}, {7, 3, 2}}), (Shape{7, 2}));
  // Batched with a per-batch B: batch 1 uses B[1] = B[0] + 6.
  Tensor ab = iota({2, 1, 3}), bb = iota({2, 3, 1});
  EXPECT_EQ(v<float>(mrun1(n, {&ab, &bb})), (F{5, 50}));
  expect_error([&] { infer_shape(n, {{2, 3}, {4, 5}}); }, "inner dimensions", "MatMul_0");
  expect_error([&] { infer_shape(n, {{2, 2, 3}, {3, 3, 5}}); }, "do not broadcast", "MatMul_0");
  Tensor ia = Tensor::from_vector<int64_t>({1, 2}, {2, 3}), ib = Tensor::from_vector<int64_t>({2, 1}, {4, 5});
  EXPECT_EQ(v<int64_t>(mrun1(n, {&ia, &ib})), (std::vector<int64_t>{23}));
}

TEST(MathMatMul, GemmAttributes) {
  Node n = mnode("Gemm", {"a", "b", "c"});
  n.set_int("transA", 1);
  n.set_int("transB", 1);
  n.set_float("alpha", 2);
  n.set_float("beta", 0.5f);
  Tensor a = iota({3, 2}), b = iota({1, 3}), c = f32({1}, {10});  // op(A) 2x3, op(B) 3x1
  Tensor y = mrun1(n, {&a, &b, &c});
  EXPECT_EQ(y.shape(), (Shape{2, 1}));
  EXPECT_EQ(v<float>(y), (F{2 * 10 + 5, 2 * 13 + 5}));
  EXPECT_EQ(infer_shape(n, {{3, 2}, {1, 3}, {1}}), (Shape{2, 1}));
  Node nc = mnode("Gemm", {"a", "b"});
  Tensor a2 = iota({2, 3}), b2 = iota({3, 4});
  EXPECT_EQ(mrun1(nc, {&a2, &b2}).shape(), (Shape{2, 4}));
  Tensor badc = f32({3}, {0, 0, 0});
  Node n3 = mnode("Gemm", {"a", "b", "c"});
  expect_error([&] { mrun(n3, {&a2, &b2, &badc}); }, "C has shape", "Gemm_0");
  expect_error([&] { infer_shape(n3, {{2, 3, 1}, {3, 4}}); }, "2-D", "Gemm_0");
  n3.set_int("transA", 2);
  expect_error([&] { mrun(n3, {&a2, &b2}); }, "transA", "Gemm_0");
}

// ---- Conv -------------------------------------------------------------------------

TEST(MathConv, PadsStridesDilations) {
  Node n = mnode("Conv", {"x", "w"});
  Tensor x = iota({1, 1, 3, 3}), w = f32({1, 1, 2, 2}, {1, 1, 1, 1});
  EXPECT_EQ(v<float>(mrun1(n, {&x, &w})), (F{8, 12, 20, 24}));
  n.set_ints("pads", {1, 1, 0, 0});
  n.set_ints("strides", {2, 2});
  // Windows start at (-1,-1), (-1,1), (1,-1), (1,1).
  EXPECT_EQ(v<float>(mrun1(n, {&x, &w})), (F{0, 3, 9, 24}));
  Node d = mnode("Conv", {"x", "w"});
  d.set_ints("dilations", {2, 2});
  EXPECT_EQ(v<float>(mrun1(d, {&x, &w})), (F{0 + 2 + 6 + 8}));
  EXPECT_EQ(infer_shape(n, {{2, 1, 7, 6}, {4, 1, 2, 2}}), (Shape{2, 4, 4, 3}));
}

TEST(MathConv, AutoPadSameUpperVsLower) {
  Tensor x = iota({1, 1, 4}, 1), w = f32({1, 1, 2}, {1, 10});
  Node up = mnode("Conv", {"x", "w"}), lo = mnode("Conv", {"x", "w"});
  up.set_string("auto_pad", "SAME_UPPER");
  lo.set_string("auto_pad", "SAME_LOWER");
  EXPECT_EQ(v<float>(mrun1(up, {&x, &w})), (F{21, 32, 43, 4}));  // pad at the end
  EXPECT_EQ(v<float>(mrun1(lo, {&x, &w})), (F{10, 21, 32, 43}));  // pad at the start
  Node valid = mnode("Conv", {"x", "w"});
  valid.set_string("auto_pad", "VALID");
  valid.set_ints("pads", {5, 5});  // ignored under VALID
  EXPECT_EQ(v<float>(mrun1(valid, {&x, &w})), (F{21, 32, 43}));
}

TEST(MathConv, GroupsDepthwiseAndBias) {
  Node n = mnode("Conv", {"x", "w", "b"});
  n.set_int("group", 2);
  Tensor x = iota({1, 2, 2, 2}), w = f32({4, 1, 1, 1}, {1, 2, 3, 4}), b = f32({4}, {0, 0, 100, 0});
  // Filters 0,1 see channel 0; filters 2,3 see channel 1.
  EXPECT_EQ(v<float>(mrun1(n, {&x, &w, &b})), (F{0, 1, 2, 3, 0, 2, 4, 6, 112, 115, 118, 121, 16, 20, 24, 28}));
  // Several images batched into one GEMM must land in the right slots.
  Node d = mnode("Conv", {"x", "w"});
  Tensor xb = iota({5, 1, 2, 2}), w1 = f32({2, 1, 1, 1}, {1, -1});
  Tensor y = mrun1(d, {&xb, &w1});
  for (int64_t img = 0; img < 5; ++img)
    for (int64_t i = 0; i < 4; ++i) {
      EXPECT_EQ(y.data<float>()[img * 8 + i], (float)(img * 4 + i));
      EXPECT_EQ(y.data<float>()[img * 8 + 4 + i], -(float)(img * 4 + i));
    }
}

TEST(MathConv, ThreeDimensional) {
  Node n = mnode("Conv", {"x", "w"});
  n.set_ints("pads", {0, 0, 1, 0, 0, 1});
  Tensor x = iota({1, 1, 2, 2, 2}), w = f32({1, 1, 2, 2, 2}, {1, 1, 1, 1, 1, 1, 1, 1});
  Tensor y = mrun1(n, {&x, &w});
  EXPECT_EQ(y.shape(), (Shape{1, 1, 1, 1, 3}));
  EXPECT_EQ(v<float>(y), (F{0 + 2 + 4 + 6, 28, 1 + 3 + 5 + 7}));
}

TEST(MathConv, AttributeErrors) {
  Tensor x = iota({1, 3, 5, 5}), w = iota({4, 1, 3, 3});
  Node g = mnode("Conv", {"x", "w"});
  g.set_int("group", 2);
  expect_error([&] { mrun(g, {&x, &w}); }, "channels", "Conv_0");
  g.set_int("group", 0);
  expect_error([&] { mrun(g, {&x, &w}); }, "'group'", "Conv_0");
  Node k = mnode("Conv", {"x", "w"});
  k.set_ints("kernel_shape", {2, 2});
  Tensor w3 = iota({4, 3, 3, 3});
  expect_error([&] { mrun(k, {&x, &w3}); }, "kernel_shape", "Conv_0");
  Node p = mnode("Conv", {"x", "w"});
  p.set_ints("pads", {1, 1, 1});
  expect_error([&] { mrun(p, {&x, &w3}); }, "'pads'", "Conv_0");
  Node ap = mnode("Conv", {"x", "w"});
  ap.set_string("auto_pad", "SAME");
  expect_error([&] { mrun(ap, {&x, &w3}); }, "auto_pad", "Conv_0");
  Node b = mnode("Conv", {"x", "w", "b"});
  Tensor bias = f32({3}, {0, 0, 0});
  expect_error([&] { mrun(b, {&x, &w3, &bias}); }, "bias", "Conv_0");
  Tensor tiny = iota({1, 3, 2, 2});
  expect_error([&] { mrun(mnode("Conv", {"x", "w"}), {&tiny, &w3}); }, "larger than", "Conv_0");
  expect_error([&] { infer_shape(mnode("Conv", {"x", "w"}), {{1, 3, 5}, {4, 3, 3, 3}}); }, "ranks", "Conv_0");
  expect_error([&] { infer_shape(mnode("Conv", {"x", "w"}), {{1, 1, 2, 2, 2, 2}, {1, 1, 1, 1, 1, 1}}); },
               "spatial axes", "Conv_0");
}

// ---- pooling -------------------------------------------------------------------------

TEST(MathPool, MaxPoolCeilModeAndIndices) {
  Node n = mnode("MaxPool", {"x"}, 2);
  n.set_ints("kernel_shape", {2, 2});
  n.set_ints("strides", {2, 2});
  n.set_int("ceil_mode", 1);
  Tensor x = iota({1, 1, 3, 3});
  auto outs = mrun(n, {&x});
  EXPECT_EQ(outs[0].shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(v<float>(outs[0]), (F{4, 5, 7, 8}));
  EXPECT_EQ(v<int64_t>(outs[1]), (std::vector<int64_t>{4, 5, 7, 8}));
  n.set_int("storage_order", 1);
  EXPECT_EQ(v<int64_t>(mrun(n, {&x})[1]), (std::vector<int64_t>{4, 7, 5, 8}));
  n.set_int("ceil_mode", 0);
  EXPECT_EQ(infer_shape(n, {{1, 1, 3, 3}}), (Shape{1, 1, 1, 1}));
  // ceil_mode never starts a window inside the end padding.
  Node c = mnode("MaxPool", {"x"});
  c.set_ints("kernel_shape", {2});
  c.set_ints("strides", {2});
  c.set_ints("pads", {1, 1});
  c.set_int("ceil_mode", 1);
  EXPECT_EQ(infer_shape(c, {{1, 1, 3}}), (Shape{1, 1, 2}));
  EXPECT_EQ(infer_shape(c, {{1, 1, 4}}), (Shape{1, 1, 3}));
}

TEST(MathPool, AveragePoolCountIncludePad) {
  Node n = mnode("AveragePool", {"x"});
  n.set_ints("kernel_shape", {2});
  n.set_ints("pads", {1, 1});
  Tensor x = f32({1, 1, 2}, {2, 4});
  EXPECT_EQ(v<float>(mrun1(n, {&x})), (F{2, 3, 4}));
  n.set_int("count_include_pad", 1);
  EXPECT_EQ(v<float>(mrun1(n, {&x})), (F{1, 3, 2}));
}

TEST(MathPool, GlobalPools) {
  Tensor x = iota({2, 2, 2, 2});
  EXPECT_EQ(v<float>(mrun1(mnode("GlobalAveragePool", {"x"}), {&x})), (F{1.5f, 5.5f, 9.5f, 13.5f}));
  Tensor m = mrun1(mnode("GlobalMaxPool", {"x"}), {&x});
  EXPECT_EQ(m.shape(), (Shape{2, 2, 1, 1}));
  EXPECT_EQ(v<float>(m), (F{3, 7, 11, 15}));
}

TEST(MathPool, AttributeErrors) {
  Tensor x = iota({1, 1, 4, 4});
  Node n = mnode("MaxPool", {"x"});
  expect_error([&] { mrun(n, {&x}); }, "kernel_shape", "MaxPool_0");
  n.set_ints("kernel_shape", {2, 2});
  n.set_ints("pads", {2, 0, 0, 0});
  expect_error([&] { mrun(n, {&x}); }, "smaller than", "MaxPool_0");
  Node a = mnode("AveragePool", {"x"});
  a.set_ints("kernel_shape", {2});
  expect_error([&] { mrun(a, {&x}); }, "spatial axes", "AveragePool_0");
  a.set_ints("kernel_shape", {2, 2});
  a.set_ints("dilations", {1, 0});
  expect_error([&] { mrun(a, {&x}); }, "'dilations'", "AveragePool_0");
}

// ---- BatchNormalization / Softmax ------------------------------------------------------

TEST(MathBatchNorm, InferenceAndErrors) {
  Node n = mnode("BatchNormalization", {"x", "s", "b", "m", "v"});
  n.set_float("epsilon", 0);
  Tensor x = f32({1, 2, 2}, {1, 2, 3, 4}), s = f32({2}, {2, 1}), b = f32({2}, {0, 1}), m = f32({2}, {1, 3}),
         var = f32({2}, {4, 1});
  expect_near(v<float>(mrun1(n, {&x, &s, &b, &m, &var})), F{0, 1, 1, 2});
  Tensor bad = f32({3}, {1, 1, 1});
  expect_error([&] { mrun(n, {&x, &bad, &b, &m, &var}); }, "scale", "BatchNormalization_0");
  Node t = mnode("BatchNormalization", {"x", "s", "b", "m", "v"}, 3);
  expect_error([&] { mrun(t, {&x, &s, &b, &m, &var}); }, "training", "BatchNormalization_0");
}

TEST(MathSoftmax, LegacyCoercionVsSingleAxis) {
  Node n = mnode("Softmax", {"x"});
  Tensor x = f32({1, 2, 2}, {0, 0, 0, std::log(3.0f)});
  // opset 11: axis=1 flattens (2, 2) into one row of four.
  expect_near(v<float>(mrun1(n, {&x}, 11)), F{1 / 6.f, 1 / 6.f, 1 / 6.f, 0.5f});
  // opset 13: axis=-1, each row of two on its own.
  expect_near(v<float>(mrun1(n, {&x}, 13)), F{0.5f, 0.5f, 0.25f, 0.75f});
  Node l = mnode("LogSoftmax", {"x"});
  expect_near(v<float>(mrun1(l, {&x}, 13)), F{std::log(0.5f), std::log(0.5f), std::log(0.25f), std::log(0.75f)});
  n.set_int("axis", 3);
  expect_error([&] { mrun(n, {&x}, 13); }, "'axis'", "Softmax_0");
}

// ---- datatype rules (qonnx InferDataTypes) ---------------------------------------------

TEST(MathDataType, MacOpsAccumulate) {
  Node add = mnode("Add", {"a", "b"}), sub = mnode("Sub", {"a", "b"}), mm = mnode("MatMul", {"a", "b"});
  EXPECT_EQ(dtypes(add, {"INT4", "UINT8"})[0], DataType::sint(32));
  EXPECT_EQ(dtypes(add, {"UINT4", "UINT8"})[0], DataType::uint(32));
  EXPECT_EQ(dtypes(sub, {"UINT4", "UINT8"})[0], DataType::sint(32));
  EXPECT_EQ(dtypes(mm, {"BIPOLAR", "BINARY"})[0], DataType::sint(32));
  EXPECT_EQ(dtypes(mm, {"FIXED<8,4>", "INT4"})[0], DataType::scaledint(32));
  EXPECT_EQ(dtypes(mm, {"INT4", "FLOAT32"})[0], DataType::float32());
  Node conv = mnode("Conv", {"x", "w", ""});
  EXPECT_EQ(dtypes(conv, {"UINT4", "UINT2", "FLOAT32"})[0], DataType::uint(32));  // omitted bias ignored
}

TEST(MathDataType, IdentityLikeAndOthers) {
  EXPECT_EQ(dtypes(mnode("Clip", {"x"}), {"INT8"})[0], DataType::sint(8));
  EXPECT_EQ(dtypes(mnode("MaxPool", {"x"}), {"UINT3"})[0], DataType::uint(3));
  EXPECT_EQ(dtypes(mnode("GlobalMaxPool", {"x"}), {"UINT3"})[0], DataType::uint(3));
  EXPECT_EQ(dtypes(mnode("Identity", {"x"}), {"BIPOLAR"})[0], DataType::bipolar());
  EXPECT_EQ(dtypes(mnode("Sign", {"x"}), {"FLOAT32"})[0], DataType::bipolar());
  EXPECT_EQ(dtypes(mnode("Relu", {"x"}), {"INT4"})[0], DataType::float32());
  // Like qonnx, an existing non-float annotation on an op without a rule stays.
  EXPECT_EQ(dtypes(mnode("Relu", {"x"}), {"INT4"}, {"UINT4"})[0], DataType::uint(4));
  EXPECT_EQ(dtypes(mnode("Div", {"a", "b"}), {"INT4", "INT4"})[0], DataType::float32());
}
