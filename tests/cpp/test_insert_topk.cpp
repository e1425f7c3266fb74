// InsertTopK (cpp/passes/lower/insert_topk.cpp) on a tiny hand-built
// classifier: structure and annotations of the appended TopK, indices equal
// to a stable argsort of the scores, idempotence, the typed errors, and the
// FINN tail it enables (AbsorbScalarMulAddIntoTopK, then LabelSelect).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "exec/executor.h"
#include "exec/infer.h"
#include "ir/errors.h"
#include "ir/graph.h"
#include "passes/lower/lower.h"
#include "passes/pass.h"

using namespace sf;

namespace {

// x (N, 6) INT4 -> MatMul(W, INT2) -> Mul(0.25) -> Add(-1) -> y (N, 5):
// integer scores followed by the scalar scale/bias of a typical export.
Model classifier(int64_t batch = 2, int64_t opset = 13) {
  Model m;
  m.set_opset_version("", opset);
  Graph& g = m.graph;
  ValueInfo x;
  x.name = "x";
  x.elem_type = ElemType::FLOAT;
  x.set_shape({batch, 6});
  g.inputs.push_back(x);
  g.set_datatype("x", DataType::from_name("INT4"));
  std::vector<float> w(30);
  for (size_t i = 0; i < w.size(); ++i) w[i] = (float)((int)(i * 7 % 5) - 2);
  g.set_initializer("W", Tensor::from_vector<float>({6, 5}, w));
  g.set_datatype("W", DataType::from_name("INT2"));
  g.set_initializer("s", Tensor::scalar<float>(0.25f));
  g.set_initializer("b", Tensor::scalar<float>(-1.f));
  auto node = [&](const std::string& op, std::vector<std::string> in, const std::string& out) {
    Node n;
    n.op_type = op;
    n.name = op + "_" + std::to_string(g.nodes.size());
    n.inputs = std::move(in);
    n.outputs = {out};
    g.nodes.push_back(n);
  };
  node("MatMul", {"x", "W"}, "acc");
  node("Mul", {"acc", "s"}, "scaled");
  node("Add", {"scaled", "b"}, "y");
  ValueInfo y;
  y.name = "y";
  y.elem_type = ElemType::FLOAT;
  g.outputs.push_back(y);
  infer_shapes(m);
  infer_datatypes(m);
  return m;
}

Tensor rand_int(const Shape& s, int lo, int hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<float> v((size_t)shape_numel(s));
  for (auto& x : v) x = (float)d(rng);
  return Tensor::from_vector<float>(s, v);
}

// The first k indices of each row by descending score, ties by lower index.
std::vector<int64_t> stable_topk(const Tensor& scores, int64_t k) {
  const int64_t rows = scores.shape()[0], cols = scores.shape()[1];
  const auto v = scores.to_double();
  std::vector<int64_t> r;
  for (int64_t i = 0; i < rows; ++i) {
    std::vector<int64_t> idx((size_t)cols);
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return v[i * cols + a] > v[i * cols + b]; });
    r.insert(r.end(), idx.begin(), idx.begin() + k);
  }
  return r;
}

int count(const Model& m, const std::string& op) {
  return (int)std::count_if(m.graph.nodes.begin(), m.graph.nodes.end(), [&](const Node& n) { return n.op_type == op; });
}

template <typename F>
ModelError model_error(F&& f) {
  try {
    f();
  } catch (const ModelError& e) {
    return e;
  }
  ADD_FAILURE() << "no ModelError";
  return ModelError("");
}

}  // namespace

TEST(InsertTopK, IndicesBecomeTheGraphOutput) {
  for (int64_t k : {1, 3, 5}) {
    const Model orig = classifier();
    Model m = orig;
    ASSERT_TRUE(insert_topk(m, k));
    ASSERT_EQ(m.graph.outputs.size(), 1u);
    const ValueInfo& out = m.graph.outputs[0];
    EXPECT_EQ(out.elem_type, ElemType::INT64);
    EXPECT_EQ(out.shape(), (Shape{2, k}));
    EXPECT_EQ(m.graph.get_datatype(out.name).name(), "INT64");
    const Node& t = m.graph.nodes.back();
    EXPECT_EQ(t.op_type, "TopK");
    EXPECT_EQ(t.inputs[0], "y");
    EXPECT_EQ(t.outputs[1], out.name);
    EXPECT_EQ(m.graph.get_initializer(t.inputs[1])->to_int64(), (std::vector<int64_t>{k}));
    EXPECT_EQ(t.get_int("axis"), -1);
    EXPECT_EQ(t.get_int("largest"), 1);
    EXPECT_EQ(t.get_int("sorted"), 1);
    // The old output is internal now, still annotated; the values are unread.
    ASSERT_NE(m.graph.find_value_info("y"), nullptr);
    EXPECT_EQ(m.graph.find_value_info("y")->shape(), (Shape{2, 5}));
    EXPECT_TRUE(m.graph.find_consumers(t.outputs[0]).empty());
    EXPECT_EQ(m.graph.find_value_info(t.outputs[0])->shape(), (Shape{2, k}));
    // InferShapes / InferDataTypes agree with what the pass wrote.
    Model re = m;
    infer_shapes(re);
    infer_datatypes(re);
    EXPECT_EQ(re.graph.outputs[0].shape(), (Shape{2, k}));
    EXPECT_EQ(re.graph.get_datatype(out.name).name(), "INT64");
    for (unsigned seed = 0; seed < 4; ++seed) {
      // seed 3: all zeros, so every score ties and the indices are 0..k-1
      const Tensor x =
          seed == 3 ? Tensor::from_vector<float>({2, 6}, std::vector<float>(12)) : rand_int({2, 6}, -8, 7, seed);
      const TensorMap feed = {{"x", x}};
      const Tensor scores = execute_model(orig, feed).at("y");
      const Tensor idx = execute_model(m, feed).at(out.name);
      EXPECT_EQ(idx.to_int64(), stable_topk(scores, k)) << "k=" << k << " seed=" << seed;
    }
  }
}

TEST(InsertTopK, IdempotentAndRegistered) {
  Model m = classifier();
  ASSERT_TRUE(apply_pass(m, "InsertTopK"));  // k = 1
  const std::string out = m.graph.outputs[0].name;
  EXPECT_FALSE(insert_topk(m, 3));  // already ends in a TopK: nothing stacked
  EXPECT_FALSE(apply_pass(m, "InsertTopK"));
  EXPECT_EQ(count(m, "TopK"), 1);
  EXPECT_EQ(m.graph.outputs[0].name, out);
  EXPECT_EQ(m.graph.outputs[0].shape(), (Shape{2, 1}));
}

TEST(InsertTopK, SmallestUnsortedAndOldOpset) {
  Model m = classifier();
  ASSERT_TRUE(insert_topk(m, 2, 1, false, false));
  EXPECT_EQ(m.graph.nodes.back().get_int("largest"), 0);
  EXPECT_EQ(m.graph.nodes.back().get_int("sorted"), 0);
  EXPECT_EQ(m.graph.nodes.back().get_int("axis"), 1);
  Model old = classifier(1, 9);  // opset 9: k is an attribute, no K input
  ASSERT_TRUE(insert_topk(old, 2));
  EXPECT_EQ(old.graph.nodes.back().inputs.size(), 1u);
  EXPECT_EQ(old.graph.nodes.back().get_int("k"), 2);
  const TensorMap in = {{"x", rand_int({1, 6}, -8, 7, 5)}};
  EXPECT_EQ(execute_model(old, in).at(old.graph.outputs[0].name).to_int64(),
            stable_topk(execute_model(classifier(1, 9), in).at("y"), 2));
}

TEST(InsertTopK, TypedErrors) {
  for (int64_t k : {0, -1, 6}) {
    Model m = classifier();
    ModelError e = model_error([&] { insert_topk(m, k); });
    EXPECT_EQ(e.where(), "y") << k;
    EXPECT_NE(std::string(e.what()).find("k = " + std::to_string(k)), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("1 <= k <= 5"), std::string::npos) << e.hint();
    EXPECT_EQ(count(m, "TopK"), 0);  // untouched
  }
  Model ax = classifier();
  EXPECT_EQ(model_error([&] { insert_topk(ax, 1, 2); }).where(), "y");
  Model two = classifier();
  two.graph.outputs.push_back(two.graph.outputs[0]);
  two.graph.outputs.back().name = "acc";
  ModelError e2 = model_error([&] { insert_topk(two); });
  EXPECT_EQ(e2.where(), "graph.output");
  EXPECT_NE(std::string(e2.what()).find("'acc'"), std::string::npos) << e2.what();
  Model sym = classifier();
  sym.graph.outputs[0].dims[0] = Dim{-1, "N"};
  ModelError e3 = model_error([&] { insert_topk(sym); });
  EXPECT_EQ(e3.where(), "y");
  EXPECT_NE(e3.hint().find("InferShapes"), std::string::npos) << e3.hint();
}

TEST(InsertTopK, ScalarTailAbsorbedThenLabelSelect) {
  const Model orig = classifier();
  Model m = orig;
  ASSERT_TRUE(insert_topk(m, 3));
  ASSERT_TRUE(apply_pass(m, "AbsorbScalarMulAddIntoTopK"));
  EXPECT_EQ(count(m, "Mul") + count(m, "Add"), 0);
  ASSERT_TRUE(apply_pass(m, "InferLabelSelectLayer"));
  EXPECT_EQ(count(m, "TopK"), 0);
  EXPECT_EQ(count(m, "LabelSelect"), 1);
  for (unsigned seed = 10; seed < 14; ++seed) {
    const TensorMap in = {{"x", rand_int({2, 6}, -8, 7, seed)}};
    const Tensor idx = execute_model(m, in).at(m.graph.outputs[0].name);
    EXPECT_EQ(idx.to_int64(), stable_topk(execute_model(orig, in).at("y"), 3)) << seed;
  }
}
