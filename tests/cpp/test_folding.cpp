// The folding cost entry point (cpp/passes/folding/hw_cost.h): estimates go
// through the op's own cost model, illegal folding is refused with the legal
// values listed, and non-HW or missing nodes are typed ModelErrors. The
// folding search itself is tested from Python (tests/python/test_folding.py).
#include <gtest/gtest.h>

#include <string>

#include "passes/folding/hw_cost.h"

namespace sf {
namespace {

Model mvau_model(int64_t mw, int64_t mh, int64_t simd, int64_t pe) {
  Model m;
  Node n;
  n.name = "MVAU_0";
  n.op_type = "MVAU";
  n.domain = "finn.custom_op.fpgadataflow";
  n.inputs = {"x", "W"};
  n.outputs = {"y"};
  n.set_int("MW", mw);
  n.set_int("MH", mh);
  n.set_int("SIMD", simd);
  n.set_int("PE", pe);
  n.set_ints("numInputVectors", {1});
  n.set_string("inputDataType", "UINT4");
  n.set_string("weightDataType", "INT4");
  n.set_string("outputDataType", "INT32");
  n.set_int("noActivation", 1);
  m.graph.nodes.push_back(n);
  return m;
}

TEST(Folding, EstimateUsesOpCycleModel) {
  for (int64_t simd : {1, 2, 4, 8, 16})
    for (int64_t pe : {1, 2, 4, 8}) {
      const HwEstimate e = folding::estimate_node(mvau_model(16, 8, simd, pe), "MVAU_0");
      EXPECT_EQ(e.cycles, (8 / pe) * (16 / simd));
      EXPECT_GT(e.lut, 0);
    }
}

TEST(Folding, MoreParallelismCostsMoreLut) {
  const HwEstimate a = folding::estimate_node(mvau_model(64, 32, 1, 1), "MVAU_0");
  const HwEstimate b = folding::estimate_node(mvau_model(64, 32, 8, 4), "MVAU_0");
  EXPECT_LT(b.cycles, a.cycles);
  EXPECT_GT(b.lut, a.lut);
}

TEST(Folding, IllegalFoldingListsLegalValues) {
  try {
    folding::estimate_node(mvau_model(800, 64, 24, 1), "MVAU_0");
    FAIL() << "expected ModelError";
  } catch (const ModelError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("SIMD=24"), std::string::npos) << msg;
    EXPECT_NE(msg.find("1, 2, 4, 5, 8"), std::string::npos) << msg;
  }
}

TEST(Folding, MissingAndNonHwNodes) {
  Model m = mvau_model(4, 4, 1, 1);
  EXPECT_THROW(folding::estimate_node(m, "nope"), ModelError);
  Node mm;
  mm.name = "MatMul_0";
  mm.op_type = "MatMul";
  mm.inputs = {"a", "b"};
  mm.outputs = {"c"};
  m.graph.nodes.push_back(mm);
  EXPECT_FALSE(folding::is_hw_node(mm));
  EXPECT_THROW(folding::estimate_node(m, "MatMul_0"), ModelError);
}

TEST(Folding, StreamShapesFollowFolding) {
  const hw::StreamShapes s = folding::stream_shapes_node(mvau_model(16, 8, 4, 2), "MVAU_0");
  EXPECT_EQ(s.in_width, 4 * 4);
  EXPECT_EQ(s.folded_in.back(), 4);
  EXPECT_EQ(s.folded_out.back(), 2);
}

}  // namespace
}  // namespace sf
