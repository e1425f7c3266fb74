// Hand-computed cases for the QONNX/FINN custom ops: every rounding mode on
// ties, signed zeros, narrow/signed limits, bipolar, both Trunc versions,
// the x == threshold edge, Im2Col padding and dilation, and the errors.
// tests/python/test_qonnx_ops.py compares the same ops against qonnx itself.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ops/op.h"

namespace sf {
namespace {

const char* kDomain = "qonnx.custom_op.general";

Node make_node(const std::string& op, size_t n_inputs, const std::string& domain = kDomain) {
  Node n;
  n.name = op + "_0";
  n.op_type = op;
  n.domain = domain;
  for (size_t i = 0; i < n_inputs; ++i) n.inputs.push_back("in" + std::to_string(i));
  n.outputs = {"y"};
  return n;
}

const OpDef& def_of(const Node& n) {
  const OpDef* d = OpRegistry::instance().find(n.op_type, n.domain);
  if (!d) throw std::runtime_error("op not registered: " + n.op_type);
  return *d;
}

// What the executor does for one node: input count, validate, execute.
Tensor run(const Node& n, const std::vector<Tensor>& ins) {
  const OpDef& d = def_of(n);
  if (n.inputs.size() < d.min_inputs || n.inputs.size() > d.max_inputs)
    throw ModelError("bad input count", "", n.name);
  if (d.validate) d.validate(n);
  ExecCtx c{n, 13, {}, {}};
  for (const auto& t : ins) c.in.push_back(&t);
  d.execute(c);
  return c.out.at(0);
}

DataType datatype_of(const Node& n, const std::vector<const Tensor*>& values, std::vector<DataType> in = {}) {
  Model m;
  in.resize(n.inputs.size());
  std::vector<const Tensor*> v = values;
  v.resize(n.inputs.size(), nullptr);
  DataTypeCtx c{n, m, {DataType()}, in, v};
  return def_of(n).infer_datatype(c).at(0);
}

Tensor f32(const Shape& s, const std::vector<float>& v) { return Tensor::from_vector<float>(s, v); }
Tensor scalar(float v) { return Tensor::scalar<float>(v); }

std::vector<float> quant(const std::vector<float>& x, float scale, float zp, float bw, int is_signed, int narrow,
                         const std::string& mode) {
  Node n = make_node("Quant", 4);
  n.set_int("signed", is_signed);
  n.set_int("narrow", narrow);
  n.set_string("rounding_mode", mode);
  return run(n, {f32({(int64_t)x.size()}, x), scalar(scale), scalar(zp), scalar(bw)}).to_float();
}

const std::vector<float> kTies = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, -0.3f, 0.3f};

TEST(QonnxQuant, EveryRoundingModeOnTies) {
  const std::vector<std::pair<std::string, std::vector<float>>> cases = {
      {"ROUND", {-2, -2, -0, 0, 2, 2, -0, 0}},    {"CEIL", {-2, -1, -0, 1, 2, 3, -0, 1}},
      {"FLOOR", {-3, -2, -1, 0, 1, 2, -1, 0}},    {"UP", {-3, -2, -1, 1, 2, 3, -1, 1}},
      {"DOWN", {-2, -1, -0, 0, 1, 2, -0, 0}},     {"HALF_UP", {-3, -2, -1, 1, 2, 3, -0, 0}},
      {"HALF_DOWN", {-2, -1, -0, 0, 1, 2, 0, -0}},
  };
  for (const auto& [mode, want] : cases) {
    EXPECT_EQ(quant(kTies, 1, 0, 8, 1, 0, mode), want) << mode;
    std::string lower = mode;
    for (auto& ch : lower) ch = (char)std::tolower(ch);
    EXPECT_EQ(quant(kTies, 1, 0, 8, 1, 0, lower), want) << lower;
  }
  EXPECT_EQ(quant(kTies, 1, 0, 8, 1, 0, "half_even"), quant(kTies, 1, 0, 8, 1, 0, "ROUND"));
}

TEST(QonnxQuant, SignedZerosFollowNumpy) {
  // np.sign(x) * ...: HALF_DOWN(0.3) = 1 * ceil(-0.2) = -0.0, HALF_DOWN(-0.3) = -1 * -0.0 = +0.0.
  auto hd = quant({0.3f, -0.3f}, 1, 0, 8, 1, 0, "HALF_DOWN");
  EXPECT_TRUE(std::signbit(hd[0]));
  EXPECT_FALSE(std::signbit(hd[1]));
  auto r = quant({-0.3f}, 1, 0, 8, 1, 0, "ROUND");
  EXPECT_TRUE(std::signbit(r[0]));
  // The clamp comes first: unsigned -0.3 is replaced by +0 before rounding,
  // where rounding first would give -0.0 and survive the clamp.
  auto u = quant({-0.3f}, 1, 0, 8, 0, 0, "ROUND");
  EXPECT_FALSE(std::signbit(u[0]));
}

TEST(QonnxQuant, ClampsToSignedNarrowLimits) {
  const std::vector<float> x = {-100, -8.4f, 7.6f, 100};
  EXPECT_EQ(quant(x, 1, 0, 4, 1, 0, "ROUND"), (std::vector<float>{-8, -8, 7, 7}));
  EXPECT_EQ(quant(x, 1, 0, 4, 1, 1, "ROUND"), (std::vector<float>{-7, -7, 7, 7}));
  EXPECT_EQ(quant(x, 1, 0, 4, 0, 0, "ROUND"), (std::vector<float>{0, 0, 8, 15}));
  EXPECT_EQ(quant(x, 1, 0, 4, 0, 1, "CEIL"), (std::vector<float>{0, 0, 8, 14}));
  // 7.6 clamps to 7 before CEIL, so it cannot become 8.
  EXPECT_EQ(quant({7.6f}, 1, 0, 4, 1, 0, "CEIL"), (std::vector<float>{7}));
}

TEST(QonnxQuant, ScaleAndZeroPoint) {
  // y = x/0.5 + 2 = {0.5, 3, 9.5}; ROUND -> {0, 3, 10}; clamp [0,15]; out = (y-2)*0.5
  EXPECT_EQ(quant({-0.75f, 0.5f, 3.75f}, 0.5f, 2, 4, 0, 0, "ROUND"), (std::vector<float>{-1, 0.5f, 4}));
}

TEST(QonnxQuant, OneBitSignedIsBipolar) {
  auto y = quant({-0.5f, 0.0f, -0.0f, 0.2f, 7.0f}, 0.5f, 0, 1, 1, 0, "ROUND");
  EXPECT_EQ(y, (std::vector<float>{-0.5f, 0.5f, 0.5f, 0.5f, 0.5f}));
  EXPECT_EQ(quant({-0.4f, 0.4f, 0.6f}, 1, 0, 1, 0, 0, "ROUND"), (std::vector<float>{0, 0, 1}));
}

TEST(QonnxQuant, PerChannelScaleBroadcasts) {
  Node n = make_node("Quant", 4);
  n.set_int("signed", 1);
  Tensor x = f32({1, 2, 2}, {1.3f, -1.3f, 1.3f, -1.3f});
  Tensor s = f32({2, 1}, {0.5f, 2.0f});
  auto y = run(n, {x, s, scalar(0), scalar(8)}).to_float();
  EXPECT_EQ(y, (std::vector<float>{1.5f, -1.5f, 2.0f, -2.0f}));
}

TEST(QonnxQuant, InvalidParametersAreModelErrors) {
  Node n = make_node("Quant", 4);
  n.set_int("signed", 1);
  Tensor x = f32({1, 3}, {1, 2, 3});
  auto fails = [&](const Node& node, const Tensor& s, const Tensor& b, const std::string& field) {
    try {
      run(node, {x, s, scalar(0), b});
      ADD_FAILURE() << "no error for " << field;
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("Quant_0"), std::string::npos) << e.what();
      EXPECT_FALSE(e.hint().empty());
    }
  };
  fails(n, scalar(1), scalar(0), "bitwidth");
  fails(n, scalar(1), scalar(-2), "bitwidth");
  fails(n, scalar(1), scalar(2.5f), "bitwidth");
  fails(n, scalar(1), f32({2}, {4, 4}), "bitwidth");
  fails(n, scalar(0), scalar(4), "scale");
  fails(n, scalar(-1), scalar(4), "scale");
  fails(n, scalar(NAN), scalar(4), "scale");
  fails(n, f32({2}, {1, 1}), scalar(4), "scale");
  Node bad = n;
  bad.set_string("rounding_mode", "NEAREST");
  fails(bad, scalar(1), scalar(4), "rounding_mode");
  Node three = make_node("Quant", 3);
  EXPECT_THROW(run(three, {x, scalar(1), scalar(0)}), ModelError);
}

TEST(QonnxQuant, Datatypes) {
  Node n = make_node("Quant", 4);
  Tensor one = scalar(1), zero = scalar(0), half = scalar(0.5f), b4 = scalar(4), b1 = scalar(1);
  n.set_int("signed", 1);
  EXPECT_EQ(datatype_of(n, {nullptr, &one, &zero, &b4}).name(), "INT4");
  EXPECT_EQ(datatype_of(n, {nullptr, &one, &zero, &b1}).name(), "BIPOLAR");
  EXPECT_EQ(datatype_of(n, {nullptr, &half, &zero, &b4}).name(), "SCALEDINT<4>");
  EXPECT_EQ(datatype_of(n, {nullptr, nullptr, &zero, &b4}).name(), "SCALEDINT<4>");
  EXPECT_EQ(datatype_of(n, {nullptr, &one, &zero, nullptr}).name(), "FLOAT32");
  n.set_int("signed", 0);
  EXPECT_EQ(datatype_of(n, {nullptr, &one, &zero, &b4}).name(), "UINT4");
  EXPECT_EQ(datatype_of(n, {nullptr, &one, &zero, &b1}).name(), "BINARY");
}

TEST(QonnxBipolarQuant, SignTimesScale) {
  Node n = make_node("BipolarQuant", 2);
  auto y = run(n, {f32({4}, {-0.1f, 0.0f, -0.0f, 3.0f}), scalar(0.25f)}).to_float();
  EXPECT_EQ(y, (std::vector<float>{-0.25f, 0.25f, 0.25f, 0.25f}));
  Tensor one = scalar(1), two = scalar(2);
  EXPECT_EQ(datatype_of(n, {nullptr, &one}).name(), "BIPOLAR");
  EXPECT_EQ(datatype_of(n, {nullptr, &two}).name(), "SCALEDINT<1>");
}

std::vector<float> trunc_v1(const std::vector<float>& x, float in_bw, float out_bw, const std::string& mode) {
  Node n = make_node("Trunc", 5);
  n.set_string("rounding_mode", mode);
  return run(n, {f32({(int64_t)x.size()}, x), scalar(1), scalar(0), scalar(in_bw), scalar(out_bw)}).to_float();
}

TEST(QonnxTrunc, V1DividesByTwoToTheDroppedBits) {
  // /16: {2.3125, -2.3125, 0.5, 1.5}
  const std::vector<float> x = {37, -37, 8, 24};
  EXPECT_EQ(trunc_v1(x, 8, 4, "FLOOR"), (std::vector<float>{2, -3, 0, 1}));
  EXPECT_EQ(trunc_v1(x, 8, 4, "ROUND"), (std::vector<float>{2, -2, 0, 2}));
  EXPECT_EQ(trunc_v1(x, 8, 4, "HALF_UP"), (std::vector<float>{2, -2, 1, 2}));
  // x/scale is rounded (half-even) before the truncation: 36.5 -> 36 -> 2.25.
  EXPECT_EQ(trunc_v1({36.5f}, 8, 4, "CEIL"), (std::vector<float>{3}));
  Node n = make_node("Trunc", 5);
  EXPECT_EQ(n.get_string("rounding_mode", "FLOOR"), "FLOOR");
}

TEST(QonnxTrunc, V2ClampsToOutputRangeAndRescales) {
  Node n = make_node("Trunc", 6);
  n.set_int("signed", 1);
  Tensor x = f32({4}, {13, -13, 100, -100});
  // trunc_scale = 2^round(log2(4/1)) = 4; INT3 = [-4, 3]
  auto y = run(n, {x, scalar(1), scalar(0), scalar(8), scalar(4), scalar(3)}).to_float();
  EXPECT_EQ(y, (std::vector<float>{12, -16, 12, -16}));
  // out_scale 5 snaps to trunc_scale 4 but the output is scaled by 5.
  y = run(n, {x, scalar(1), scalar(0), scalar(8), scalar(5), scalar(3)}).to_float();
  EXPECT_EQ(y, (std::vector<float>{15, -20, 15, -20}));
  n.set_int("narrow", 1);
  y = run(n, {x, scalar(1), scalar(0), scalar(8), scalar(4), scalar(3)}).to_float();
  EXPECT_EQ(y, (std::vector<float>{12, -12, 12, -12}));
}

TEST(QonnxTrunc, V2SevenInputsNeedConsistentOutZeropt) {
  Node n = make_node("Trunc", 7);
  Tensor x = f32({2}, {13, -13});
  auto y = run(n, {x, scalar(1), scalar(0), scalar(8), scalar(4), scalar(0), scalar(3)}).to_float();
  EXPECT_EQ(y, (std::vector<float>{12, -16}));
  EXPECT_THROW(run(n, {x, scalar(1), scalar(0), scalar(8), scalar(4), scalar(1), scalar(3)}), ModelError);
}

TEST(QonnxTrunc, Datatypes) {
  Node v1 = make_node("Trunc", 5);
  Tensor one = scalar(1), zero = scalar(0), b8 = scalar(8), b4 = scalar(4), half = scalar(0.5f);
  EXPECT_EQ(datatype_of(v1, {nullptr, &one, &zero, &b8, &b4}, {DataType::uint(8)}).name(), "UINT4");
  EXPECT_EQ(datatype_of(v1, {nullptr, &one, &zero, &b8, &b4}, {DataType::sint(8)}).name(), "INT4");
  EXPECT_EQ(datatype_of(v1, {nullptr, &half, &zero, &b8, &b4}, {DataType::sint(8)}).name(), "SCALEDINT<4>");
  v1.set_string("rounding_mode", "ROUND");  // 255/16 rounds to 16: one more bit
  EXPECT_EQ(datatype_of(v1, {nullptr, &one, &zero, &b8, &b4}, {DataType::uint(8)}).name(), "UINT5");
  Node v2 = make_node("Trunc", 6);
  v2.set_int("signed", 0);
  EXPECT_EQ(datatype_of(v2, {nullptr, &half, &zero, &b8, &one, &b4}).name(), "UINT4");
}

Tensor multithreshold(const Node& n, const Tensor& x, const Tensor& t) { return run(n, {x, t}); }

TEST(QonnxMultiThreshold, EqualityCountsAndScaling) {
  Node n = make_node("MultiThreshold", 2);
  n.set_string("out_dtype", "UINT3");
  Tensor t = f32({1, 4}, {-1, 0, 0, 2.5f});
  Tensor x = f32({1, 6}, {-1.0f, -0.0f, 0.0f, 2.5f, 2.4999998f, -1.0000001f});
  EXPECT_EQ(multithreshold(n, x, t).to_float(), (std::vector<float>{1, 3, 3, 4, 3, 0}));
  n.set_float("out_scale", 2.0f);
  n.set_float("out_bias", -1.0f);
  EXPECT_EQ(multithreshold(n, x, t).to_float(), (std::vector<float>{1, 5, 5, 7, 5, -1}));
  // Unsorted rows count the same way.
  Tensor tu = f32({1, 4}, {2.5f, 0, -1, 0});
  EXPECT_EQ(multithreshold(n, x, tu).to_float(), (std::vector<float>{1, 5, 5, 7, 5, -1}));
}

TEST(QonnxMultiThreshold, ChannelAxisPerLayout) {
  Tensor t = f32({2, 1}, {0.0f, 10.0f});  // channel 0 passes, channel 1 does not
  Tensor nchw = f32({1, 2, 1, 2}, {5, 5, 5, 5});
  Node n = make_node("MultiThreshold", 2);
  EXPECT_EQ(multithreshold(n, nchw, t).to_float(), (std::vector<float>{1, 1, 0, 0}));
  n.set_string("data_layout", "NHWC");
  Tensor nhwc = f32({1, 1, 2, 2}, {5, 5, 5, 5});
  EXPECT_EQ(multithreshold(n, nhwc, t).to_float(), (std::vector<float>{1, 0, 1, 0}));
  Node nwc = make_node("MultiThreshold", 2);  // rank 3 without a layout is NWC
  EXPECT_EQ(multithreshold(nwc, f32({1, 2, 2}, {5, 5, 5, 5}), t).to_float(), (std::vector<float>{1, 0, 1, 0}));
  Tensor t3 = f32({3, 1}, {0, 0, 0});
  EXPECT_THROW(multithreshold(n, nhwc, t3), ModelError);
  EXPECT_THROW(multithreshold(nwc, f32({4}, {1, 2, 3, 4}), t), ModelError);
}

TEST(QonnxMultiThreshold, DatatypeFollowsQonnx) {
  Node n = make_node("MultiThreshold", 2);
  n.set_string("out_dtype", "INT4");
  EXPECT_EQ(datatype_of(n, {}).name(), "INT4");
  n.set_float("out_scale", 2.0f);
  EXPECT_EQ(datatype_of(n, {}).name(), "INT4");
  n.set_float("out_bias", 0.5f);
  EXPECT_EQ(datatype_of(n, {}).name(), "FLOAT32");
  n.set_string("out_dtype", "INT77X");
  EXPECT_THROW(def_of(n).validate(n), ModelError);
}

TEST(QonnxXnorPopcount, CountsMatchingBits) {
  Node n = make_node("XnorPopcountMatMul", 2);
  Tensor a = f32({2, 3}, {1, 0, 1, 0, 0, 0});
  Tensor w = f32({3, 2}, {1, 0, 1, 0, 0, 0});
  // row 0 vs col 0 (1,1,0): 1+0+0; vs col 1 (0,0,0): 0+1+0
  EXPECT_EQ(run(n, {a, w}).to_float(), (std::vector<float>{1, 1, 1, 3}));
  EXPECT_THROW(run(n, {f32({1, 3}, {1, -1, 1}), w}), ModelError);
  EXPECT_EQ(datatype_of(n, {}).name(), "UINT32");
}

TEST(QonnxIm2Col, PaddingAndDilation) {
  Node n = make_node("Im2Col", 1);
  n.set_ints("stride", {1, 1});
  n.set_ints("kernel_size", {2, 2});
  n.set_string("input_shape", "(1, 3, 3, 1)");
  n.set_ints("pad_amount", {1, 0, 0, 1});
  n.set_int("pad_value", -1);
  n.set_ints("dilations", {2, 2});
  std::vector<float> xv = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  Tensor y = run(n, {f32({1, 3, 3, 1}, xv)});
  EXPECT_EQ(y.shape(), (Shape{1, 2, 2, 4}));
  // padded: [-1 -1 -1 -1] [1 2 3 -1] [4 5 6 -1] [7 8 9 -1]; taps (0,0) (0,2) (2,0) (2,2)
  EXPECT_EQ(y.to_float(), (std::vector<float>{-1, -1, 4, 6, -1, -1, 5, -1, 1, 3, 7, 9, 2, -1, 8, -1}));
}

TEST(QonnxIm2Col, InnerOrderIsKhKwC) {
  Node n = make_node("Im2Col", 1);
  n.set_ints("stride", {1, 1});
  n.set_ints("kernel_size", {1, 2});
  n.set_string("input_shape", "(1,1,3,2)");
  Tensor y = run(n, {f32({1, 1, 3, 2}, {1, 2, 3, 4, 5, 6})});  // 1-D: H = 1
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 4}));
  EXPECT_EQ(y.to_float(), (std::vector<float>{1, 2, 3, 4, 3, 4, 5, 6}));
}

TEST(QonnxIm2Col, BadAttributes) {
  Tensor x = f32({1, 1, 3, 2}, {1, 2, 3, 4, 5, 6});
  Node n = make_node("Im2Col", 1);
  n.set_ints("stride", {1, 1});
  n.set_ints("kernel_size", {2, 2});  // kernel height 2 on a height-1 input
  EXPECT_THROW(run(n, {x}), ModelError);
  n.set_ints("kernel_size", {1, 5});  // wider than the input
  EXPECT_THROW(run(n, {x}), ModelError);
  n.set_ints("kernel_size", {1});
  EXPECT_THROW(run(n, {x}), ModelError);
  n.set_ints("kernel_size", {1, 2});
  n.set_ints("dilations", {0, 1});
  EXPECT_THROW(run(n, {x}), ModelError);
  n.set_ints("dilations", {1, 1});
  n.set_string("input_shape", "(1,1,3)");
  EXPECT_THROW(def_of(n).validate(n), ModelError);
  n.set_string("input_shape", "(1, 1, 3, 2)");
  n.set_ints("pad_amount", {0, -1, 0, 0});
  EXPECT_THROW(run(n, {x}), ModelError);
}

TEST(QonnxQuantAvgPool2d, MissingBitWidthIsAnError) {
  Node n = make_node("QuantAvgPool2d", 1);
  n.set_int("kernel", 2);
  n.set_int("stride", 2);
  n.set_int("ibits", 4);
  EXPECT_THROW(def_of(n).validate(n), ModelError);
}

TEST(QonnxQuantAvgPool2d, SumThenShift) {
  Node n = make_node("QuantAvgPool2d", 1);
  n.set_int("kernel", 2);
  n.set_int("stride", 2);
  n.set_int("ibits", 4);
  n.set_int("obits", 4);
  n.set_int("signed", 0);
  // accumulator max 15*4 = 60 needs 6 bits -> shift 2; 59 >> 2 = 14, 7 >> 2 = 1
  Tensor x = f32({1, 2, 2, 2}, {15, 15, 15, 14, 1, 2, 3, 1});
  EXPECT_EQ(run(n, {x}).to_float(), (std::vector<float>{14, 1}));
  n.set_string("data_layout", "NHWC");
  n.set_int("signed", 1);
  Tensor xs = f32({1, 2, 2, 1}, {-8, -8, -8, -7});  // -31 >> 2 = -8 (floor)
  EXPECT_EQ(run(n, {xs}).to_float(), (std::vector<float>{-8}));
  EXPECT_EQ(datatype_of(n, {}).name(), "INT4");
  n.set_string("data_layout", "NWHC");
  EXPECT_THROW(run(n, {xs}), ModelError);
}

TEST(QonnxOps, RegisteredForEveryQonnxDomain) {
  for (const char* dom : {"qonnx.custom_op.general", "onnx.brevitas", "finn.custom_op.general"})
    for (const char* op : {"Quant", "BipolarQuant", "Trunc", "MultiThreshold", "XnorPopcountMatMul", "Im2Col",
                           "QuantAvgPool2d"})
      EXPECT_NE(OpRegistry::instance().find(op, dom), nullptr) << op << " in " << dom;
}

}  // namespace
}  // namespace sf
