// FINN's LabelSelect: indices of the K largest values along the last axis
// (Labels wide), largest first; equal values keep the lower index first, as
// TopK and FINN's stable sort do. Output type: the smallest UINT for Labels-1.
#include <algorithm>
#include <numeric>
#include <fmt/format.h>

#include "ops/hw/common.h"

namespace sf {
namespace hls {
void labelselect_emit_hls(LayerEmitter& e);  // labelselect_hls.cpp
}

void labelselect_emit_rtl(rtl::LayerEmitter& e);  // labelselect_rtl.cpp
namespace {

struct LsAttrs {
  int64_t labels, pe, k;
  DataType idt, odt;
};

LsAttrs read(const Node& n) {
  LsAttrs a;
  a.labels = hw::pos_int(n, "Labels");
  a.pe = hw::pos_int(n, "PE", 1);
  a.k = hw::pos_int(n, "K");
  hw::check_fold(n, "PE", a.pe, "Labels", a.labels);
  if (a.k > a.labels)
    op_fail(n, fmt::format("K={} is larger than Labels={}", a.k, a.labels), "K must be at most Labels");
  a.idt = hw::dtype_attr(n, "inputDataType");
  a.odt = hw::dtype_attr(n, "outputDataType", hw::range_datatype(0, (double)(a.labels - 1)));
  return a;
}

void check_input(const Node& n, const LsAttrs& a, const Shape& s) {
  if (s.empty() || s.back() != a.labels)
    op_fail(n, fmt::format("input has shape {}, its last axis must be Labels={}", shape_str(s), a.labels),
            "set Labels to the last dimension of the input");
}

OpDef make_labelselect_def() {
  OpDef d;
  d.op_type = "LabelSelect";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = d.max_inputs = 1;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    const LsAttrs a = read(c.node);
    Shape s = c.shape(0);
    check_input(c.node, a, s);
    s.back() = a.k;
    c.set_out(0, ElemType::FLOAT, s);
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> { return {read(c.node).odt}; };
  d.execute = [](ExecCtx& c) {
    const LsAttrs a = read(c.node);
    const Tensor& x = c.input(0);
    check_input(c.node, a, x.shape());
    const std::vector<double> xv = x.to_double();
    Shape os = x.shape();
    os.back() = a.k;
    Tensor out(ElemType::FLOAT, os);
    float* o = out.data<float>();
    std::vector<int64_t> idx((size_t)a.labels);
    for (int64_t r = 0; r < x.numel() / a.labels; ++r) {
      const double* v = xv.data() + r * a.labels;
      std::iota(idx.begin(), idx.end(), 0);
      std::stable_sort(idx.begin(), idx.end(), [&](int64_t p, int64_t q) { return v[p] > v[q]; });
      for (int64_t j = 0; j < a.k; ++j) *o++ = (float)idx[j];
    }
    c.out.resize(1);
    c.out[0] = std::move(out);
  };
  d.estimate = [](const Node& n, const Model& m) {
    const LsAttrs a = read(n);
    HwEstimate e;
    // Per row: L/PE input beats, but at least K cycles (the K indices leave one
    // per beat, and sf_labelselect's row flushes are K cycles apart).
    const Shape niv = hw::pos_ints(n, "numInputVectors", 0, {1});
    e.cycles = (double)hw::prod(niv) * (double)std::max(a.labels / a.pe, a.k);
    // sf_labelselect (calibrated against Yosys): K cells, each with its entry
    // {valid, value, index} and a registered bundle of PE entries, a PE+1 way
    // comparator tree and the bundle's pass-through muxes; the output FIFO is
    // a few SRLs.
    const double ew = 1.0 + a.idt.bitwidth() + std::max(1, hw::clog2(a.labels));
    e.lut = 40 + 4.0 * a.k * a.pe * ew;
    e.ff = (double)a.k * (a.pe + 1) * ew + 30;
    return e;
  };
  d.schedule = [](const Node& n, const Model&) {
    const LsAttrs a = read(n);
    const int64_t rows = hw::prod(hw::pos_ints(n, "numInputVectors", 0, {1}));
    const int64_t nb = a.labels / a.pe, k = a.k;
    hw::Schedule s;
    s.in_beats = {rows * nb};
    s.out_beats = {rows * k};
    // A row's K indices leave after its last beat: that beat fires in cycle
    // t, its flag is in blst[0] at t+1 and reaches cell i at t+1+i (fin[i]),
    // push_v/push_d register it at t+2+i, and the output sf_fifo (empty, as
    // the sink never stalls) passes it straight to its output register,
    // offered at t+3+i. So output i of row r needs the row's last beat,
    // latency 3, one per cycle (gap 1).
    s.need = {{std::vector<int64_t>((size_t)(rows * k))}};
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < k; ++i) s.need[0][0][(size_t)(r * k + i)] = (r + 1) * nb;
    s.latency = 3;
    // in_tready (rdy) holds back only a row's last beat: `gap` counts cycles
    // since the previous row's last beat fired and must reach K, so the last
    // beat of row r comes at least K cycles after row r-1's. Row r-1's last
    // index is offered exactly (K-1) + 3 cycles after that beat, so the wait
    // is "output r*K-1 (counted in this frame; the previous frame's for
    // r = 0), minus 2". The credit check (credit >= K) never binds with an
    // always-ready sink: indices drain K+2 cycles after their row's last beat,
    // so at most about K+3 credits are out of the 2K+4.
    s.hold = {std::vector<int64_t>((size_t)(rows * nb), hw::kNoHold)};
    for (int64_t r = 0; r < rows; ++r) s.hold[0][(size_t)(r * nb + nb - 1)] = r * k - 1;
    s.hold_offset = -2;
    return s;
  };
  d.emit_rtl = labelselect_emit_rtl;
  d.emit_hls = hls::labelselect_emit_hls;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_labelselect_def());

}  // namespace sf
