// InferLabelSelectLayer, InferGlobalAccPoolLayer, InferChannelwiseLinearLayer,
// InferAddStreamsLayer, InferDuplicateStreamsLayer, InferConcatLayer: the
// stream plumbing around the compute layers (classifier tail, per-channel
// integer arithmetic, residual joins and forks, channel concatenation).
#include <algorithm>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "passes/to_hw/to_hw_util.h"

namespace sf {
namespace {
using namespace to_hw;

constexpr const char* kLabel = "InferLabelSelectLayer";
constexpr const char* kGap = "InferGlobalAccPoolLayer";
constexpr const char* kCw = "InferChannelwiseLinearLayer";
constexpr const char* kAdd = "InferAddStreamsLayer";
constexpr const char* kDup = "InferDuplicateStreamsLayer";
constexpr const char* kCat = "InferConcatLayer";

bool unused(const Graph& g, const std::string& t) {
  return t.empty() || (g.find_consumers(t).empty() && !is_graph_output(g, t));
}

bool infer_labelselect(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    const Node n = g.nodes[i];
    if (!is_op(n, "TopK", false) || n.outputs.size() < 2) continue;
    auto refuse = [&](const std::string& why) { note_refusal(n.name, kLabel, why); };
    const auto xs = known_shape(g, n.inputs[0]);
    const DataType idt = g.get_datatype(n.inputs[0]);
    if (!xs || xs->empty() || !idt.is_integer()) {
      refuse("needs a known shape and an integer input (the scores before any float scaling)");
      continue;
    }
    const int64_t axis = n.get_int("axis", -1);
    if (axis != -1 && axis != (int64_t)xs->size() - 1) {
      refuse("LabelSelect selects along the last axis only");
      continue;
    }
    if (n.get_int("largest", 1) != 1 || n.get_int("sorted", 1) != 1) {
      refuse("LabelSelect returns the largest values, sorted");
      continue;
    }
    if (!unused(g, n.outputs[0])) {
      refuse("the TopK values are used; LabelSelect only produces the indices");
      continue;
    }
    int64_t k;
    if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
      const Tensor* kt = const_input(g, n, 1);
      if (!kt) {
        refuse("K is not a constant");
        continue;
      }
      k = kt->to_int64()[0];
    } else {
      k = n.get_int("k");
    }
    Node hw = hw_node(g, "LabelSelect", {n.inputs[0]}, {n.outputs[1]});
    hw.set_int("Labels", xs->back());
    hw.set_int("PE", 1);
    hw.set_int("K", k);
    hw.set_string("inputDataType", idt.name());
    const DataType odt = hw::range_datatype(0, (double)(xs->back() - 1));
    hw.set_string("outputDataType", odt.name());
    // HW layers carry values in float32 containers, as FINN's do.
    Shape os = *xs;
    os.back() = k;
    set_tensor_shape(g, n.outputs[1], ElemType::FLOAT, os);
    g.set_datatype(n.outputs[1], odt);
    g.nodes[i] = hw;
    remove_unused_tensors(g);
    return true;
  }
  return false;
}

// ReduceSum over H and W (keepdims) of an NHWC integer tensor.
bool infer_globalaccpool(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    const Node n = g.nodes[i];
    if (!is_op(n, "ReduceSum", false)) continue;
    const auto xs = known_shape(g, n.inputs[0]);
    const DataType idt = g.get_datatype(n.inputs[0]);
    std::vector<int64_t> axes;
    if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
      if (const Tensor* a = const_input(g, n, 1)) axes = a->to_int64();
    } else {
      axes = n.get_ints("axes", {});
    }
    for (int64_t& a : axes)
      if (a < 0) a += 4;
    std::sort(axes.begin(), axes.end());
    if (!xs || xs->size() != 4 || !idt.is_integer() || axes != std::vector<int64_t>{1, 2} ||
        n.get_int("keepdims", 1) != 1) {
      note_refusal(n.name, kGap, "GlobalAccPool sums axes [1, 2] (keepdims=1) of a 4-D NHWC integer tensor");
      continue;
    }
    Node hw = hw_node(g, "GlobalAccPool", {n.inputs[0]}, n.outputs);
    hw.set_int("NumChannels", (*xs)[3]);
    hw.set_int("PE", 1);
    hw.set_ints("numInputVectors", {(*xs)[0], (*xs)[1], (*xs)[2]});
    hw.set_string("inputDataType", idt.name());
    const double px = (double)((*xs)[1] * (*xs)[2]);
    g.set_datatype(n.outputs[0], hw::range_datatype(std::min(0.0, idt.min() * px), idt.max() * px));
    g.nodes[i] = hw;
    remove_unused_tensors(g);
    return true;
  }
  return false;
}

// Integer Add/Mul by a constant that is one value or one per channel (last axis).
bool infer_channelwise(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    const Node n = g.nodes[i];
    const bool add = is_op(n, "Add", false), mul = is_op(n, "Mul", false);
    if ((!add && !mul) || n.inputs.size() != 2) continue;
    const int ci = const_input(g, n, 1) ? 1 : (const_input(g, n, 0) ? 0 : -1);
    if (ci < 0) continue;  // two streams: InferAddStreamsLayer
    const std::string& x = n.inputs[1 - ci];
    const Tensor& p = *const_input(g, n, (size_t)ci);
    auto refuse = [&](const std::string& why) { note_refusal(n.name, kCw, why); };
    const auto xs = known_shape(g, x);
    const auto ys = known_shape(g, n.outputs[0]);
    const DataType idt = g.get_datatype(x);
    if (!idt.is_integer()) {
      refuse(fmt::format("its input is {}; ChannelwiseOp works on integers (float math runs on the host)", idt.name()));
      continue;
    }
    if (!xs || !ys || xs->empty() || *xs != *ys) {
      refuse("the constant must not change the input's shape (known shapes needed: run InferShapes)");
      continue;
    }
    const int64_t c = xs->back();
    bool per_channel = p.numel() == 1 || (p.rank() >= 1 && p.shape().back() == c && p.numel() == c);
    if (p.rank() > (int64_t)xs->size()) per_channel = false;
    if (!per_channel) {
      refuse(fmt::format("constant of shape {} is not one value or one per channel (last axis)", shape_str(p.shape())));
      continue;
    }
    std::vector<double> pv = p.to_double();
    bool integral = true;
    for (double v : pv) integral = integral && v == std::floor(v);
    if (!integral) {
      refuse("the constant is not integer; float scaling runs on the host after the accelerator");
      continue;
    }
    if (pv.size() == 1) pv.assign((size_t)c, pv[0]);
    double lo = 0, hi = 0;
    for (size_t j = 0; j < pv.size(); ++j) {
      const double a = add ? idt.min() + pv[j] : idt.min() * pv[j], b = add ? idt.max() + pv[j] : idt.max() * pv[j];
      lo = j == 0 ? std::min(a, b) : std::min({lo, a, b});
      hi = j == 0 ? std::max(a, b) : std::max({hi, a, b});
    }
    auto [plo, phi] = std::minmax_element(pv.begin(), pv.end());
    const DataType odt = hw::range_datatype(lo, hi), pdt = hw::range_datatype(*plo, *phi);
    Node hw = hw_node(g, "ChannelwiseOp", {x}, n.outputs);
    std::vector<float> pf(pv.begin(), pv.end());
    const std::string pn = unique_tensor_name(g, hw.name + "_param");
    g.set_initializer(pn, Tensor::from_vector<float>({c}, pf));
    g.set_datatype(pn, pdt);
    hw.inputs.push_back(pn);
    hw.set_int("NumChannels", c);
    hw.set_int("PE", 1);
    hw.set_ints("numInputVectors", input_vectors(*xs));
    hw.set_string("Func", add ? "add" : "mul");
    hw.set_string("inputDataType", idt.name());
    hw.set_string("paramDataType", pdt.name());
    hw.set_string("outputDataType", odt.name());
    g.set_datatype(n.outputs[0], odt);
    g.nodes[i] = hw;
    remove_unused_tensors(g);
    return true;
  }
  return false;
}

bool channels_last(const Graph& g, const std::string& t, const Shape& s) {
  if (s.size() != 4) return s.size() >= 1;
  const auto l = g.get_layout(t);
  return l.empty() || l == std::vector<std::string>{"N", "H", "W", "C"};
}

bool infer_addstreams(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    const Node n = g.nodes[i];
    if (!is_op(n, "Add", false) || n.inputs.size() != 2 || const_input(g, n, 0) || const_input(g, n, 1)) continue;
    const auto s0 = known_shape(g, n.inputs[0]), s1 = known_shape(g, n.inputs[1]);
    const DataType d0 = g.get_datatype(n.inputs[0]), d1 = g.get_datatype(n.inputs[1]);
    if (!s0 || !s1 || *s0 != *s1 || !d0.is_integer() || !d1.is_integer() || !channels_last(g, n.inputs[0], *s0)) {
      note_refusal(n.name, kAdd, "AddStreams adds two equally shaped channels-last integer streams");
      continue;
    }
    Node hw = hw_node(g, "AddStreams", n.inputs, n.outputs);
    hw.set_int("NumChannels", s0->back());
    hw.set_int("PE", 1);
    hw.set_ints("numInputVectors", input_vectors(*s0));
    set_strings(hw, "inputDataTypes", {d0.name(), d1.name()});
    g.set_datatype(n.outputs[0], hw::range_datatype(d0.min() + d1.min(), d0.max() + d1.max()));
    g.nodes[i] = hw;
    return true;
  }
  return false;
}

// A stream read by several HW layers must be duplicated explicitly: an
// AXI stream has one reader.
bool infer_duplicatestreams(Model& m) {
  Graph& g = m.graph;
  for (const std::string& t : g.all_tensor_names()) {
    if (g.get_initializer(t) || is_graph_output(g, t)) continue;
    const std::vector<int> cons = g.find_consumers(t);
    int reads = 0;
    bool all_hw = !cons.empty();
    for (int c : cons) {
      all_hw = all_hw && is_hw(g.nodes[c]);
      for (const auto& in : g.nodes[c].inputs) reads += in == t;
    }
    if (reads < 2 || !all_hw) continue;
    const auto s = known_shape(g, t);
    const DataType dt = g.get_datatype(t);
    const int p = g.find_producer(t);
    if (p >= 0 && !is_hw(g.nodes[p])) continue;  // the fork happens on the host
    if (!s || s->empty() || !dt.is_integer()) {
      note_refusal(p >= 0 ? g.nodes[p].name : t, kDup, "the forked tensor needs a known shape and integer type");
      continue;
    }
    std::vector<std::string> outs;
    for (int j = 0; j < reads; ++j) {
      outs.push_back(unique_tensor_name(g, fmt::format("{}_dup{}", t, j)));
      set_tensor_shape(g, outs.back(), ElemType::FLOAT, *s);
      g.set_datatype(outs.back(), dt);
      const auto l = g.get_layout(t);
      if (!l.empty()) g.set_layout(outs.back(), l);
    }
    int next = 0;
    for (int c : cons)
      for (auto& in : g.nodes[c].inputs)
        if (in == t) in = outs[(size_t)next++];
    Node hw = hw_node(g, "DuplicateStreams", {t}, outs);
    hw.set_int("NumChannels", s->back());
    hw.set_int("PE", 1);
    hw.set_int("NumOutputStreams", reads);
    hw.set_ints("numInputVectors", input_vectors(*s));
    hw.set_string("inputDataType", dt.name());
    g.nodes.push_back(hw);
    sort_graph(g);
    return true;
  }
  return false;
}

bool infer_concat(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    const Node n = g.nodes[i];
    if (!is_op(n, "Concat", false)) continue;
    auto refuse = [&](const std::string& why) { note_refusal(n.name, kCat, why); };
    std::vector<int64_t> ch;
    std::optional<Shape> first;
    DataType dt;
    bool ok = true;
    for (size_t j = 0; j < n.inputs.size() && ok; ++j) {
      const auto s = known_shape(g, n.inputs[j]);
      const DataType d = g.get_datatype(n.inputs[j]);
      ok = s && !s->empty() && !const_input(g, n, j) && d.is_integer() && channels_last(g, n.inputs[j], *s);
      if (!ok) break;
      if (j == 0) {
        first = s;
        dt = d;
      }
      ok = d == dt && s->size() == first->size() &&
           std::equal(s->begin(), s->end() - 1, first->begin());
      ch.push_back(s->back());
    }
    const int64_t axis = n.get_int("axis", -1);
    if (!ok || !first || (axis != -1 && axis != (int64_t)first->size() - 1)) {
      refuse("StreamingConcat joins channels-last integer streams of one datatype along the last axis");
      continue;
    }
    Node hw = hw_node(g, "StreamingConcat", n.inputs, n.outputs);
    hw.set_ints("ChannelsPerStream", ch);
    hw.set_int("SIMD", 1);
    hw.set_ints("numInputVectors", input_vectors(*first));
    set_strings(hw, "inputDataTypes", std::vector<std::string>(ch.size(), dt.name()));
    g.set_datatype(n.outputs[0], dt);
    g.nodes[i] = hw;
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS(kLabel, "to_hw", "TopK (indices only) on integers -> LabelSelect", infer_labelselect);
SF_REGISTER_PASS(kGap, "to_hw", "ReduceSum over H, W of NHWC integers -> GlobalAccPool", infer_globalaccpool);
SF_REGISTER_PASS(kCw, "to_hw", "integer Add/Mul by a per-channel integer constant -> ChannelwiseOp", infer_channelwise);
SF_REGISTER_PASS(kAdd, "to_hw", "integer Add of two streams -> AddStreams", infer_addstreams);
SF_REGISTER_PASS(kDup, "to_hw", "a stream read by several HW layers -> DuplicateStreams", infer_duplicatestreams);
SF_REGISTER_PASS(kCat, "to_hw", "Concat of integer streams on the channel axis -> StreamingConcat", infer_concat);

}  // namespace sf
