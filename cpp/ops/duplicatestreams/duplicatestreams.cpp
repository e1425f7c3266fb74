// FINN's DuplicateStreams: copies one stream to NumOutputStreams outputs (the
// fork in front of a residual branch).
#include <fmt/format.h>

#include "ops/hw/common.h"

namespace sf {

void dup_emit_rtl(rtl::LayerEmitter& e);  // duplicatestreams_rtl.cpp
void dup_emit_hls(hls::LayerEmitter& e);  // duplicatestreams_hls.cpp
namespace {

struct DupAttrs {
  int64_t c, pe, nout;
  Shape niv;
  DataType idt;
};

DupAttrs read(const Node& n) {
  DupAttrs a;
  a.c = hw::pos_int(n, "NumChannels");
  a.pe = hw::pos_int(n, "PE", 1);
  hw::check_fold(n, "PE", a.pe, "NumChannels", a.c);
  a.nout = hw::pos_int(n, "NumOutputStreams", 2);
  a.niv = hw::pos_ints(n, "numInputVectors", 0, {1});
  a.idt = hw::dtype_attr(n, "inputDataType");
  if ((int64_t)n.outputs.size() != a.nout)
    op_fail(n, fmt::format("has {} outputs but NumOutputStreams={}", n.outputs.size(), a.nout),
            "make NumOutputStreams equal to the number of outputs");
  return a;
}

OpDef make_dup_def() {
  OpDef d;
  d.op_type = "DuplicateStreams";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = d.max_inputs = 1;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    const DupAttrs a = read(c.node);
    const Shape& s = c.shape(0);
    if (s.empty() || s.back() != a.c)
      op_fail(c.node, fmt::format("input has shape {}, its last axis must be NumChannels={}", shape_str(s), a.c),
              "set NumChannels to the last dimension");
    for (int64_t i = 0; i < a.nout; ++i) c.set_out((size_t)i, ElemType::FLOAT, s);
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> {
    const DupAttrs a = read(c.node);
    return std::vector<DataType>((size_t)a.nout, a.idt);
  };
  d.execute = [](ExecCtx& c) {
    const DupAttrs a = read(c.node);
    const Tensor x = c.input(0).cast(ElemType::FLOAT);
    c.out.clear();
    for (int64_t i = 0; i < a.nout; ++i) c.out.push_back(x.clone());
  };
  d.estimate = [](const Node& n, const Model& m) {
    const DupAttrs a = read(n);
    HwEstimate e;
    e.cycles = hw::prod(a.niv) * a.c / a.pe;
    // sf_duplicate (calibrated against Yosys): an output register per stream
    // fed through a 2:1 mux (input or the shared spare), the spare register,
    // a valid and a pending bit per stream.
    const double w = (double)a.pe * a.idt.bitwidth();
    e.lut = 10 + w * a.nout;
    e.ff = w * (a.nout + 1) + 2.0 * a.nout + 1;
    return e;
  };
  d.schedule = [](const Node& n, const Model&) {
    const DupAttrs a = read(n);
    const int64_t beats = hw::prod(a.niv) * a.c / a.pe;
    // sf_duplicate with every output always ready (the model's assumption on
    // every output port: fifo_sizing puts an unbounded FIFO behind each):
    // free = all ones, so pend_d stays 0, in_ready_q stays 1, and a pushed
    // beat is in every output register, offered, the next cycle (latency 1).
    // A stalled output would instead park the beat in the spare register and
    // pause the input; the model does not describe that.
    hw::Schedule s = hw::one_to_one(beats, 1, 0);
    s.out_beats.assign((size_t)a.nout, beats);
    s.need.assign((size_t)a.nout, s.need[0]);
    return s;
  };
  d.emit_rtl = dup_emit_rtl;
  d.emit_hls = dup_emit_hls;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_dup_def());

}  // namespace sf
