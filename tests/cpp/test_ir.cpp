// IR core: datatypes, tensors, graph queries, ONNX round trip, executor basics.
#include <gtest/gtest.h>

#include <cmath>

#include "exec/broadcast.h"
#include "exec/executor.h"
#include "exec/infer.h"
#include "ir/errors.h"
#include "ir/graph.h"
#include "ir/onnx_io.h"

using namespace sf;

TEST(DataType, RangesAndNames) {
  EXPECT_EQ(DataType::from_name("INT4").min(), -8);
  EXPECT_EQ(DataType::from_name("INT4").max(), 7);
  EXPECT_EQ(DataType::from_name("UINT8").max(), 255);
  EXPECT_EQ(DataType::from_name("UINT1"), DataType::binary());
  EXPECT_EQ(DataType::binary().name(), "BINARY");
  EXPECT_EQ(DataType::from_name("FIXED<8,3>").name(), "FIXED<8,3>");
  EXPECT_DOUBLE_EQ(DataType::from_name("FIXED<8,3>").scale_factor(), 1.0 / 32);
  EXPECT_EQ(DataType::from_name("SCALEDINT<5>").bitwidth(), 5);
  EXPECT_EQ(DataType::from_name("INT64").bitwidth(), 64);
  EXPECT_TRUE(DataType::bipolar().allowed(-1));
  EXPECT_FALSE(DataType::bipolar().allowed(0));
  EXPECT_TRUE(DataType::ternary().allowed(0));
  EXPECT_FALSE(DataType::from_name("UINT2").allowed(4));
  EXPECT_FALSE(DataType::from_name("INT2").allowed(0.5));
  EXPECT_THROW(DataType::from_name("INT0"), ModelError);
  EXPECT_THROW(DataType::from_name("UINT65"), ModelError);
  EXPECT_THROW(DataType::from_name("int8"), ModelError);
  EXPECT_THROW(DataType::from_name("FIXED<4,5>"), ModelError);
}

TEST(DataType, SmallestPrefersUnsigned) {
  EXPECT_EQ(DataType::smallest_for_range(0, 1), DataType::binary());
  EXPECT_EQ(DataType::smallest_for_range(0, 2), DataType::uint(2));
  EXPECT_EQ(DataType::smallest_for_range(-1, 1), DataType::ternary());  // 0 is inside
  EXPECT_EQ(DataType::smallest_for_range(-1, -1), DataType::bipolar());
  EXPECT_EQ(DataType::smallest_for_range(-1, 0), DataType::ternary());
  EXPECT_EQ(DataType::smallest_for_range(-5, 3), DataType::sint(4));
  EXPECT_EQ(DataType::smallest_for_range(0, 65535), DataType::uint(16));
  EXPECT_TRUE(DataType::smallest_for_range(0, 1e30).is_float());
}

TEST(Tensor, CastAndHalf) {
  Tensor t = Tensor::from_vector<float>({2, 2}, {1.5f, -2.7f, 3.f, 0.f});
  auto i = t.cast(ElemType::INT64).to_int64();
  EXPECT_EQ(i, (std::vector<int64_t>{1, -2, 3, 0}));  // truncation toward zero
  for (float f : {0.f, 1.f, -2.5f, 65504.f, 6.1035156e-05f, 5.9604645e-08f, 0.1f}) {
    float back = half_to_float(float_to_half(f));
    EXPECT_NEAR(back, f, std::fabs(f) * 1e-3 + 1e-7) << f;
  }
  EXPECT_TRUE(std::isinf(half_to_float(float_to_half(1e6f))));
  EXPECT_THROW(t.data<int64_t>(), InputError);
  EXPECT_THROW(t.reshaped({3}), ModelError);
  EXPECT_EQ(t.reshaped({4}).raw(), t.raw());  // shares the buffer
}

TEST(Broadcast, Shapes) {
  EXPECT_EQ(broadcast_shapes({1, 3, 4, 4}, {3, 1, 1}), (Shape{1, 3, 4, 4}));
  EXPECT_EQ(broadcast_shapes({5}, {}), (Shape{5}));
  EXPECT_THROW(broadcast_shapes({2, 3}, {4}), ModelError);
  Tensor a = Tensor::from_vector<float>({2, 1}, {1, 2});
  Tensor b = Tensor::from_vector<float>({3}, {10, 20, 30});
  Tensor c = broadcast_binary<float, float, float>(a, b, [](float x, float y) { return x + y; });
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(c.to_float(), (std::vector<float>{11, 21, 31, 12, 22, 32}));
}

namespace {
Model relu_chain() {
  Model m;
  m.opset_imports.push_back({"", 17});
  ValueInfo x;
  x.name = "x";
  x.elem_type = ElemType::FLOAT;
  x.set_shape({1, 3});
  m.graph.inputs.push_back(x);
  ValueInfo y = x;
  y.name = "y";
  m.graph.outputs.push_back(y);
  Node n1;
  n1.name = "r1";
  n1.op_type = "Relu";
  n1.inputs = {"x"};
  n1.outputs = {"h"};
  Node n2 = n1;
  n2.name = "r2";
  n2.inputs = {"h"};
  n2.outputs = {"y"};
  // deliberately out of order: the executor sorts
  m.graph.nodes = {n2, n1};
  m.graph.set_datatype("x", DataType::from_name("INT4"));
  m.graph.set_layout("x", {"N", "C"});
  return m;
}
}  // namespace

TEST(Graph, QueriesAndAnnotations) {
  Model m = relu_chain();
  EXPECT_EQ(m.graph.find_producer("h"), 1);
  EXPECT_EQ(m.graph.find_consumers("h"), std::vector<int>{0});
  EXPECT_EQ(m.graph.get_datatype("x").name(), "INT4");
  EXPECT_EQ(m.graph.get_datatype("h").name(), "FLOAT32");
  EXPECT_EQ(m.graph.get_layout("x"), (std::vector<std::string>{"N", "C"}));
  EXPECT_EQ(m.graph.get_annotation("x", "tensor_layout"), "['N', 'C']");
  EXPECT_EQ(topological_order(m.graph), (std::vector<int>{1, 0}));
  EXPECT_EQ(parse_layout_string("[\"N\",\"H\",\"W\",\"C\"]"), (std::vector<std::string>{"N", "H", "W", "C"}));
}

TEST(OnnxIO, RoundTripBytes) {
  Model m = relu_chain();
  m.metadata_props.push_back({"k", "v"});
  m.graph.set_initializer("unused", Tensor::from_vector<int64_t>({2}, {7, -9}));
  std::string b = save_model_bytes(m);
  Model back = load_model_bytes(b);
  EXPECT_EQ(save_model_bytes(back), b);
  EXPECT_EQ(back.graph.get_initializer("unused")->to_int64(), (std::vector<int64_t>{7, -9}));
  EXPECT_EQ(back.metadata_props.at(0).second, "v");
  EXPECT_EQ(back.opset_version(""), 17);
  EXPECT_THROW(load_model_bytes(""), ModelError);
  EXPECT_THROW(load_model_bytes(b.substr(0, b.size() / 2)), ModelError);
  EXPECT_THROW(load_model_file("/nonexistent/model.onnx"), ModelError);
}

TEST(Executor, RunsAndChecksInputs) {
  Model m = relu_chain();
  TensorMap in{{"x", Tensor::from_vector<float>({1, 3}, {-1, 0, 2})}};
  auto out = execute_model(m, in);
  EXPECT_EQ(out.at("y").to_float(), (std::vector<float>{0, 0, 2}));
  auto full = execute_model(m, in, ExecOptions{true});
  EXPECT_TRUE(full.count("h"));
  EXPECT_THROW(execute_model(m, {}), InputError);
  EXPECT_THROW(execute_model(m, {{"x", Tensor::from_vector<float>({3}, {1, 2, 3})}}), InputError);
  EXPECT_THROW(execute_model(m, {{"x", Tensor::from_vector<double>({1, 3}, {1, 2, 3})}}), InputError);
}

TEST(Executor, UnknownOpNamesNode) {
  Model m = relu_chain();
  m.graph.nodes[0].op_type = "Mystery";
  m.graph.nodes[0].domain = "acme";
  try {
    execute_model(m, {{"x", Tensor::from_vector<float>({1, 3}, {1, 2, 3})}});
    FAIL() << "expected UnsupportedOpError";
  } catch (const UnsupportedOpError& e) {
    EXPECT_EQ(e.node(), "r2");
    EXPECT_EQ(e.op_type(), "Mystery");
    EXPECT_EQ(e.domain(), "acme");
    EXPECT_FALSE(e.hint().empty());
  }
}

TEST(Infer, ShapesIntoValueInfo) {
  Model m = relu_chain();
  infer_shapes(m);
  const ValueInfo* h = m.graph.find_value_info("h");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->shape(), (Shape{1, 3}));
  EXPECT_EQ(h->elem_type, ElemType::FLOAT);
}
