// Convert-to-HW passes and partition_dataflow on tiny hand-built graphs;
// tests/python/test_to_hw.py covers the zoo models end to end.
#include <gtest/gtest.h>

#include "exec/executor.h"
#include "passes/partition/partition.h"
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

const char* kQ = "qonnx.custom_op.general";

// x (1,4) INT4 -> MatMul(w 4x3 INT2) -> MultiThreshold(UINT2) -> Mul(0.5) -> y
Model mm_mt_mul() {
  Model m;
  m.opset_imports = {{"", 13}, {kQ, 1}};
  Graph& g = m.graph;
  ValueInfo x;
  x.name = "x";
  x.elem_type = ElemType::FLOAT;
  x.set_shape({1, 4});
  g.inputs.push_back(x);
  ValueInfo y = x;
  y.name = "y";
  y.set_shape({1, 3});
  g.outputs.push_back(y);
  g.set_initializer("w", Tensor::from_vector<float>({4, 3}, {1, -2, 0, 1, 1, -1, -1, 0, 1, 1, 1, -2}));
  g.set_initializer("thr", Tensor::from_vector<float>({1, 3}, {-2.5f, 0.2f, 3.0f}));
  g.set_initializer("s", Tensor::scalar<float>(0.5f));
  g.nodes.push_back(make_node("MatMul", {"x", "w"}, {"acc"}, "MatMul_0"));
  Node mt = make_node("MultiThreshold", {"acc", "thr"}, {"a"}, "MT_0", kQ);
  mt.set_string("out_dtype", "UINT2");
  g.nodes.push_back(mt);
  g.nodes.push_back(make_node("Mul", {"a", "s"}, {"y"}, "Mul_0"));
  set_tensor_shape(g, "acc", ElemType::FLOAT, {1, 3});
  set_tensor_shape(g, "a", ElemType::FLOAT, {1, 3});
  g.set_datatype("x", DataType::sint(4));
  g.set_datatype("w", DataType::sint(2));
  g.set_datatype("acc", DataType::sint(32));
  g.set_datatype("a", DataType::uint(2));
  return m;
}

TensorMap input() { return {{"x", Tensor::from_vector<float>({1, 4}, {-8, 7, 3, -1})}}; }

TEST(ToHw, MvauAbsorbsThresholdAndStaysExact) {
  Model m = mm_mt_mul();
  VerifyOptions v;
  v.enabled = true;
  v.inputs = {input()};
  PipelineReport r = run_pipeline(m, {"ConvertToHW"}, v);
  ASSERT_TRUE(r.ok) << r.failure.message();
  ASSERT_EQ(m.graph.nodes.size(), 2u);
  const Node& n = m.graph.nodes[0];
  EXPECT_EQ(n.op_type, "MVAU");
  EXPECT_EQ(n.get_int("MW"), 4);
  EXPECT_EQ(n.get_int("MH"), 3);
  EXPECT_EQ(n.get_int("noActivation"), 0);
  EXPECT_EQ(n.get_string("outputDataType"), "UINT2");
  // Weighted range with INT4 inputs: exactly what the weights allow.
  const Tensor* t = m.graph.get_initializer(n.inputs[2]);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape(), (Shape{3, 3}));
  EXPECT_EQ(t->to_float()[0], -2.0f);  // ceil(-2.5)
  EXPECT_EQ(m.graph.nodes[1].op_type, "Mul");  // float scale stays on the host
}

TEST(ToHw, FloatMatMulIsRefusedWithReason) {
  Model m = mm_mt_mul();
  m.graph.set_datatype("x", DataType::float32());
  clear_refusals();
  EXPECT_FALSE(apply_pass(m, "InferQuantizedMatrixVectorActivation"));
  EXPECT_FALSE(refusals_for("MatMul_0").empty());
}

TEST(Partition, ParentCallsChildBitExactly) {
  Model m = mm_mt_mul();
  apply_pass(m, "ConvertToHW");
  const TensorMap want = execute_model(m, input());
  PartitionResult r;
  partition_dataflow(m, r);
  ASSERT_EQ(r.children.size(), 1u);
  EXPECT_EQ(r.children[0].graph.nodes.size(), 1u);
  ASSERT_EQ(r.cpu_nodes.size(), 1u);
  EXPECT_EQ(r.cpu_nodes[0].node, "Mul_0");
  EXPECT_NE(r.cpu_nodes[0].reason.find("after the accelerator"), std::string::npos);
  EXPECT_EQ(r.parent.graph.nodes[0].op_type, kSdpOpType);
  const TensorMap got = execute_model(r.parent, input());
  EXPECT_EQ(got.at("y").to_float(), want.at("y").to_float());
}

}  // namespace
}  // namespace sf
