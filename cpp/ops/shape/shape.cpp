// Shape: the input's dimensions as a 1-D int64 tensor, optionally only
// dims[start:end] (opset 15), with Python-style clamping of start and end.
#include <algorithm>

#include "ops/reshape/movement.h"

namespace sf {
namespace {

std::vector<int64_t> shape_slice(const Node& n, const Shape& in) {
  const int64_t r = (int64_t)in.size();
  auto fix = [r](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
  const int64_t s = fix(n.get_int("start", 0)), e = fix(n.get_int("end", r));
  if (e <= s) return {};
  return std::vector<int64_t>(in.begin() + s, in.begin() + e);
}

OpDef shape_def() {
  OpDef d;
  d.op_type = "Shape";
  d.min_inputs = d.max_inputs = 1;
  d.infer_shape = [](InferCtx& c) {
    c.set_out(0, ElemType::INT64, {(int64_t)shape_slice(c.node, c.shape(0)).size()});
  };
  d.infer_datatype = [](const DataTypeCtx& c) {
    return std::vector<DataType>(c.node.outputs.size(), DataType::sint(64));
  };
  d.execute = [](ExecCtx& c) {
    std::vector<int64_t> v = shape_slice(c.node, c.input(0).shape());
    c.out.resize(c.node.outputs.size());
    c.out[0] = Tensor::from_vector<int64_t>({(int64_t)v.size()}, v);
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(shape_def());

}  // namespace sf
