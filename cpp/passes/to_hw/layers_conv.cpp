// InferThresholdingLayer, InferConvInpGen, InferStreamingMaxPool, InferPool:
// the sliding-window and activation layers of a streamlined CNN.
//
// Padding is the subtle part (FINN#996 lost 18 accuracy points to it): the
// FMPadding that replaces a padded Im2Col must write the very value the
// Im2Col wrote, so it is taken from pad_value and checked against the input
// datatype. A BIPOLAR stream padded with 0 has no HW form (0 is not a bipolar
// value, and the {0,1} encoding would silently turn it into -1 or +1): that
// Im2Col stays on the host with a refusal note instead.
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "passes/to_hw/to_hw_util.h"

namespace sf {
namespace {
using namespace to_hw;

constexpr const char* kThr = "InferThresholdingLayer";
constexpr const char* kSwg = "InferConvInpGen";
constexpr const char* kSmp = "InferStreamingMaxPool";
constexpr const char* kPool = "InferPool";

bool infer_thresholding(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    const Node mt = g.nodes[i];
    if (!is_op(mt, "MultiThreshold", true)) continue;
    const DataType idt = g.get_datatype(mt.inputs[0]);
    if (!idt.is_integer()) {
      note_refusal(mt.name, kThr,
                   fmt::format("its input is {}; HW Thresholding compares integers, so it quantizes on the host",
                               idt.name()));
      continue;
    }
    const Activation a = activation_of(g, mt);
    if (!a.ok) {
      note_refusal(mt.name, kThr, a.why);
      continue;
    }
    const Shape xs = *known_shape(g, mt.inputs[0]);  // activation_of checked it
    const int64_t c = xs.empty() ? 1 : xs.back();
    const Tensor thr = integer_thresholds(*a.thresholds, c, idt.min(), idt.max());
    auto [tlo, thi] = value_range(thr);
    Node hw = hw_node(g, "Thresholding", {mt.inputs[0]}, mt.outputs);
    const std::string tn = unique_tensor_name(g, hw.name + "_thresholds");
    g.set_initializer(tn, thr);
    g.set_datatype(tn, hw::range_datatype(std::min(idt.min(), tlo), std::max(idt.max(), thi)));
    hw.inputs.push_back(tn);
    hw.set_int("NumChannels", c);
    hw.set_int("PE", 1);
    hw.set_ints("numInputVectors", input_vectors(xs));
    hw.set_string("inputDataType", idt.name());
    hw.set_string("outputDataType", a.odt.name());
    hw.set_int("ActVal", a.act_val);
    hw.set_string("mem_mode", "internal_embedded");
    hw.set_string("ram_style", "distributed");
    g.set_datatype(mt.outputs[0], a.odt);
    g.nodes[i] = hw;
    remove_unused_tensors(g);
    return true;
  }
  return false;
}

// FMPadding in front of a window generator; returns the padded tensor.
std::string insert_padding(Graph& g, const std::string& x, const Shape& xs, const std::vector<int64_t>& pad,
                           int64_t pad_value, const DataType& idt) {
  const Shape ps = {xs[0], xs[1] + pad[0] + pad[2], xs[2] + pad[1] + pad[3], xs[3]};
  const std::string out = unique_tensor_name(g, x + "_padded");
  set_tensor_shape(g, out, ElemType::FLOAT, ps);
  g.set_datatype(out, idt);
  g.set_layout(out, {"N", "H", "W", "C"});
  Node p = hw_node(g, "FMPadding", {x}, {out});
  p.set_ints("ImgDim", {xs[1], xs[2]});
  p.set_ints("Padding", pad);
  p.set_int("NumChannels", xs[3]);
  p.set_int("SIMD", 1);
  p.set_string("inputDataType", idt.name());
  p.set_int("PadValue", pad_value);
  p.set_int("numInputVectors", xs[0]);
  g.nodes.push_back(p);
  return out;
}

Node make_swg(const Graph& g, const std::string& in, const std::string& out, const Shape& ins, const Shape& outs,
              const std::vector<int64_t>& k, const std::vector<int64_t>& stride, const std::vector<int64_t>& dil,
              bool depthwise, const DataType& idt) {
  Node s = hw_node(g, "ConvolutionInputGenerator", {in}, {out});
  s.set_ints("ConvKernelDim", k);
  s.set_ints("IFMDim", {ins[1], ins[2]});
  s.set_ints("OFMDim", {outs[1], outs[2]});
  s.set_ints("Stride", stride);
  s.set_ints("Dilation", dil);
  s.set_int("IFMChannels", ins[3]);
  s.set_int("SIMD", 1);
  s.set_string("inputDataType", idt.name());
  s.set_string("outputDataType", idt.name());
  s.set_int("depthwise", depthwise ? 1 : 0);
  s.set_string("ram_style", "auto");
  return s;
}

bool pads_nonzero(const std::vector<int64_t>& p) {
  for (int64_t v : p)
    if (v != 0) return true;
  return false;
}

bool infer_convinpgen(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    const Node ic = g.nodes[i];
    if (!is_op(ic, "Im2Col", true)) continue;
    auto refuse = [&](const std::string& why) { note_refusal(ic.name, kSwg, why); };
    const auto xs = known_shape(g, ic.inputs[0]);
    const auto ys = known_shape(g, ic.outputs[0]);
    if (!xs || !ys || xs->size() != 4 || ys->size() != 4) {
      refuse("input/output shapes must be known 4-D NHWC (run InferShapes)");
      continue;
    }
    const DataType idt = g.get_datatype(ic.inputs[0]);
    if (!idt.is_integer()) {
      refuse(fmt::format("its input is {}; HW window generators carry integer streams", idt.name()));
      continue;
    }
    const std::vector<int64_t> pad = ic.get_ints("pad_amount", {0, 0, 0, 0});
    const int64_t pv = ic.get_int("pad_value", 0);
    if (pad.size() != 4) {
      refuse("pad_amount must be [top, left, bottom, right]");
      continue;
    }
    if (pads_nonzero(pad) && !idt.allowed((double)pv)) {
      refuse(fmt::format("pad_value {} is not a {} value, so FMPadding cannot reproduce it exactly (FINN#996); for "
                         "bipolar data pad with -1 (ConvertBipolarMatMulToXnorPopcount then encodes it as 0)",
                         pv, idt.name()));
      continue;
    }
    std::string in = ic.inputs[0];
    Shape ins = *xs;
    if (pads_nonzero(pad)) {
      in = insert_padding(g, in, ins, pad, pv, idt);
      ins = *known_shape(g, in);
    }
    const Node s = make_swg(g, in, ic.outputs[0], ins, *ys, ic.get_ints("kernel_size"), ic.get_ints("stride", {1, 1}),
                            ic.get_ints("dilations", {1, 1}), ic.get_int("depthwise", 0) == 1, idt);
    g.nodes[i] = s;
    sort_graph(g);
    return true;
  }
  return false;
}

// MaxPoolNHWC with kernel == stride and no padding: the line-buffer StreamingMaxPool.
bool infer_streaming_maxpool(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    const Node mp = g.nodes[i];
    if (!is_op(mp, "MaxPoolNHWC", true)) continue;
    const auto k = mp.get_ints("kernel_shape"), s = mp.get_ints("strides", k);
    const auto pads = mp.get_ints("pads", {0, 0, 0, 0});
    if (k != s || pads_nonzero(pads)) continue;  // InferPool's case
    const auto xs = known_shape(g, mp.inputs[0]);
    const DataType dt = g.get_datatype(mp.inputs[0]);
    if (!xs || xs->size() != 4 || !dt.is_integer() || k.size() != 2) {
      note_refusal(mp.name, kSmp, "needs a known 4-D NHWC integer input and a 2-D kernel");
      continue;
    }
    Node hw = hw_node(g, "StreamingMaxPool", mp.inputs, mp.outputs);
    hw.set_ints("ImgDim", {(*xs)[1], (*xs)[2]});
    hw.set_ints("PoolDim", k);
    hw.set_int("NumChannels", (*xs)[3]);
    hw.set_int("PE", 1);
    hw.set_int("CeilMode", mp.get_int("ceil_mode", 0));
    hw.set_string("dataType", dt.name());
    g.nodes[i] = hw;
    return true;
  }
  return false;
}

// SWG(depthwise) + Pool for overlapping MaxPoolNHWC and for QuantAvgPool2d.
bool infer_pool(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    const Node n = g.nodes[i];
    const bool maxpool = is_op(n, "MaxPoolNHWC", true), qavg = is_op(n, "QuantAvgPool2d", true);
    if (!maxpool && !qavg) continue;
    auto refuse = [&](const std::string& why) { note_refusal(n.name, kPool, why); };
    const auto xs = known_shape(g, n.inputs[0]);
    const auto ys = known_shape(g, n.outputs[0]);
    const DataType idt = g.get_datatype(n.inputs[0]);
    if (!xs || !ys || xs->size() != 4 || ys->size() != 4 || !idt.is_integer()) {
      refuse("needs known 4-D NHWC shapes and an integer input");
      continue;
    }
    std::vector<int64_t> k, s, pads = {0, 0, 0, 0};
    DataType odt = idt;
    std::string func = "MaxPool";
    if (maxpool) {
      k = n.get_ints("kernel_shape");
      s = n.get_ints("strides", k);
      pads = n.get_ints("pads", pads);
      if (k == s && !pads_nonzero(pads)) continue;  // InferStreamingMaxPool's case
      if (n.get_int("ceil_mode", 0) != 0) {
        refuse("ceil_mode=1 with overlapping windows has no HW form");
        continue;
      }
    } else {
      if (n.get_string("data_layout", "NCHW") != "NHWC") {
        refuse("data_layout must be NHWC (run the NHWC lowering first)");
        continue;
      }
      if (idt.bitwidth() != n.get_int("ibits")) {
        refuse(fmt::format("ibits={} but the input is {}", n.get_int("ibits"), idt.name()));
        continue;
      }
      k = {n.get_int("kernel"), n.get_int("kernel")};
      s = {n.get_int("stride"), n.get_int("stride")};
      const int ob = (int)n.get_int("obits");
      odt = n.get_int("signed", 0) ? DataType::sint(ob) : DataType::uint(ob);
      func = "QuantAvgPool";
    }
    std::string in = n.inputs[0];
    Shape ins = *xs;
    // Padding with the type's minimum never wins a max, like ONNX's -inf.
    if (pads_nonzero(pads)) {
      in = insert_padding(g, in, ins, pads, (int64_t)idt.min(), idt);
      ins = *known_shape(g, in);
    }
    const Shape ws = {(*ys)[0], (*ys)[1], (*ys)[2], k[0] * k[1] * (*xs)[3]};
    const std::string win = unique_tensor_name(g, n.outputs[0] + "_windows");
    set_tensor_shape(g, win, ElemType::FLOAT, ws);
    g.set_datatype(win, idt);
    g.nodes.push_back(make_swg(g, in, win, ins, ws, k, s, {1, 1}, true, idt));
    Node p = hw_node(g, "Pool", {win}, n.outputs);
    p.set_int("Channels", (*xs)[3]);
    p.set_int("PE", 1);
    p.set_ints("KernelSize", k);
    p.set_ints("OutImgDims", {(*ys)[1], (*ys)[2]});
    p.set_string("Function", func);
    p.set_string("InputDataType", idt.name());
    p.set_string("OutputDataType", odt.name());
    p.set_int("BatchSize", (*xs)[0]);
    g.set_datatype(n.outputs[0], odt);
    g.nodes[i] = p;
    sort_graph(g);
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS(kThr, "to_hw", "standalone MultiThreshold on integers -> Thresholding", infer_thresholding);
SF_REGISTER_PASS(kSwg, "to_hw", "Im2Col -> [FMPadding +] ConvolutionInputGenerator", infer_convinpgen);
SF_REGISTER_PASS(kSmp, "to_hw", "MaxPoolNHWC with kernel == stride -> StreamingMaxPool", infer_streaming_maxpool);
SF_REGISTER_PASS(kPool, "to_hw", "overlapping MaxPoolNHWC / QuantAvgPool2d -> [FMPadding +] SWG + Pool", infer_pool);

}  // namespace sf
