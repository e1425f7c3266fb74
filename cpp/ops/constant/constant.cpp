// Constant: its single output is the value held in exactly one attribute.
#include <fmt/format.h>

#include "ops/reshape/movement.h"

namespace sf {
namespace {

Tensor constant_value(const Node& n) {
  static const char* kinds[] = {"value", "value_float", "value_floats", "value_int", "value_ints",
                                "value_string", "value_strings", "sparse_value"};
  const char* found = nullptr;
  int count = 0;
  for (const char* k : kinds)
    if (n.has_attr(k)) {
      found = k;
      ++count;
    }
  if (count != 1)
    op_fail(n, fmt::format("Constant has {} value attributes, expected exactly one", count),
            "set exactly one of value, value_float(s), value_int(s)");
  const std::string k = found;
  if (k == "value") return n.get_tensor("value");
  if (k == "value_float") return Tensor::scalar<float>(n.get_float("value_float"));
  if (k == "value_floats") {
    std::vector<float> v = n.get_floats("value_floats", {});
    return Tensor::from_vector<float>({(int64_t)v.size()}, v);
  }
  if (k == "value_int") return Tensor::scalar<int64_t>(n.get_int("value_int"));
  if (k == "value_ints") {
    std::vector<int64_t> v = n.get_ints("value_ints");
    return Tensor::from_vector<int64_t>({(int64_t)v.size()}, v);
  }
  op_fail(n, fmt::format("Constant attribute '{}' holds strings or a sparse tensor, which streamfold does not support", k),
          "use a dense numeric 'value' tensor");
}

OpDef constant_def() {
  OpDef d;
  d.op_type = "Constant";
  d.min_inputs = d.max_inputs = 0;
  d.validate = [](const Node& n) { constant_value(n); };
  d.infer_shape = [](InferCtx& c) {
    Tensor t = constant_value(c.node);
    c.set_out(0, t.type(), t.shape());
  };
  // infer_datatype left unset: FLOAT32, as qonnx's InferDataTypes.
  d.execute = [](ExecCtx& c) {
    c.out.resize(c.node.outputs.size());
    // A copy: the attribute's buffer must never be handed out writable.
    c.out[0] = constant_value(c.node).clone();
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(constant_def());

}  // namespace sf
