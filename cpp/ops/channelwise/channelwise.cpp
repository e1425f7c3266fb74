// FINN's ChannelwiseOp: one parameter per channel (last axis) applied with
// Func add, mul, cmp_le (x <= p -> 1 else 0) or cmp_ge (x >= p -> 1 else 0).
// The parameters are input 1, shape (C) or (C, 1) or a single value.
#include <cmath>
#include <fmt/format.h>

#include "ops/hw/common.h"

namespace sf {
namespace hls {
void cw_emit_hls(LayerEmitter& e);  // channelwise_hls.cpp
}

void cw_emit_rtl(rtl::LayerEmitter& e);  // channelwise_rtl.cpp
namespace {

struct CwAttrs {
  int64_t c, pe;
  Shape niv;
  std::string func;
  DataType idt, pdt, odt;
};

CwAttrs read(const Node& n) {
  CwAttrs a;
  a.c = hw::pos_int(n, "NumChannels");
  a.pe = hw::pos_int(n, "PE", 1);
  hw::check_fold(n, "PE", a.pe, "NumChannels", a.c);
  a.niv = hw::pos_ints(n, "numInputVectors", 0, {1});
  a.func = hw::choice(n, "Func", "cmp_le", {"cmp_le", "cmp_ge", "add", "mul"});
  a.idt = hw::dtype_attr(n, "inputDataType");
  a.pdt = hw::dtype_attr(n, "paramDataType", DataType::sint(32));
  a.odt = hw::dtype_attr(n, "outputDataType");
  return a;
}

OpDef make_cw_def() {
  OpDef d;
  d.op_type = "ChannelwiseOp";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = d.max_inputs = 2;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    const CwAttrs a = read(c.node);
    const Shape& s = c.shape(0);
    if (s.empty() || s.back() != a.c)
      op_fail(c.node, fmt::format("input has shape {}, its last axis must be NumChannels={}", shape_str(s), a.c),
              "ChannelwiseOp works channels-last");
    c.set_out(0, ElemType::FLOAT, s);
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> { return {read(c.node).odt}; };
  d.execute = [](ExecCtx& c) {
    const CwAttrs a = read(c.node);
    const Tensor& x = c.input(0);
    const Tensor& p = c.input(1);
    if (x.rank() < 1 || x.shape().back() != a.c || (p.numel() != a.c && p.numel() != 1))
      op_fail(c.node,
              fmt::format("input {} and parameters {} do not match NumChannels={}", shape_str(x.shape()),
                          shape_str(p.shape()), a.c),
              "give one parameter per channel (last axis) or a single one");
    std::vector<double> v = x.to_double();
    const std::vector<double> pv = p.to_double();
    for (size_t i = 0; i < v.size(); ++i) {
      const double q = pv.size() == 1 ? pv[0] : pv[i % (size_t)a.c];
      if (a.func == "add") v[i] += q;
      else if (a.func == "mul") v[i] *= q;
      else if (a.func == "cmp_le") v[i] = v[i] <= q ? 1.0 : 0.0;
      else v[i] = v[i] >= q ? 1.0 : 0.0;
    }
    c.out.resize(1);
    c.out[0] = hw::float_tensor(x.shape(), v);
  };
  d.estimate = [](const Node& n, const Model& m) {
    const CwAttrs a = read(n);
    HwEstimate e;
    e.cycles = hw::prod(a.niv) * a.c / a.pe;
    // sf_channelwise (calibrated against Yosys): per PE an adder/comparator
    // (a multiplier goes to a DSP48 from 3x3 bits up) into a two-entry skid
    // buffer; the input and parameter registers; the parameter ROM in LUTs,
    // or block RAM (ram_style block, or auto from 1024x18 bits).
    const int ib = a.idt.bitwidth(), pb = a.pdt.bitwidth(), ob = a.odt.bitwidth();
    const int64_t cf = a.c / a.pe;
    const std::string style = n.get_string("ram_style", "auto");
    const bool block = style == "block" || style == "ultra" || (style == "auto" && cf * a.pe * pb >= 1024 * 18);
    const bool dsp = a.func == "mul" && ib > 2 && pb > 2;
    double op = 1.5 * ob;
    if (a.func == "mul") op = dsp ? (double)ob : (double)ib * pb / 2.0 + ob;
    e.lut = 10 + a.pe * op + (block ? 0.0 : (double)a.pe * pb * std::ceil(cf / 64.0) / 2.0);
    if (block) e.bram18 = (double)hw::bram18_count(a.pe * pb, cf);
    if (dsp) e.dsp = (double)a.pe;
    e.ff = 0.9 * a.pe * (ib + pb + 2.0 * ob) + hw::clog2(cf) + 2;
    return e;
  };
  // sf_channelwise: in_tready = !v1 || room, where room is the output skid's
  // free slot (sf_skid in_tready = !skid_valid_q); the skid never fills while
  // the sink takes every beat, so every input beat is taken when offered. A
  // beat taken at t is in x1/p1 (v1) at t + 1 and in the skid's output
  // register (out_tvalid) at t + 2.
  d.schedule = [](const Node& n, const Model&) {
    const CwAttrs a = read(n);
    return hw::one_to_one(hw::prod(a.niv) * (a.c / a.pe), 2, 0);
  };
  d.emit_rtl = cw_emit_rtl;
  d.emit_hls = hls::cw_emit_hls;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_cw_def());

}  // namespace sf
