#include "passes/to_hw/to_hw_util.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "ops/op.h"

namespace sf::to_hw {

bool is_hw(const Node& n) { return domain_family(n.domain) == OpDomain::FPGADATAFLOW; }

bool is_op(const Node& n, const char* op_type, bool qonnx) {
  return n.op_type == op_type && domain_family(n.domain) == (qonnx ? OpDomain::QONNX : OpDomain::ONNX);
}

std::string fresh_node_name(const Graph& g, const std::string& prefix) {
  for (int i = 0;; ++i) {
    std::string s = fmt::format("{}_{}", prefix, i);
    if (g.find_node(s) < 0) return s;
  }
}

Node hw_node(const Graph& g, const std::string& op_type, const std::vector<std::string>& inputs,
             const std::vector<std::string>& outputs) {
  return make_node(op_type, inputs, outputs, fresh_node_name(g, op_type), kHwDomain);
}

void set_strings(Node& n, const std::string& name, const std::vector<std::string>& v) {
  n.remove_attr(name);
  Attribute a;
  a.name = name;
  a.type = AttrType::STRINGS;
  a.strings = v;
  n.attrs.push_back(a);
}

std::optional<Shape> known_shape(const Graph& g, const std::string& t) {
  auto s = tensor_shape(g, t);
  if (!s) return std::nullopt;
  for (int64_t d : *s)
    if (d < 0) return std::nullopt;
  return s;
}

std::vector<int64_t> input_vectors(const Shape& s) {
  if (s.size() <= 1) return {1};
  return std::vector<int64_t>(s.begin(), s.end() - 1);
}

Activation activation_of(const Graph& g, const Node& mt) {
  Activation a;
  a.thresholds = const_input(g, mt, 1);
  if (!a.thresholds) {
    a.why = "its thresholds are not constant";
    return a;
  }
  auto in = known_shape(g, mt.inputs[0]);
  if (!in) {
    a.why = "its input shape is unknown (run InferShapes)";
    return a;
  }
  // HW thresholding is channels-last; NCHW only matters where axis 1 is not last.
  if (in->size() == 4 && mt.get_string("data_layout", "NCHW") != "NHWC") {
    a.why = "its 4-D input is NCHW; HW layers are channels-last (run the NHWC lowering first)";
    return a;
  }
  const std::string od = mt.get_string("out_dtype", "");
  DataType odt = g.get_datatype(mt.outputs[0]);
  if (!odt.is_integer() && DataType::is_valid_name(od)) odt = DataType::from_name(od);
  const double scale = mt.get_float("out_scale", 1.0f), bias = mt.get_float("out_bias", 0.0f);
  if (!odt.is_integer()) {
    a.why = fmt::format("its output type {} is not an integer type", odt.name());
    return a;
  }
  if (odt.kind() == DataType::Kind::BIPOLAR) {
    if (scale != 2.0 || bias != -1.0) {
      a.why = fmt::format("a BIPOLAR output needs out_scale 2 and out_bias -1, got {} and {}", scale, bias);
      return a;
    }
  } else if (scale != 1.0 || bias != std::floor(bias)) {
    a.why = fmt::format("out_scale {} / out_bias {}: HW activations compute ActVal + count (scale 1, integer bias)",
                        scale, bias);
    return a;
  }
  const Shape& ts = a.thresholds->shape();
  const int64_t ch = in->empty() ? 1 : in->back();
  if (ts.size() != 2 || (ts[0] != 1 && ts[0] != ch)) {
    a.why = fmt::format("thresholds of shape {} do not match {} channels", shape_str(ts), ch);
    return a;
  }
  a.odt = odt;
  a.act_val = odt.kind() == DataType::Kind::BIPOLAR ? 0 : (int64_t)bias;
  a.ok = true;
  return a;
}

Tensor integer_thresholds(const Tensor& thr, int64_t rows, double lo, double hi) {
  const Shape& ts = thr.shape();
  const int64_t steps = ts[1];
  const std::vector<double> t = thr.to_double();
  Tensor out(ElemType::FLOAT, {rows, steps});
  float* o = out.data<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < steps; ++b) {
      const double v = t[(size_t)((ts[0] == 1 ? 0 : r) * steps + b)];
      o[r * steps + b] = (float)std::clamp(std::ceil(v), lo, hi + 1);
    }
  return out;
}

std::pair<double, double> value_range(const Tensor& t) {
  const std::vector<double> v = t.to_double();
  if (v.empty()) return {0, 0};
  auto [mn, mx] = std::minmax_element(v.begin(), v.end());
  return {*mn, *mx};
}

}  // namespace sf::to_hw
