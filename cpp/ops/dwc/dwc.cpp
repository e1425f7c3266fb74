// FINN's StreamingDataWidthConverter: regroups the bits of a stream from
// inWidth-bit to outWidth-bit beats. The values are untouched, so execution
// is the identity; only the cycle and LUT models see the widths.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <fmt/format.h>

#include "ops/hw/common.h"

namespace sf {

void dwc_emit_rtl(rtl::LayerEmitter& e);  // dwc_rtl.cpp
void dwc_emit_hls(hls::LayerEmitter& e);  // dwc_hls.cpp
namespace {

struct DwcAttrs {
  int64_t in_w, out_w;
  DataType dt;
};

DwcAttrs read(const Node& n) {
  DwcAttrs a;
  a.in_w = hw::pos_int(n, "inWidth");
  a.out_w = hw::pos_int(n, "outWidth");
  a.dt = hw::dtype_attr(n, "dataType");
  const int64_t b = a.dt.bitwidth();
  if (a.in_w % b || a.out_w % b)
    op_fail(n, fmt::format("inWidth={} and outWidth={} must be multiples of the {}-bit dataType {}", a.in_w, a.out_w, b,
                           a.dt.name()),
            "stream widths carry whole elements; use multiples of the element width");
  return a;
}

// Elements per frame: from the shape attribute FINN writes, else the input's value_info.
int64_t frame_elems(const Node& n, const Model& m) {
  for (const char* k : {"in_shape", "shape"})
    if (n.has_attr(k)) return hw::prod(n.get_ints(k));
  const ValueInfo* vi = n.inputs.empty() ? nullptr : m.graph.find_value_info(n.inputs[0]);
  if (!vi || !vi->shape_known())
    op_fail(n, "cannot estimate: the input shape is unknown", "run shape inference or set the 'shape' attribute");
  return shape_numel(vi->shape());
}

OpDef make_dwc_def() {
  OpDef d;
  d.op_type = "StreamingDataWidthConverter";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = d.max_inputs = 1;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    read(c.node);
    c.set_out(0, ElemType::FLOAT, c.shape(0));
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> { return {read(c.node).dt}; };
  d.execute = [](ExecCtx& c) {
    c.out.resize(1);
    c.out[0] = c.input(0).cast(ElemType::FLOAT).clone();
  };
  d.estimate = [](const Node& n, const Model& m) {
    const DwcAttrs a = read(n);
    HwEstimate e;
    const int64_t bits = frame_elems(n, m) * a.dt.bitwidth();
    // The narrow side sets the pace: one beat per cycle there.
    e.cycles = (bits + std::min(a.in_w, a.out_w) - 1) / std::min(a.in_w, a.out_w);
    // sf_dwc (calibrated against Yosys): a buffer of CAP chunks of
    // g = gcd(in, out) bits, CAP = in/g + out/g + min(in, out)/g - 1, and the
    // output register. A narrow input lands in one place per chunk (clock
    // enables, few LUTs); a wide input or an lcm gearbox needs a 3-way mux
    // per buffer bit.
    const int64_t g = std::gcd(a.in_w, a.out_w);
    const int64_t cap = (a.in_w + a.out_w + std::min(a.in_w, a.out_w)) / g - 1;
    const bool easy = a.out_w % a.in_w == 0;
    e.lut = (easy ? 0.3 : 1.5) * (double)(cap * g) + 10;
    e.ff = (double)(cap * g + a.out_w) + 2 * hw::clog2(cap + 1);
    return e;
  };
  d.schedule = [](const Node& n, const Model&) {
    // sf_dwc works in chunks of G = gcd(IW, OW) bits (the emitter's G), NI per
    // input beat, NO per output beat, and buffers up to CAP chunks. The shape
    // check of stream_shapes makes every row a whole number of beats on both
    // sides, so frames stay aligned and the per-frame pattern repeats.
    const hw::StreamShapes s = hw::stream_shapes(n);
    const int64_t ib = hw::prod(s.folded_in) / s.folded_in.back();
    const int64_t ob = hw::prod(s.folded_out) / s.folded_out.back();
    const int64_t g = std::gcd(s.in_width, s.out_width), ni = s.in_width / g, no = s.out_width / g;
    const int64_t cap = ni + no + std::min(ni, no) - 1;
    hw::Schedule r;
    r.in_beats = {ib};
    r.out_beats = {ob};
    // `pop` fires in the first cycle that `cnt` (chunks pushed minus chunks
    // popped before that cycle) holds NO chunks, and the sink never stalls
    // (take = 1), so output k pops the cycle after the input beat that
    // completes its chunks, and out_v/out_q offer it one cycle later:
    // latency 2, at most one pop per cycle (gap 1).
    r.need = {{hw::proportional_need(ib, ob)}};
    r.latency = 2;
    // in_tready is the register cnt_d <= CAP - NI, i.e. input beat j is taken
    // only in a cycle where cnt = j*NI - NO*(pops before it) <= CAP - NI: at
    // least m = ceil(((j+1)*NI - CAP) / NO) pops must have happened, the last
    // of which is output m-1's offer cycle (a pop in cycle t is offered at
    // t+1, and counts in cnt from t+1). So input j waits for output m-1, with
    // no offset; m <= 0 reaches into the previous frame (the buffer runs on
    // across frames), and in the first frame is no wait.
    r.hold = {std::vector<int64_t>((size_t)ib)};
    for (int64_t j = 0; j < ib; ++j) {
      const int64_t x = (j + 1) * ni - cap;
      const int64_t m = x >= 0 ? (x + no - 1) / no : -((-x) / no);
      r.hold[0][(size_t)j] = m - 1;
    }
    r.hold_offset = 0;
    return r;
  };
  d.emit_rtl = dwc_emit_rtl;
  d.emit_hls = dwc_emit_hls;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_dwc_def());

}  // namespace sf
