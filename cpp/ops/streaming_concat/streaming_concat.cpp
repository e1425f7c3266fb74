// FINN's StreamingConcat: concatenation of channels-last streams along the
// channel axis; ChannelsPerStream gives each input's channel count.
#include <algorithm>
#include <fmt/format.h>

#include "ops/hw/common.h"

namespace sf {

void concat_emit_rtl(rtl::LayerEmitter& e);  // streaming_concat_rtl.cpp
void concat_emit_hls(hls::LayerEmitter& e);  // streaming_concat_hls.cpp
namespace {

struct CatAttrs {
  std::vector<int64_t> ch;
  int64_t simd;
  Shape niv;
};

CatAttrs read(const Node& n) {
  CatAttrs a;
  a.ch = hw::pos_ints(n, "ChannelsPerStream", 0);
  a.simd = hw::pos_int(n, "SIMD", 1);
  for (int64_t c : a.ch) hw::check_fold(n, "SIMD", a.simd, "ChannelsPerStream entry", c);
  a.niv = hw::pos_ints(n, "numInputVectors", 0, {1});
  if (a.ch.size() != n.inputs.size())
    op_fail(n, fmt::format("has {} inputs but ChannelsPerStream lists {}", n.inputs.size(), a.ch.size()),
            "give one ChannelsPerStream entry per input");
  return a;
}

OpDef make_concat_def() {
  OpDef d;
  d.op_type = "StreamingConcat";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = 1;
  d.max_inputs = 64;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    const CatAttrs a = read(c.node);
    Shape s = c.shape(0);
    for (size_t i = 0; i < a.ch.size(); ++i) {
      Shape si = c.shape(i);
      if (si.empty() || si.back() != a.ch[i] || si.size() != s.size() ||
          !std::equal(si.begin(), si.end() - 1, s.begin()))
        op_fail(c.node, fmt::format("input {} has shape {}, expected channels {} last", i, shape_str(si), a.ch[i]),
                "inputs must agree on all but the last axis, which ChannelsPerStream gives");
    }
    s.back() = 0;
    for (int64_t ch : a.ch) s.back() += ch;
    c.set_out(0, ElemType::FLOAT, s);
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> {
    if (c.node.has_attr("inputDataTypes")) {
      const auto& names = c.node.attr("inputDataTypes")->strings;
      if (!names.empty() && DataType::is_valid_name(names[0])) return {DataType::from_name(names[0])};
    }
    return {c.in.empty() ? DataType() : c.in[0]};
  };
  d.execute = [](ExecCtx& c) {
    const CatAttrs a = read(c.node);
    const Shape& s0 = c.input(0).shape();
    const int64_t rows = c.input(0).numel() / a.ch[0];
    int64_t total = 0;
    for (int64_t ch : a.ch) total += ch;
    Shape os = s0;
    os.back() = total;
    Tensor out(ElemType::FLOAT, os);
    float* o = out.data<float>();
    int64_t off = 0;
    for (size_t i = 0; i < a.ch.size(); ++i) {
      const Tensor& x = c.input(i);
      if (x.numel() != rows * a.ch[i])
        op_fail(c.node, fmt::format("input {} has shape {}, expected {} channels", i, shape_str(x.shape()), a.ch[i]),
                "fix ChannelsPerStream");
      const std::vector<float> xv = x.to_float();
      for (int64_t r = 0; r < rows; ++r)
        std::copy(xv.begin() + r * a.ch[i], xv.begin() + (r + 1) * a.ch[i], o + r * total + off);
      off += a.ch[i];
    }
    c.out.resize(1);
    c.out[0] = std::move(out);
  };
  d.estimate = [](const Node& n, const Model& m) {
    const CatAttrs a = read(n);
    HwEstimate e;
    int64_t total = 0;
    for (int64_t ch : a.ch) total += ch;
    e.cycles = hw::prod(a.niv) * total / a.simd;
    // sf_concat (calibrated against Yosys): an N:1 input mux into a two-entry
    // skid buffer, the input-select and channel-fold counters. Without
    // inputDataTypes the element is taken as a byte.
    int bits = 8;
    if (const Attribute* t = n.attr("inputDataTypes"))
      if (!t->strings.empty() && DataType::is_valid_name(t->strings[0]))
        bits = DataType::from_name(t->strings[0]).bitwidth();
    const double w = (double)a.simd * bits;
    e.lut = 10 + w * (1 + a.ch.size() / 2.0);
    e.ff = 2 * w + hw::clog2((int64_t)a.ch.size()) + hw::clog2(*std::max_element(a.ch.begin(), a.ch.end()) / a.simd) + 2;
    return e;
  };
  d.emit_rtl = concat_emit_rtl;
  d.emit_hls = concat_emit_hls;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_concat_def());

}  // namespace sf
