// FINN's StreamingFIFO: a FIFO of `depth` beats between two layers. The
// values pass through unchanged; folded_shape gives the beat width and count.
#include <cmath>
#include <fmt/format.h>

#include "ops/hw/common.h"

namespace sf {

void fifo_emit_rtl(rtl::LayerEmitter& e);  // fifo_rtl.cpp
void fifo_emit_hls(hls::LayerEmitter& e);  // fifo_hls.cpp
namespace {

struct FifoAttrs {
  int64_t depth;
  std::vector<int64_t> folded;
  DataType dt;
  std::string ram_style;
};

FifoAttrs read(const Node& n) {
  FifoAttrs a;
  a.depth = hw::pos_int(n, "depth");
  a.folded = hw::pos_ints(n, "folded_shape", 0);
  a.dt = hw::dtype_attr(n, "dataType");
  a.ram_style = hw::choice(n, "ram_style", "auto", {"auto", "block", "distributed", "ultra"});
  hw::choice(n, "impl_style", "rtl", {"rtl", "vivado"});
  return a;
}

OpDef make_fifo_def() {
  OpDef d;
  d.op_type = "StreamingFIFO";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = d.max_inputs = 1;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    const FifoAttrs a = read(c.node);
    if (shape_numel(c.shape(0)) != hw::prod(a.folded))
      op_fail(c.node,
              fmt::format("input {} and folded_shape [{}] hold different element counts", shape_str(c.shape(0)),
                          hw::join_values(a.folded)),
              "set folded_shape to the producer's folded output shape");
    c.set_out(0, ElemType::FLOAT, c.shape(0));
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> { return {read(c.node).dt}; };
  d.execute = [](ExecCtx& c) {
    c.out.resize(1);
    c.out[0] = c.input(0).cast(ElemType::FLOAT).clone();
  };
  d.estimate = [](const Node& n, const Model& m) {
    const FifoAttrs a = read(n);
    HwEstimate e;
    e.cycles = hw::prod(a.folded) / a.folded.back();
    const int64_t width = a.folded.back() * a.dt.bitwidth();
    // sf_fifo (calibrated against Yosys): shallow FIFOs are SRL chains of
    // depth-1 entries (SRL32: 1 LUT per bit per 32 entries) behind the output
    // register; depth 2 and 3 stay flip-flops. Deep ones are a block RAM with
    // its read register and a two-entry output buffer. The xc7 RTL has no
    // UltraRAM; "ultra" is modelled as FINN does.
    const bool bram = a.ram_style == "block" || (a.ram_style == "auto" && a.depth > 256);
    const int cw = hw::clog2(a.depth + 1);
    if (a.ram_style == "ultra") {
      e.uram = std::ceil(a.depth / 4096.0) * std::ceil(width / 72.0);
      e.lut = 40 + (double)width;
      e.ff = 3.0 * width + 4 * cw;
    } else if (bram) {
      e.bram18 = (double)hw::bram18_count(width, a.depth);
      e.lut = 40 + (double)width;
      e.ff = 3.0 * width + 4 * cw;
    } else if (a.depth <= 3) {
      e.lut = 10 + (double)width * (a.depth - 1);
      e.ff = (double)width * a.depth + 3 * cw + 2;
    } else {
      e.lut = 20 + (double)width * std::ceil((a.depth - 1) / 32.0);
      e.ff = (double)width + 3 * cw + 2;
    }
    return e;
  };
  d.schedule = [](const Node& n, const Model&) {
    const FifoAttrs a = read(n);
    const int64_t beats = hw::prod(a.folded) / a.folded.back();
    // sf_fifo: one cycle through the shift-register form, three through the
    // block RAM; full at `depth` beats, and in_tready (registered) rises the
    // cycle after a beat leaves.
    const bool bram = a.ram_style == "block" || (a.ram_style == "auto" && a.depth > 256);
    hw::Schedule s = hw::one_to_one(beats, bram ? 3 : 1, a.depth);
    s.hold_offset = 1;
    return s;
  };
  d.emit_rtl = fifo_emit_rtl;
  d.emit_hls = fifo_emit_hls;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_fifo_def());

}  // namespace sf
