// FINN's Thresholding layer: MultiThreshold on channels-last data,
// out = ActVal + #{t <= x} per channel (2*count-1 for BIPOLAR outputs), with
// thresholds (NumChannels or 1, steps) as input 1. PE channels per cycle.
#include <cmath>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/thresholding/thresholding_hls.h"
#include "ops/thresholding/thresholding_rtl.h"

namespace sf {
namespace {

struct ThrAttrs {
  int64_t c, pe;
  Shape niv;
  DataType idt, odt;
  int64_t act_val;
};

ThrAttrs read(const Node& n) {
  ThrAttrs a;
  a.c = hw::pos_int(n, "NumChannels");
  a.pe = hw::pos_int(n, "PE");
  hw::check_fold(n, "PE", a.pe, "NumChannels", a.c);
  a.niv = hw::pos_ints(n, "numInputVectors", 0, {1});
  a.idt = hw::dtype_attr(n, "inputDataType");
  a.odt = hw::dtype_attr(n, "outputDataType");
  a.act_val = n.get_int("ActVal", 0);
  hw::choice(n, "mem_mode", "internal_embedded", {"internal_embedded", "internal_decoupled", "const", "decoupled"});
  hw::choice(n, "ram_style", "distributed", {"auto", "block", "distributed", "ultra"});
  if (!a.odt.is_integer())
    op_fail(n, fmt::format("outputDataType {} is not an integer type", a.odt.name()), "use e.g. UINT4 or BIPOLAR");
  return a;
}

void check_input(const Node& n, const ThrAttrs& a, const Shape& s) {
  if (s.empty() || s.back() != a.c)
    op_fail(n, fmt::format("input has shape {}, its last axis must be NumChannels={}", shape_str(s), a.c),
            "Thresholding works channels-last (NHWC or NC); set NumChannels to the last dimension");
}

OpDef make_thresholding_def() {
  OpDef d;
  d.op_type = "Thresholding";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = 2;
  d.max_inputs = 2;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    check_input(c.node, read(c.node), c.shape(0));
    c.set_out(0, ElemType::FLOAT, c.shape(0));
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> { return {read(c.node).odt}; };
  d.execute = [](ExecCtx& c) {
    const ThrAttrs a = read(c.node);
    const Tensor& x = c.input(0);
    check_input(c.node, a, x.shape());
    Tensor out(ElemType::FLOAT, x.shape());
    hw::threshold_activate(x.to_double(), a.c, c.input(1), c.node, a.odt, a.act_val, out.data<float>());
    c.out.resize(1);
    c.out[0] = std::move(out);
  };
  d.estimate = [](const Node& n, const Model& m) {
    const ThrAttrs a = read(n);
    HwEstimate e;
    e.cycles = hw::prod(a.niv) * a.c / a.pe;
    // The RTL (sf_thresh_bsearch): per PE lane a binary search over the sorted
    // thresholds, K = ceil(log2(steps + 1)) stages of one comparison each;
    // stage k reads its own ROM of TROWS * 2^k thresholds of TW bits (TROWS =
    // C/PE, or 1 for a shared row). Calibrated on Yosys (synth_xilinx, xc7).
    const bool bipolar = a.odt.kind() == DataType::Kind::BIPOLAR;
    int64_t steps = bipolar ? 1 : ((int64_t)1 << a.odt.bitwidth()) - 1, rows = a.c;
    if (n.inputs.size() > 1)
      if (const Tensor* t = m.graph.get_initializer(n.inputs[1]); t && t->shape().size() == 2) {
        rows = t->shape()[0];
        steps = t->shape()[1];
      }
    const int k = rtl::threshold_search_stages(steps);
    const int64_t trows = rows == 1 ? 1 : a.c / a.pe;
    const int ib = a.idt.bitwidth(), ob = a.odt.bitwidth();
    const int tw = ib + (a.idt.is_signed() ? 1 : 2);
    const hw::ThresholdLaneCost lane = hw::bsearch_threshold_lane(k, trows, tw, n.get_string("ram_style", "distributed"));
    const double lane_lut = lane.lut, lane_bram = lane.bram18, lane_rom_ff = lane.rom_ff;
    e.lut = 40 + (double)a.pe * lane_lut + (double)(a.pe * ob) * 2 / 3;  // + output queue (LUTRAM)
    e.bram18 = (double)a.pe * lane_bram;
    // FF per lane: the value and the count bits through 2 registers per stage,
    // the LUT ROMs' output registers, the output; plus the input register and control.
    e.ff = (double)a.pe * (2.0 * k * ib + k * (k + 1) + lane_rom_ff + ob) + (double)a.pe * (ib + ob) + 30 +
           hw::clog2(a.c / a.pe);
    return e;
  };
  // sf_thresholding: a fixed-latency pipeline with no stall (flow control by
  // credits in sf_mvau_outq), so with an always-ready sink every input beat is
  // taken when offered and its output beat follows a fixed number of cycles
  // later (thresholding_rtl_latency), one out per beat in. K is the emitter's
  // (the thresholds' step count, thresholding_rtl.h).
  d.schedule = [](const Node& n, const Model& m) {
    const ThrAttrs a = read(n);
    const int k = rtl::threshold_search_stages(n, m, 1);
    return hw::one_to_one(hw::prod(a.niv) * (a.c / a.pe), rtl::thresholding_rtl_latency(k), 0);
  };
  d.emit_rtl = rtl::thresholding_emit_rtl;
  d.emit_hls = hls::thresholding_emit_hls;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_thresholding_def());

}  // namespace sf
