// InferQuantizedMatrixVectorActivation, InferBinaryMatrixVectorActivation,
// InferVectorVectorActivation: an integer MatMul (or XnorPopcountMatMul, or a
// depthwise Im2Col + block-diagonal MatMul) and, when it alone reads the
// result, the MultiThreshold after it become one MVAU / VVAU (DESIGN §5).
//
// Unlike FINN, the accumulator type comes from the actual weights (the exact
// range of every output's dot product), and thresholds are clipped to
// [acc_min, acc_max + 1] rather than [acc_min, acc_max]: FINN's clip makes a
// threshold above every reachable sum fire at acc_max, which changes outputs.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "passes/to_hw/to_hw_util.h"

namespace sf {
namespace {
using namespace to_hw;

constexpr const char* kMvau = "InferQuantizedMatrixVectorActivation";
constexpr const char* kBinMvau = "InferBinaryMatrixVectorActivation";
constexpr const char* kVvau = "InferVectorVectorActivation";

// The depthwise window producer of `t` (Im2Col or SWG with depthwise=1), or -1.
int depthwise_producer(const Graph& g, const std::string& t) {
  const int p = g.find_producer(t);
  if (p < 0) return -1;
  const Node& n = g.nodes[p];
  if ((is_op(n, "Im2Col", true) || (is_hw(n) && n.op_type == "ConvolutionInputGenerator")) &&
      n.get_int("depthwise", 0) == 1)
    return p;
  return -1;
}

// Range of sum_k x_k * w_kj over x_k in [ilo, ihi], per output j.
std::pair<double, double> dot_range(const std::vector<double>& w, int64_t rows, int64_t cols, double ilo, double ihi,
                                    const std::vector<bool>* mask = nullptr) {
  double lo = 0, hi = 0;
  for (int64_t j = 0; j < cols; ++j) {
    double l = 0, h = 0;
    for (int64_t k = 0; k < rows; ++k) {
      const double v = w[(size_t)(k * cols + j)];
      l += std::min(v * ilo, v * ihi);
      h += std::max(v * ilo, v * ihi);
    }
    lo = j == 0 ? l : std::min(lo, l);
    hi = j == 0 ? h : std::max(hi, h);
  }
  return {lo, hi};
}

// Attaches the MultiThreshold reading `y` (when it is the only reader) to
// `hw`: thresholds as input 2, ActVal, output types. Returns the index of the
// absorbed MultiThreshold or -1 (then the layer has noActivation=1).
int attach_activation(Model& m, Node& hw, const std::string& y, int64_t channels, double lo, double hi,
                      const char* pass) {
  Graph& g = m.graph;
  const int c = single_consumer(g, y);
  DataType acc = hw::range_datatype(lo, hi);
  if (c >= 0 && is_op(g.nodes[c], "MultiThreshold", true) && g.nodes[c].inputs[0] == y) {
    const Node& mt = g.nodes[c];
    const Activation a = activation_of(g, mt);
    if (a.ok) {
      const Tensor thr = integer_thresholds(*a.thresholds, channels, lo, hi);
      auto [tlo, thi] = value_range(thr);
      acc = hw::range_datatype(std::min(lo, tlo), std::max(hi, thi));
      const std::string tn = unique_tensor_name(g, hw.name + "_thresholds");
      g.set_initializer(tn, thr);
      g.set_datatype(tn, acc);
      hw.inputs.push_back(tn);
      hw.outputs = {mt.outputs[0]};
      hw.set_int("noActivation", 0);
      hw.set_int("ActVal", a.act_val);
      hw.set_string("outputDataType", a.odt.name());
      hw.set_string("accDataType", acc.name());
      g.set_datatype(mt.outputs[0], a.odt);
      return c;
    }
    note_refusal(mt.name, pass, "stays a standalone MultiThreshold: " + a.why);
  }
  hw.outputs = {y};
  hw.set_int("noActivation", 1);
  hw.set_int("ActVal", 0);
  hw.set_string("outputDataType", acc.name());
  hw.set_string("accDataType", acc.name());
  g.set_datatype(y, acc);
  return -1;
}

void replace_with(Model& m, int idx, const Node& hw, int absorbed) {
  Graph& g = m.graph;
  g.nodes[idx] = hw;
  if (absorbed >= 0) erase_nodes(g, {absorbed});
  remove_unused_tensors(g);
}

bool convert_matmul(Model& m, int idx, bool xnor) {
  Graph& g = m.graph;
  const Node mm = g.nodes[idx];
  const char* pass = xnor ? kBinMvau : kMvau;
  auto refuse = [&](const std::string& why) {
    note_refusal(mm.name, pass, why);
    return false;
  };
  const Tensor* w = const_input(g, mm, 1);
  if (!w || w->rank() != 2) return refuse("the weights (input 1) are not a constant 2-D initializer");
  const auto xs = known_shape(g, mm.inputs[0]);
  if (!xs || xs->empty()) return refuse("the input shape is unknown (run InferShapes)");
  const DataType idt = g.get_datatype(mm.inputs[0]), wdt = g.get_datatype(mm.inputs[1]);
  if (!idt.is_integer() || !wdt.is_integer())
    return refuse(fmt::format("input type {} and weight type {} must both be integer (streamline first)", idt.name(),
                              wdt.name()));
  if (xnor && (idt != DataType::binary() || wdt != DataType::binary()))
    return refuse("XnorPopcountMatMul needs BINARY inputs and weights");
  if (!xnor && depthwise_producer(g, mm.inputs[0]) >= 0)
    return refuse("depthwise convolution: InferVectorVectorActivation makes it a VVAU");
  const int64_t mw = w->shape()[0], mh = w->shape()[1];
  const std::vector<double> wv = w->to_double();
  for (double v : wv)
    if (!wdt.allowed(v)) return refuse(fmt::format("weight value {} is not a {} value", v, wdt.name()));
  auto [lo, hi] = xnor ? std::pair<double, double>{0.0, (double)mw} : dot_range(wv, mw, mh, idt.min(), idt.max());

  Node hw = hw_node(g, "MVAU", {mm.inputs[0], mm.inputs[1]}, {});
  hw.set_int("MW", mw);
  hw.set_int("MH", mh);
  hw.set_int("SIMD", 1);
  hw.set_int("PE", 1);
  hw.set_ints("numInputVectors", input_vectors(*xs));
  hw.set_string("inputDataType", idt.name());
  hw.set_string("weightDataType", wdt.name());
  hw.set_int("binaryXnorMode", xnor ? 1 : 0);
  hw.set_string("mem_mode", "internal_decoupled");
  hw.set_string("ram_style", "auto");
  hw.set_string("resType", "auto");
  const int absorbed = attach_activation(m, hw, mm.outputs[0], mh, lo, hi, pass);
  replace_with(m, idx, hw, absorbed);
  return true;
}

bool infer_mvau(Model& m, bool xnor) {
  for (int i = 0; i < (int)m.graph.nodes.size(); ++i) {
    const Node& n = m.graph.nodes[i];
    if (xnor ? is_op(n, "XnorPopcountMatMul", true) : is_op(n, "MatMul", false))
      if (convert_matmul(m, i, xnor)) return true;
  }
  return false;
}

bool convert_depthwise(Model& m, int idx) {
  Graph& g = m.graph;
  const Node mm = g.nodes[idx];
  auto refuse = [&](const std::string& why) {
    note_refusal(mm.name, kVvau, why);
    return false;
  };
  const int p = depthwise_producer(g, mm.inputs[0]);
  if (p < 0) return false;  // not depthwise: the MVAU's business, no note
  const Node& win = g.nodes[p];
  const std::vector<int64_t> k =
      win.op_type == "Im2Col" ? win.get_ints("kernel_size") : win.get_ints("ConvKernelDim");
  const Tensor* w = const_input(g, mm, 1);
  const auto xs = known_shape(g, mm.inputs[0]);
  if (!w || w->rank() != 2 || !xs || xs->size() != 4 || k.size() != 2)
    return refuse("needs a constant 2-D weight and a known 4-D (N, OH, OW, Kh*Kw*C) input");
  const int64_t kk = k[0] * k[1], c = w->shape()[1];
  if (w->shape()[0] != kk * c || xs->back() != kk * c)
    return refuse(fmt::format("weights {} are not (Kh*Kw*C, C) for a {}x{} depthwise window", shape_str(w->shape()),
                              k[0], k[1]));
  const DataType idt = g.get_datatype(mm.inputs[0]), wdt = g.get_datatype(mm.inputs[1]);
  if (!idt.is_integer() || !wdt.is_integer()) return refuse("input and weights must be integer types");
  const std::vector<double> wv = w->to_double();
  std::vector<float> vw((size_t)(c * kk));
  double lo = 0, hi = 0;
  for (int64_t ch = 0; ch < c; ++ch) {
    double l = 0, h = 0;
    for (int64_t t = 0; t < kk; ++t)
      for (int64_t j = 0; j < c; ++j) {
        const double v = wv[(size_t)((t * c + ch) * c + j)];
        if (j != ch && v != 0) return refuse("the weight is not block-diagonal (not a depthwise convolution)");
        if (j != ch) continue;
        vw[(size_t)(ch * kk + t)] = (float)v;
        l += std::min(v * idt.min(), v * idt.max());
        h += std::max(v * idt.min(), v * idt.max());
      }
    lo = ch == 0 ? l : std::min(lo, l);
    hi = ch == 0 ? h : std::max(hi, h);
  }
  const std::string wn = unique_tensor_name(g, mm.name + "_vvau_weights");
  g.set_initializer(wn, Tensor::from_vector<float>({c, 1, k[0], k[1]}, vw));
  g.set_datatype(wn, wdt);
  Node hw = hw_node(g, "VVAU", {mm.inputs[0], wn}, {});
  hw.set_ints("Dim", {(*xs)[1], (*xs)[2]});
  hw.set_ints("Kernel", k);
  hw.set_int("Channels", c);
  hw.set_int("PE", 1);
  hw.set_int("SIMD", 1);
  hw.set_string("inputDataType", idt.name());
  hw.set_string("weightDataType", wdt.name());
  hw.set_string("resType", "auto");
  const int absorbed = attach_activation(m, hw, mm.outputs[0], c, lo, hi, kVvau);
  replace_with(m, idx, hw, absorbed);
  return true;
}

bool infer_vvau(Model& m) {
  for (int i = 0; i < (int)m.graph.nodes.size(); ++i)
    if (is_op(m.graph.nodes[i], "MatMul", false) && convert_depthwise(m, i)) return true;
  return false;
}

}  // namespace

SF_REGISTER_PASS(kMvau, "to_hw", "integer MatMul [+ MultiThreshold] -> MVAU",
                 [](Model& m) { return infer_mvau(m, false); });
SF_REGISTER_PASS(kBinMvau, "to_hw", "XnorPopcountMatMul [+ MultiThreshold] -> MVAU (binaryXnorMode=1)",
                 [](Model& m) { return infer_mvau(m, true); });
SF_REGISTER_PASS(kVvau, "to_hw", "depthwise Im2Col/SWG + block-diagonal MatMul [+ MultiThreshold] -> VVAU",
                 infer_vvau);

}  // namespace sf
