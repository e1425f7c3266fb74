// HW-layer ops (finn.custom_op.fpgadataflow): tiny hand-computed executions,
// folding-legality errors that list the legal values, the DESIGN §5 cycle
// formulas and FINN's BRAM18 counting rule. tests/python/test_hw_ops.py
// checks the same ops against the streamlined graphs they replace.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ops/hw/common.h"

namespace sf {
namespace {

const char* kHw = "finn.custom_op.fpgadataflow";

Node hw_node(const std::string& op, size_t n_inputs, size_t n_outputs = 1) {
  Node n;
  n.name = op + "_2";
  n.op_type = op;
  n.domain = kHw;
  for (size_t i = 0; i < n_inputs; ++i) n.inputs.push_back("in" + std::to_string(i));
  for (size_t i = 0; i < n_outputs; ++i) n.outputs.push_back("out" + std::to_string(i));
  return n;
}

const OpDef& def_of(const Node& n) {
  const OpDef* d = OpRegistry::instance().find(n.op_type, n.domain);
  if (!d) throw std::runtime_error("op not registered: " + n.op_type);
  return *d;
}

std::vector<Tensor> run_all(const Node& n, const std::vector<Tensor>& ins) {
  const OpDef& d = def_of(n);
  if (d.validate) d.validate(n);
  ExecCtx c{n, 13, {}, {}};
  for (const auto& t : ins) c.in.push_back(&t);
  d.execute(c);
  return c.out;
}
std::vector<float> run(const Node& n, const std::vector<Tensor>& ins) { return run_all(n, ins).at(0).to_float(); }

HwEstimate estimate(const Node& n) {
  Model m;
  return def_of(n).estimate(n, m);
}

std::string validate_error(const Node& n) {
  try {
    def_of(n).validate(n);
  } catch (const ModelError& e) {
    EXPECT_FALSE(e.hint().empty());
    return e.what();
  }
  return "";
}

Tensor f32(const Shape& s, const std::vector<float>& v) { return Tensor::from_vector<float>(s, v); }

Node mvau(int64_t mw, int64_t mh, int64_t simd, int64_t pe, const std::string& idt = "INT4",
          const std::string& wdt = "INT4", const std::string& odt = "UINT2") {
  Node n = hw_node("MVAU", 3);
  n.set_int("MW", mw);
  n.set_int("MH", mh);
  n.set_int("SIMD", simd);
  n.set_int("PE", pe);
  n.set_ints("numInputVectors", {1});
  n.set_string("inputDataType", idt);
  n.set_string("weightDataType", wdt);
  n.set_string("outputDataType", odt);
  return n;
}

TEST(HwCommon, DivisorsAndBram) {
  EXPECT_EQ(hw::divisors(12), (std::vector<int64_t>{1, 2, 3, 4, 6, 12}));
  EXPECT_EQ(hw::divisors(1), (std::vector<int64_t>{1}));
  // 1Kx18 / 2Kx9 / 4Kx4 / 8Kx2 / 16Kx1.
  EXPECT_EQ(hw::bram18_count(1, 16384), 1);
  EXPECT_EQ(hw::bram18_count(1, 16385), 2);
  EXPECT_EQ(hw::bram18_count(2, 8192), 1);
  EXPECT_EQ(hw::bram18_count(4, 4096), 1);
  EXPECT_EQ(hw::bram18_count(8, 4096), 2);  // 2Kx9, two deep
  EXPECT_EQ(hw::bram18_count(9, 2048), 1);
  EXPECT_EQ(hw::bram18_count(18, 1024), 1);
  EXPECT_EQ(hw::bram18_count(36, 1000), 2);
  EXPECT_EQ(hw::bram18_count(64, 2048), 8);  // ceil(64/18)=4 wide, 2 deep
  EXPECT_EQ(hw::bram18_count(0, 10), 0);
}

TEST(HwCommon, AccumulatorWidth) {
  // UINT4 x INT4 over 8 terms: [-8*15*8, 7*15*8] = [-960, 840] -> INT11.
  EXPECT_EQ(hw::acc_datatype(DataType::uint(4), DataType::sint(4), 8).name(), "INT11");
  // UINT2 x UINT2 over 3 terms: [0, 27] -> UINT5.
  EXPECT_EQ(hw::acc_datatype(DataType::uint(2), DataType::uint(2), 3).name(), "UINT5");
}

TEST(HwCommon, StreamShapesMvauThresholdingSwg) {
  Node n = mvau(8, 6, 4, 3, "UINT4", "INT2", "UINT3");
  n.set_ints("numInputVectors", {1, 5, 5});
  const hw::StreamShapes s = hw::stream_shapes(n);
  EXPECT_EQ(s.normal_in, (Shape{1, 5, 5, 8}));
  EXPECT_EQ(s.folded_in, (Shape{1, 5, 5, 2, 4}));
  EXPECT_EQ(s.normal_out, (Shape{1, 5, 5, 6}));
  EXPECT_EQ(s.folded_out, (Shape{1, 5, 5, 2, 3}));
  EXPECT_EQ(s.in_width, 16);
  EXPECT_EQ(s.out_width, 9);

  Node t = hw_node("Thresholding", 2);
  t.set_int("NumChannels", 6);
  t.set_int("PE", 2);
  t.set_ints("numInputVectors", {1, 4});
  t.set_string("inputDataType", "INT8");
  t.set_string("outputDataType", "UINT4");
  const hw::StreamShapes ts = hw::stream_shapes(t);
  EXPECT_EQ(ts.folded_in, (Shape{1, 4, 3, 2}));
  EXPECT_EQ(ts.in_width, 16);
  EXPECT_EQ(ts.out_width, 8);

  Node g = hw_node("ConvolutionInputGenerator", 1);
  g.set_ints("ConvKernelDim", {3, 3});
  g.set_ints("IFMDim", {5, 5});
  g.set_ints("OFMDim", {3, 3});
  g.set_int("IFMChannels", 4);
  g.set_int("SIMD", 2);
  g.set_string("inputDataType", "UINT4");
  const hw::StreamShapes gs = hw::stream_shapes(g);
  EXPECT_EQ(gs.folded_in, (Shape{1, 5, 5, 2, 2}));
  EXPECT_EQ(gs.folded_out, (Shape{1, 3, 3, 18, 2}));
  EXPECT_EQ(gs.in_width, 8);
}

TEST(HwMvau, ExecutesMatMulAndThresholds) {
  Node n = mvau(2, 2, 1, 1);
  n.set_int("ActVal", -1);
  n.set_string("outputDataType", "INT2");
  // x (1,2) @ W (2,2): [1,2] @ [[1,-1],[2,3]] = [5, 5]; then -1 + #{t <= 5}.
  const Tensor thr = f32({2, 3}, {0, 5, 6, 6, 7, 8});
  EXPECT_EQ(run(n, {f32({1, 2}, {1, 2}), f32({2, 2}, {1, -1, 2, 3}), thr}), (std::vector<float>{1, -1}));
  n.set_int("noActivation", 1);
  n.inputs.pop_back();
  EXPECT_EQ(run(n, {f32({1, 2}, {1, 2}), f32({2, 2}, {1, -1, 2, 3})}), (std::vector<float>{5, 5}));
}

TEST(HwMvau, NoActivationOutputTypeDefaultsToAccumulator) {
  Node n = mvau(8, 2, 2, 2, "UINT4", "INT4", "UINT2");
  n.remove_attr("outputDataType");
  n.set_int("noActivation", 1);
  Model m;
  DataTypeCtx c{n, m, {DataType()}, {}, {}};
  EXPECT_EQ(def_of(n).infer_datatype(c).at(0).name(), "INT11");  // [-960, 840]
  n.set_string("accDataType", "INT16");
  EXPECT_EQ(def_of(n).infer_datatype(c).at(0).name(), "INT16");
}

TEST(HwMvau, XnorPopcountAndBipolarOutput) {
  Node n = mvau(4, 1, 2, 1, "BINARY", "BINARY", "BIPOLAR");
  n.set_int("binaryXnorMode", 1);
  // matches of 1010 with 1001: positions 0,1 -> 2; threshold 2 -> count 1 -> +1.
  EXPECT_EQ(run(n, {f32({1, 4}, {1, 0, 1, 0}), f32({4, 1}, {1, 0, 0, 1}), f32({1, 1}, {2})}),
            (std::vector<float>{1}));
  EXPECT_EQ(run(n, {f32({1, 4}, {1, 0, 1, 0}), f32({4, 1}, {1, 0, 0, 1}), f32({1, 1}, {3})}),
            (std::vector<float>{-1}));
}

TEST(HwMvau, IllegalFoldingListsLegalValues) {
  const std::string e = validate_error(mvau(800, 64, 24, 4));
  EXPECT_NE(e.find("MVAU_2"), std::string::npos) << e;
  EXPECT_NE(e.find("SIMD=24 does not divide MW=800; legal SIMD: 1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 40"),
            std::string::npos)
      << e;
  const std::string p = validate_error(mvau(8, 6, 4, 4));
  EXPECT_NE(p.find("PE=4 does not divide MH=6; legal PE: 1, 2, 3, 6"), std::string::npos) << p;
  Node bad = mvau(8, 6, 2, 3);
  bad.set_string("mem_mode", "sideways");
  EXPECT_NE(validate_error(bad).find("mem_mode"), std::string::npos);
}

TEST(HwMvau, CyclesLutBramDsp) {
  Node n = mvau(800, 64, 16, 4, "UINT4", "INT4", "UINT4");
  n.set_ints("numInputVectors", {1, 3});
  n.set_string("accDataType", "INT16");
  n.set_string("ram_style", "block");
  const HwEstimate e = estimate(n);
  EXPECT_EQ(e.cycles, (64 / 4) * (800 / 16) * 3);
  // WMEM = 800*64/64 = 800 words of 4*16*4 = 256 bits -> ceil(256/18) = 15.
  EXPECT_EQ(e.bram18, 15);
  // 300 + 1.1*4*(mult + adder + acc + thr + comp), W+A = 8, Q = 16, B = 4, acc 16, TMEM 16.
  const double mult = 16 * (2 * 2 - 1) * 8, adder = 8 * 31, thr = 15 * 16 * 1, comp = 15 * 16;
  EXPECT_DOUBLE_EQ(e.lut, 300 + 1.1 * 4 * (mult + adder + 16 + thr + comp));
  EXPECT_EQ(e.dsp, 0);
  n.set_string("resType", "dsp");
  const HwEstimate d = estimate(n);
  EXPECT_EQ(d.dsp, 4 * 16);
  EXPECT_DOUBLE_EQ(d.lut, 300 + 1.1 * 4 * (adder + 16 + thr + comp));
  n.set_string("ram_style", "distributed");
  EXPECT_EQ(estimate(n).bram18, 0);
}

TEST(HwThresholding, ExecutesWithActValAndBipolar) {
  Node n = hw_node("Thresholding", 2);
  n.set_int("NumChannels", 2);
  n.set_int("PE", 1);
  n.set_string("inputDataType", "INT8");
  n.set_string("outputDataType", "INT2");
  n.set_int("ActVal", -2);
  const Tensor thr = f32({2, 3}, {0, 1, 2, 10, 20, 30});
  EXPECT_EQ(run(n, {f32({1, 2, 2}, {1, 25, 2, 5}), thr}), (std::vector<float>{0, 0, 1, -2}));
  n.set_ints("numInputVectors", {1, 8});
  n.set_int("PE", 2);
  EXPECT_EQ(estimate(n).cycles, 8);
  n.set_int("PE", 3);
  EXPECT_NE(validate_error(n).find("legal PE: 1, 2"), std::string::npos);
}

TEST(HwSwg, MatchesIm2ColAndCycleFormula) {
  Node n = hw_node("ConvolutionInputGenerator", 1);
  n.set_ints("ConvKernelDim", {2, 2});
  n.set_ints("IFMDim", {3, 3});
  n.set_ints("OFMDim", {2, 2});
  n.set_int("IFMChannels", 1);
  n.set_int("SIMD", 1);
  n.set_string("inputDataType", "UINT4");
  const std::vector<float> out = run(n, {f32({1, 3, 3, 1}, {0, 1, 2, 3, 4, 5, 6, 7, 8})});
  EXPECT_EQ(out, (std::vector<float>{0, 1, 3, 4, 1, 2, 4, 5, 3, 4, 6, 7, 4, 5, 7, 8}));
  // IFM_w*Kh*Dil_h*C/SIMD + OFM_h*max(OFM_w*Kw*Kh*C/SIMD, S_w*IFM_w*C/SIMD) = 3*2 + 2*max(8, 3).
  EXPECT_EQ(estimate(n).cycles, 6 + 2 * 8);
  n.set_ints("OFMDim", {3, 3});
  EXPECT_NE(validate_error(n).find("OFMDim"), std::string::npos);
}

TEST(HwSwg, CycleFormulaStrideAndDilation) {
  Node n = hw_node("ConvolutionInputGenerator", 1);
  n.set_ints("ConvKernelDim", {3, 3});
  n.set_ints("IFMDim", {32, 32});
  n.set_ints("OFMDim", {14, 14});
  n.set_ints("Stride", {2, 2});
  n.set_ints("Dilation", {2, 2});
  n.set_int("IFMChannels", 64);
  n.set_int("SIMD", 8);
  n.set_string("inputDataType", "INT8");
  // 32*3*2*8 + 14*max(14*9*8, 2*32*8) = 1536 + 14*1008.
  EXPECT_EQ(estimate(n).cycles, 1536 + 14 * 1008);
}

TEST(HwFmPadding, PadsNhwc) {
  Node n = hw_node("FMPadding", 1);
  n.set_ints("ImgDim", {1, 2});
  n.set_ints("Padding", {1, 0, 0, 1});
  n.set_int("NumChannels", 1);
  n.set_int("SIMD", 1);
  n.set_string("inputDataType", "INT4");
  EXPECT_EQ(run(n, {f32({1, 1, 2, 1}, {3, 4})}), (std::vector<float>{0, 0, 0, 3, 4, 0}));
  n.set_int("PadValue", -1);
  EXPECT_EQ(run(n, {f32({1, 1, 2, 1}, {3, 4})}), (std::vector<float>{-1, -1, -1, 3, 4, -1}));
  EXPECT_EQ(estimate(n).cycles, 2 * 3);
}

TEST(HwStreamingMaxPool, PoolsAndCycles) {
  Node n = hw_node("StreamingMaxPool", 1);
  n.set_ints("ImgDim", {4, 4});
  n.set_ints("PoolDim", {2, 2});
  n.set_int("NumChannels", 1);
  n.set_string("dataType", "INT4");
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[i] = (float)((i * 7) % 11 - 5);
  EXPECT_EQ(run(n, {f32({1, 4, 4, 1}, x)}), (std::vector<float>{2, 5, 3, 5}));
  EXPECT_EQ(estimate(n).cycles, 20);  // 4*4*(1 + 1/4)
}

TEST(HwLabelSelect, TopKTiesLowerIndexFirst) {
  Node n = hw_node("LabelSelect", 1);
  n.set_int("Labels", 6);
  n.set_int("PE", 2);
  n.set_int("K", 3);
  n.set_string("inputDataType", "INT8");
  EXPECT_EQ(run(n, {f32({1, 6}, {3, 7, 7, 1, 3, 9})}), (std::vector<float>{5, 1, 2}));
  EXPECT_EQ(estimate(n).cycles, 3);
  n.set_int("PE", 4);
  EXPECT_NE(validate_error(n).find("legal PE: 1, 2, 3, 6"), std::string::npos);
}

TEST(HwStreams, AddDuplicateConcatDwcFifo) {
  Node a = hw_node("AddStreams", 2);
  a.set_int("NumChannels", 2);
  a.set_int("PE", 2);
  Attribute t;
  t.name = "inputDataTypes";
  t.type = AttrType::STRINGS;
  t.strings = {"INT4", "INT4"};
  a.attrs.push_back(t);
  EXPECT_EQ(run(a, {f32({1, 2}, {1, -2}), f32({1, 2}, {3, 4})}), (std::vector<float>{4, 2}));
  EXPECT_EQ(estimate(a).cycles, 1);

  Node d = hw_node("DuplicateStreams", 1, 3);
  d.set_int("NumChannels", 2);
  d.set_int("NumOutputStreams", 3);
  d.set_string("inputDataType", "INT4");
  const auto outs = run_all(d, {f32({1, 2}, {5, 6})});
  ASSERT_EQ(outs.size(), 3u);
  for (const auto& o : outs) EXPECT_EQ(o.to_float(), (std::vector<float>{5, 6}));

  Node c = hw_node("StreamingConcat", 2);
  c.set_ints("ChannelsPerStream", {1, 2});
  EXPECT_EQ(run(c, {f32({2, 1}, {1, 2}), f32({2, 2}, {3, 4, 5, 6})}), (std::vector<float>{1, 3, 4, 2, 5, 6}));

  Node w = hw_node("StreamingDataWidthConverter", 1);
  w.set_int("inWidth", 8);
  w.set_int("outWidth", 24);
  w.set_string("dataType", "UINT4");
  w.set_ints("shape", {1, 12});
  EXPECT_EQ(run(w, {f32({1, 3}, {1, 2, 3})}), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(estimate(w).cycles, 6);  // 48 bits over the 8-bit side
  w.set_int("outWidth", 6);
  EXPECT_NE(validate_error(w).find("multiples"), std::string::npos);

  Node f = hw_node("StreamingFIFO", 1);
  f.set_int("depth", 1024);
  f.set_ints("folded_shape", {1, 4, 2});
  f.set_string("dataType", "INT8");
  EXPECT_EQ(run(f, {f32({1, 8}, {1, 2, 3, 4, 5, 6, 7, 8})}).size(), 8u);
  const HwEstimate fe = estimate(f);
  EXPECT_EQ(fe.cycles, 4);
  EXPECT_EQ(fe.bram18, 1);  // 16 bits x 1024
}

TEST(HwPooling, GlobalAccChannelwisePool) {
  Node g = hw_node("GlobalAccPool", 1);
  g.set_int("NumChannels", 2);
  g.set_int("PE", 1);
  g.set_ints("numInputVectors", {1, 2, 2});
  g.set_string("inputDataType", "UINT4");
  EXPECT_EQ(run(g, {f32({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})}), (std::vector<float>{16, 20}));
  EXPECT_EQ(estimate(g).cycles, 8 + 2);

  Node c = hw_node("ChannelwiseOp", 2);
  c.set_int("NumChannels", 2);
  c.set_string("inputDataType", "INT4");
  c.set_string("outputDataType", "BINARY");
  c.set_string("Func", "cmp_le");
  EXPECT_EQ(run(c, {f32({2, 2}, {1, 5, 3, 4}), f32({2}, {2, 4})}), (std::vector<float>{1, 0, 0, 1}));
  c.set_string("Func", "mul");
  EXPECT_EQ(run(c, {f32({2, 2}, {1, 5, 3, 4}), f32({2}, {2, 4})}), (std::vector<float>{2, 20, 6, 16}));

  Node p = hw_node("Pool", 1);
  p.set_int("Channels", 1);
  p.set_ints("KernelSize", {2, 2});
  p.set_ints("OutImgDims", {1, 1});
  p.set_string("InputDataType", "UINT4");
  p.set_string("Function", "MaxPool");
  const Tensor win = f32({1, 1, 1, 4}, {1, 9, 3, 4});
  EXPECT_EQ(run(p, {win}), (std::vector<float>{9}));
  p.set_string("Function", "QuantAvgPool");
  p.set_string("OutputDataType", "UINT4");
  // sum 17, shift = bitlen(15*4)=6 - 4 = 2 -> 4.
  EXPECT_EQ(run(p, {win}), (std::vector<float>{4}));
}

TEST(HwVvau, DepthwiseDotProduct) {
  Node n = hw_node("VVAU", 2);
  n.set_ints("Dim", {1, 1});
  n.set_ints("Kernel", {1, 2});
  n.set_int("Channels", 2);
  n.set_int("PE", 2);
  n.set_int("SIMD", 2);
  n.set_string("inputDataType", "INT4");
  n.set_string("weightDataType", "INT4");
  n.set_string("outputDataType", "INT16");
  n.set_int("noActivation", 1);
  // window (kw, c): [[1, 2], [3, 4]]; W (C,1,1,2) = [[1, -1], [2, 2]] -> c0: 1-3 = -2, c1: 4+8 = 12.
  EXPECT_EQ(run(n, {f32({1, 1, 1, 4}, {1, 2, 3, 4}), f32({2, 1, 1, 2}, {1, -1, 2, 2})}),
            (std::vector<float>{-2, 12}));
  EXPECT_EQ(estimate(n).cycles, 1);
}

}  // namespace
}  // namespace sf
