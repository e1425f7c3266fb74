// HW-layer ops (finn.custom_op.fpgadataflow): tiny hand-computed executions,
// folding-legality errors that list the legal values, the DESIGN §5 cycle
// formulas and FINN's BRAM18 counting rule. tests/python/test_hw_ops.py
// checks the same ops against the streamlined graphs they replace.
#include <gtest/gtest.h>

#include <cmath>

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
  // resType auto puts 4-bit x 4-bit MACs into DSP48E1 (as the RTL does); pin LUT MACs here.
  n.set_string("resType", "lut");
  const HwEstimate e = estimate(n);
  EXPECT_EQ(e.cycles, (64 / 4) * (800 / 16) * 3);
  // WMEM = 800*64/64 = 800 words of 4*16*4 = 256 bits -> ceil(256/18) = 15.
  EXPECT_EQ(e.bram18, 15);
  // 300 + 1.1*4*(mult + adder + acc) + 4*lane, W+A = 8, Q = 16, acc 16.
  // Binary-search thresholds per PE lane (B = 4 stages, 17-bit thresholds,
  // TMEM 16): stages 16, 32, 64, 128 deep, all under auto's BRAM depth (256),
  // so LUTRAM (17 per 64 words) plus a comparator each (ceil(17/2) + 1).
  const double mult = 16 * (2 * 2 - 1) * 8, adder = 8 * 31, lane = 17 * (1 + 1 + 1 + 2) + 4 * 10;
  EXPECT_DOUBLE_EQ(e.lut, 300 + 1.1 * 4 * (mult + adder + 16) + 4 * lane);
  EXPECT_EQ(e.dsp, 0);
  n.set_string("resType", "dsp");
  const HwEstimate d = estimate(n);
  EXPECT_EQ(d.dsp, 4 * 16);
  EXPECT_DOUBLE_EQ(d.lut, 300 + 1.1 * 4 * (adder + 16) + 4 * lane);
  n.set_string("resType", "auto");  // as the RTL emitter decides: >= 4-bit operands go to DSPs
  EXPECT_EQ(estimate(n).dsp, 4 * 16);
  n.set_string("inputDataType", "UINT2");
  EXPECT_EQ(estimate(n).dsp, 0);
  n.set_string("ram_style", "distributed");
  EXPECT_EQ(estimate(n).bram18, 0);
}

// Thresholds in memory (issue 16): binary search, B comparators per PE
// instead of 2^B-1, the thresholds in LUTRAM or (deep stages) BRAM.
TEST(HwMvau, ThresholdsInMemory) {
  Node n = mvau(800, 64, 16, 4, "UINT4", "INT4", "UINT4");
  n.set_string("accDataType", "INT16");
  n.set_string("resType", "lut");
  n.set_string("ram_style", "distributed");  // weights out of the way: thresholds only in BRAM
  const double mult = 16 * (2 * 2 - 1) * 8, adder = 8 * 31, comp = 4 * 10;
  const double wlut = 4 * 16 * 4 * std::ceil(800 / 64.0);  // the LUTRAM weights (c2)
  // TMEM 16, B 4: stages of depth 16, 32, 64, 128 with 17-bit thresholds.
  n.set_string("ram_style_thresholds", "distributed");
  const HwEstimate l = estimate(n);
  EXPECT_DOUBLE_EQ(l.lut, 300 + 1.1 * 4 * (mult + adder + 16) + 4 * (17 * (1 + 1 + 1 + 2) + comp) + wlut);
  EXPECT_EQ(l.bram18, 0);
  n.set_string("ram_style_thresholds", "block");  // stages 64 and 128 deep go to BRAM, one per PE lane
  const HwEstimate b = estimate(n);
  EXPECT_DOUBLE_EQ(b.lut, 300 + 1.1 * 4 * (mult + adder + 16) + 4 * (17 * (1 + 1) + comp) + wlut);
  EXPECT_EQ(b.bram18, 2 * 4);
  EXPECT_EQ(b.cycles, l.cycles);
  // 8-bit outputs: 8 comparators, not 255
  n.set_string("outputDataType", "UINT8");
  n.set_string("ram_style_thresholds", "distributed");
  EXPECT_LT(estimate(n).lut, 300 + 1.1 * 4 * (mult + adder + 16 + 255 * 17) + wlut);  // FINN's 255 comparators
  n.set_string("ram_style_thresholds", "ultra");
  EXPECT_NE(validate_error(n).find("ram_style_thresholds"), std::string::npos);
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
  // The RTL core's steady-state interval: OFM_h rows of OFM_w*Kh*Kw*C/SIMD
  // beats, plus the wait between frames for the next frame's first window
  // rows that did not fit in the line buffer ((span - S_h) rows of IFM_w
  // pixels), plus one cycle of handshake: 2*8 + 1*3 + 1.
  EXPECT_EQ(estimate(n).cycles, 2 * 8 + 3 + 1);
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
  // 14 rows of 14*9*8 beats (the writer's 2*32*8 per row hide behind them),
  // plus between frames the span - S_h + leftover = 5 - 2 + 1 rows of 32*8
  // beats the line buffer could not take ahead, plus one cycle.
  EXPECT_EQ(estimate(n).cycles, 14 * 1008 + 4 * 256 + 1);
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
  EXPECT_EQ(estimate(n).cycles, 16);  // one input beat per cycle: 4*4*C/PE
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
  EXPECT_EQ(estimate(g).cycles, 8);  // the input beats: the RTL outputs during the last pixel, no drain

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

// FF models: first-order, but every HW op must report some flip-flops and
// more of them when it handles more elements per cycle.
TEST(HwFf, PositiveAndScalesWithParallelism) {
  Node m1 = mvau(64, 16, 4, 2, "UINT4", "INT4", "UINT4");
  Node m2 = mvau(64, 16, 8, 4, "UINT4", "INT4", "UINT4");
  const double f1 = estimate(m1).ff, f2 = estimate(m2).ff;
  EXPECT_GT(f1, 0);
  EXPECT_GT(f2, f1);
  // acc INT14 (UINT4 x INT4 over 64: [-7680, 6720]),
  // 2*(14+4) + 4*4 + 2*4*4 + 32 + log2(WMEM=128) + log2(TMEM=8).
  EXPECT_DOUBLE_EQ(f1, 2 * (14 + 4) + 16 + 32 + 32 + 7 + 3);

  Node t = hw_node("Thresholding", 2);
  t.set_int("NumChannels", 8);
  t.set_int("PE", 1);
  t.set_string("inputDataType", "INT8");
  t.set_string("outputDataType", "UINT4");
  const double t1 = estimate(t).ff;
  // Binary-search pipeline: K = 4 stages, TW = 9; per lane 2*K*8 + K*(K+1) + K*TW + 4, plus input/output
  // registers and control.
  EXPECT_DOUBLE_EQ(t1, (2 * 4 * 8 + 4 * 5 + 4 * 9 + 4) + (8 + 4) + 30 + 3);
  t.set_int("PE", 4);
  EXPECT_GT(estimate(t).ff, t1);

  Node g = hw_node("ConvolutionInputGenerator", 1);
  g.set_ints("ConvKernelDim", {3, 3});
  g.set_ints("IFMDim", {8, 8});
  g.set_ints("OFMDim", {6, 6});
  g.set_int("IFMChannels", 8);
  g.set_int("SIMD", 1);
  g.set_string("inputDataType", "UINT4");
  const double g1 = estimate(g).ff;
  g.set_int("SIMD", 8);
  EXPECT_GT(g1, 0);
  EXPECT_GT(estimate(g).ff, g1);

  Node v = hw_node("VVAU", 2);
  v.set_ints("Dim", {4, 4});
  v.set_ints("Kernel", {3, 3});
  v.set_int("Channels", 8);
  v.set_int("PE", 1);
  v.set_int("SIMD", 1);
  v.set_string("inputDataType", "INT4");
  v.set_string("weightDataType", "INT4");
  v.set_string("outputDataType", "INT16");
  v.set_int("noActivation", 1);
  const double v1 = estimate(v).ff;
  v.set_int("PE", 4);
  v.set_int("SIMD", 3);
  EXPECT_GT(v1, 0);
  EXPECT_GT(estimate(v).ff, v1);

  // Ops with a PE (or SIMD) attribute: ff > 0 at 1, larger at 2.
  auto check_par = [](Node n, const char* par) {
    n.set_int(par, 1);
    const double a = estimate(n).ff;
    n.set_int(par, 2);
    const double b = estimate(n).ff;
    EXPECT_GT(a, 0) << n.op_type;
    EXPECT_GT(b, a) << n.op_type;
  };
  Node p = hw_node("FMPadding", 1);
  p.set_ints("ImgDim", {4, 4});
  p.set_ints("Padding", {1, 1, 1, 1});
  p.set_int("NumChannels", 4);
  p.set_string("inputDataType", "INT4");
  check_par(p, "SIMD");
  Node s = hw_node("StreamingMaxPool", 1);
  s.set_ints("ImgDim", {4, 4});
  s.set_ints("PoolDim", {2, 2});
  s.set_int("NumChannels", 4);
  s.set_string("dataType", "INT4");
  check_par(s, "PE");
  Node l = hw_node("LabelSelect", 1);
  l.set_int("Labels", 10);
  l.set_int("K", 1);
  l.set_string("inputDataType", "INT8");
  check_par(l, "PE");
  Node a = hw_node("AddStreams", 2);
  a.set_int("NumChannels", 4);
  Attribute types;
  types.name = "inputDataTypes";
  types.type = AttrType::STRINGS;
  types.strings = {"INT4", "INT4"};
  a.attrs.push_back(types);
  check_par(a, "PE");
  Node d = hw_node("DuplicateStreams", 1, 2);
  d.set_int("NumChannels", 4);
  d.set_string("inputDataType", "INT4");
  check_par(d, "PE");
  Node c = hw_node("StreamingConcat", 2);
  c.set_ints("ChannelsPerStream", {2, 4});
  types.strings = {"UINT4", "UINT4"};
  c.attrs.push_back(types);
  check_par(c, "SIMD");
  Node gp = hw_node("GlobalAccPool", 1);
  gp.set_int("NumChannels", 4);
  gp.set_ints("numInputVectors", {1, 4, 4});
  gp.set_string("inputDataType", "UINT4");
  check_par(gp, "PE");
  Node cw = hw_node("ChannelwiseOp", 2);
  cw.set_int("NumChannels", 4);
  cw.set_string("inputDataType", "INT4");
  cw.set_string("outputDataType", "INT8");
  cw.set_string("Func", "add");
  check_par(cw, "PE");
  Node pl = hw_node("Pool", 1);
  pl.set_int("Channels", 4);
  pl.set_ints("KernelSize", {2, 2});
  pl.set_ints("OutImgDims", {2, 2});
  pl.set_string("InputDataType", "UINT4");
  check_par(pl, "PE");

  Node w = hw_node("StreamingDataWidthConverter", 1);
  w.set_int("inWidth", 8);
  w.set_int("outWidth", 16);
  w.set_string("dataType", "UINT4");
  w.set_ints("shape", {1, 16});
  const double w1 = estimate(w).ff;
  w.set_int("outWidth", 32);
  EXPECT_GT(w1, 0);
  EXPECT_GT(estimate(w).ff, w1);
  Node f = hw_node("StreamingFIFO", 1);
  f.set_int("depth", 32);
  f.set_ints("folded_shape", {1, 4, 2});
  f.set_string("dataType", "INT8");
  // sf_fifo: the 16-bit output register, count/maxcount/ready (3 x 6 bits), 2 control bits.
  EXPECT_DOUBLE_EQ(estimate(f).ff, 16 + 3 * 6 + 2);
}

TEST(HwCommon, StreamShapesStreamOps) {
  Node s = hw_node("StreamingMaxPool", 1);
  s.set_ints("ImgDim", {4, 6});
  s.set_ints("PoolDim", {2, 2});
  s.set_int("NumChannels", 6);
  s.set_int("PE", 3);
  s.set_string("dataType", "INT4");
  const hw::StreamShapes ss = hw::stream_shapes(s);
  EXPECT_EQ(ss.normal_in, (Shape{1, 4, 6, 6}));
  EXPECT_EQ(ss.folded_in, (Shape{1, 4, 6, 2, 3}));
  EXPECT_EQ(ss.normal_out, (Shape{1, 2, 3, 6}));
  EXPECT_EQ(ss.folded_out, (Shape{1, 2, 3, 2, 3}));
  EXPECT_EQ(ss.in_width, 12);
  EXPECT_EQ(ss.out_width, 12);

  Node p = hw_node("FMPadding", 1);
  p.set_ints("ImgDim", {3, 3});
  p.set_ints("Padding", {1, 0, 1, 2});
  p.set_int("NumChannels", 4);
  p.set_int("SIMD", 2);
  p.set_string("inputDataType", "UINT3");
  const hw::StreamShapes ps = hw::stream_shapes(p);
  EXPECT_EQ(ps.folded_in, (Shape{1, 3, 3, 2, 2}));
  EXPECT_EQ(ps.normal_out, (Shape{1, 5, 5, 4}));
  EXPECT_EQ(ps.folded_out, (Shape{1, 5, 5, 2, 2}));
  EXPECT_EQ(ps.in_width, 6);

  // AddStreams: INT4 + INT4 -> INT5 output beats.
  Node a = hw_node("AddStreams", 2);
  a.set_int("NumChannels", 8);
  a.set_int("PE", 4);
  a.set_ints("numInputVectors", {1, 2});
  Attribute t;
  t.name = "inputDataTypes";
  t.type = AttrType::STRINGS;
  t.strings = {"INT4", "INT4"};
  a.attrs.push_back(t);
  const hw::StreamShapes as = hw::stream_shapes(a);
  EXPECT_EQ(as.normal_in, (Shape{1, 2, 8}));
  EXPECT_EQ(as.folded_out, (Shape{1, 2, 2, 4}));
  EXPECT_EQ(as.in_width, 16);
  EXPECT_EQ(as.out_width, 20);

  Node c = hw_node("StreamingConcat", 2);
  c.set_ints("ChannelsPerStream", {2, 4});
  c.set_int("SIMD", 2);
  c.set_ints("numInputVectors", {1, 3, 3});
  t.strings = {"UINT4", "UINT4"};
  c.attrs.push_back(t);
  const hw::StreamShapes cs = hw::stream_shapes(c);
  EXPECT_EQ(cs.folded_in, (Shape{1, 3, 3, 1, 2}));
  EXPECT_EQ(cs.normal_out, (Shape{1, 3, 3, 6}));
  EXPECT_EQ(cs.folded_out, (Shape{1, 3, 3, 3, 2}));
  EXPECT_EQ(cs.out_width, 8);

  // GlobalAccPool over 4x4 UINT4 pixels: sums up to 240 -> UINT8 outputs.
  Node g = hw_node("GlobalAccPool", 1);
  g.set_int("NumChannels", 4);
  g.set_int("PE", 2);
  g.set_ints("numInputVectors", {1, 4, 4});
  g.set_string("inputDataType", "UINT4");
  const hw::StreamShapes gs = hw::stream_shapes(g);
  EXPECT_EQ(gs.folded_in, (Shape{1, 4, 4, 2, 2}));
  EXPECT_EQ(gs.folded_out, (Shape{1, 1, 1, 2, 2}));
  EXPECT_EQ(gs.in_width, 8);
  EXPECT_EQ(gs.out_width, 16);

  Node l = hw_node("LabelSelect", 1);
  l.set_int("Labels", 10);
  l.set_int("PE", 5);
  l.set_int("K", 3);
  l.set_string("inputDataType", "INT8");
  const hw::StreamShapes ls = hw::stream_shapes(l);
  EXPECT_EQ(ls.folded_in, (Shape{1, 2, 5}));
  EXPECT_EQ(ls.folded_out, (Shape{1, 3, 1}));
  EXPECT_EQ(ls.in_width, 40);
  EXPECT_EQ(ls.out_width, 4);  // UINT4 holds labels 0..9

  Node w = hw_node("StreamingDataWidthConverter", 1);
  w.set_int("inWidth", 8);
  w.set_int("outWidth", 24);
  w.set_string("dataType", "UINT4");
  w.set_ints("shape", {1, 12});
  const hw::StreamShapes ws = hw::stream_shapes(w);
  EXPECT_EQ(ws.folded_in, (Shape{1, 6, 2}));
  EXPECT_EQ(ws.folded_out, (Shape{1, 2, 6}));
  EXPECT_EQ(ws.out_width, 24);

  Node f = hw_node("StreamingFIFO", 1);
  f.set_int("depth", 4);
  f.set_ints("folded_shape", {1, 4, 2});
  f.set_string("dataType", "INT8");
  const hw::StreamShapes fs = hw::stream_shapes(f);
  EXPECT_EQ(fs.normal_in, (Shape{1, 8}));
  EXPECT_EQ(fs.in_width, 16);

  Node pl = hw_node("Pool", 1);
  pl.set_int("Channels", 4);
  pl.set_int("PE", 2);
  pl.set_ints("KernelSize", {2, 2});
  pl.set_ints("OutImgDims", {3, 3});
  pl.set_string("InputDataType", "UINT4");
  pl.set_string("Function", "AccPool");
  const hw::StreamShapes pls = hw::stream_shapes(pl);
  EXPECT_EQ(pls.folded_in, (Shape{1, 3, 3, 8, 2}));
  EXPECT_EQ(pls.folded_out, (Shape{1, 3, 3, 2, 2}));
  EXPECT_EQ(pls.out_width, 12);  // sum of 4 UINT4 values: UINT6

  Node u = hw_node("Softmax", 1);
  EXPECT_THROW(hw::stream_shapes(u), ModelError);
}

TEST(HwSwg, OneDimensionalCycles) {
  Node n = hw_node("ConvolutionInputGenerator", 1);
  n.set_ints("ConvKernelDim", {1, 3});
  n.set_ints("IFMDim", {1, 16});
  n.set_ints("OFMDim", {1, 14});
  n.set_int("IFMChannels", 8);
  n.set_int("SIMD", 2);
  n.set_string("inputDataType", "UINT4");
  // The RTL runs it as a column of one-pixel rows: 14 windows of 3*4 beats,
  // plus between frames the K-S = 2 pixels of 4 beats the line buffer could
  // not take ahead, plus one handshake cycle.
  EXPECT_EQ(estimate(n).cycles, 8 + 14 * 12 + 1);
  // Stride 4 > K: reading the new pixels dominates; dilation 2 widens the fill.
  n.set_ints("Stride", {1, 4});
  n.set_ints("Dilation", {1, 2});
  n.set_ints("OFMDim", {1, 3});
  EXPECT_EQ(estimate(n).cycles, 2 * 2 * 4 + 3 * 4 * 4);
  // The transposed layout (IFMDim [L, 1]) takes the same model.
  n.set_ints("ConvKernelDim", {3, 1});
  n.set_ints("IFMDim", {16, 1});
  n.set_ints("OFMDim", {14, 1});
  n.set_ints("Stride", {1, 1});
  n.set_ints("Dilation", {1, 1});
  EXPECT_EQ(estimate(n).cycles, 8 + 14 * 12 + 1);
  // Depthwise reorders beats, not their count.
  n.set_int("depthwise", 1);
  EXPECT_EQ(estimate(n).cycles, 8 + 14 * 12 + 1);
}

TEST(HwStreamingMaxPool, OneDimensionalCycles) {
  Node n = hw_node("StreamingMaxPool", 1);
  n.set_ints("ImgDim", {1, 12});
  n.set_ints("PoolDim", {1, 3});
  n.set_int("NumChannels", 8);
  n.set_int("PE", 2);
  n.set_string("dataType", "INT4");
  EXPECT_EQ(estimate(n).cycles, 12 * 4);  // L*C/PE
  std::vector<float> x(12);
  for (int i = 0; i < 12; ++i) x[i] = (float)((i * 5) % 7 - 3);
  n.set_int("NumChannels", 1);
  n.set_int("PE", 1);
  // windows {-3,2,0}, {-2,3,1}, {-1,-3,2}, {0,-2,3}
  EXPECT_EQ(run(n, {f32({1, 1, 12, 1}, x)}), (std::vector<float>{2, 3, 2, 3}));
}

}  // namespace
}  // namespace sf
