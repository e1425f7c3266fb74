// FINN's Pool (Pool_Batch): pools windows that a depthwise SWG has already
// unrolled. Input (N, OH, OW, Kh*Kw*C) in Im2Col order (kh, kw, c); output
// (N, OH, OW, C). Function MaxPool, AvgPool (mean), AccPool (sum) or
// QuantAvgPool: sum >> shift with shift = max(0, bitlen((2^ibits-1)*k^2) - obits)
// as QuantAvgPool2d (DESIGN §5).
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/pool_hw/pool_hw_params.h"

namespace sf {
namespace pool_hw_rtl {
void emit(rtl::LayerEmitter& e);      // pool_hw_rtl.cpp
void emit_hls(hls::LayerEmitter& e);  // pool_hw_hls.cpp
// The layer's output datatype (infer_datatype): AccPool without
// OutputDataType widens to the sum's range, so a BIPOLAR input gives an INT
// sum, not a BIPOLAR one. Both emitters take the output encoding from here.
DataType out_datatype(const Node& n);
}
namespace {

struct PoolAttrs {
  int64_t c, pe;
  std::vector<int64_t> k, odims;
  std::string func;
  DataType idt, odt;
};

PoolAttrs read(const Node& n) {
  PoolAttrs a;
  a.c = hw::pos_int(n, "Channels");
  a.pe = hw::pos_int(n, "PE", 1);
  hw::check_fold(n, "PE", a.pe, "Channels", a.c);
  a.k = hw::pos_ints(n, "KernelSize", 2);
  a.odims = hw::pos_ints(n, "OutImgDims", 2);
  a.func = hw::choice(n, "Function", "MaxPool", {"MaxPool", "AvgPool", "AccPool", "QuantAvgPool"});
  a.idt = hw::dtype_attr(n, "InputDataType");
  a.odt = hw::dtype_attr(n, "OutputDataType", a.idt);
  return a;
}

int64_t quant_shift(const PoolAttrs& a) {
  const uint64_t maxv = ((uint64_t(1) << a.idt.bitwidth()) - 1) * (uint64_t)(a.k[0] * a.k[1]);
  int len = 0;
  for (uint64_t v = maxv; v; v >>= 1) ++len;
  return std::max<int64_t>(0, len - a.odt.bitwidth());
}

void check_input(const Node& n, const PoolAttrs& a, const Shape& s) {
  const int64_t kk = a.k[0] * a.k[1];
  if (s.size() != 4 || s[1] != a.odims[0] || s[2] != a.odims[1] || s[3] != kk * a.c)
    op_fail(n,
            fmt::format("input has shape {}, expected (N, {}, {}, {}*{})", shape_str(s), a.odims[0], a.odims[1], kk,
                        a.c),
            "Pool takes the unrolled windows of a depthwise ConvolutionInputGenerator");
}

OpDef make_pool_def() {
  OpDef d;
  d.op_type = "Pool";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = d.max_inputs = 1;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    const PoolAttrs a = read(c.node);
    check_input(c.node, a, c.shape(0));
    c.set_out(0, ElemType::FLOAT, {c.shape(0)[0], a.odims[0], a.odims[1], a.c});
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> {
    return {pool_hw_rtl::out_datatype(c.node)};
  };
  d.execute = [](ExecCtx& c) {
    const PoolAttrs a = read(c.node);
    const Tensor& x = c.input(0);
    check_input(c.node, a, x.shape());
    const int64_t kk = a.k[0] * a.k[1], pix = x.numel() / (kk * a.c);
    const std::vector<double> xv = x.to_double();
    const int64_t shift = a.func == "QuantAvgPool" ? quant_shift(a) : 0;
    std::vector<double> o((size_t)(pix * a.c));
    for (int64_t p = 0; p < pix; ++p)
      for (int64_t ch = 0; ch < a.c; ++ch) {
        double m = -INFINITY, s = 0;
        for (int64_t t = 0; t < kk; ++t) {
          const double v = xv[(p * kk + t) * a.c + ch];
          m = std::max(m, v);
          s += v;
        }
        double r = s;
        if (a.func == "MaxPool") r = m;
        else if (a.func == "AvgPool") r = (double)(float)(s / (double)kk);
        // Arithmetic right shift = floor division by 2^shift, also for negative sums.
        else if (a.func == "QuantAvgPool") r = std::floor(s / std::ldexp(1.0, (int)shift));
        o[p * a.c + ch] = r;
      }
    c.out.resize(1);
    c.out[0] = hw::float_tensor({x.shape()[0], a.odims[0], a.odims[1], a.c}, o);
  };
  d.estimate = [](const Node& n, const Model& m) {
    const PoolAttrs a = read(n);
    HwEstimate e;
    const int64_t kk = a.k[0] * a.k[1];
    e.cycles = a.c * kk / a.pe * a.odims[0] * a.odims[1] * n.get_int("BatchSize", 1);
    const int acc = a.idt.bitwidth() + (int)std::ceil(std::log2((double)kk));
    e.lut = 50 + (double)a.pe * acc * 2;
    // FF (calibrated against Yosys on the RTL core): per PE a signed
    // accumulator (or running max) and the skid's two output registers, the
    // tap counter, a few flags.
    e.ff = (double)a.pe * (acc + 1 + 2 * a.odt.bitwidth()) + hw::clog2(kk) + 4;
    return e;
  };
  d.schedule = [](const Node& n, const Model&) {
    // sf_pool: in_tready = skid_ready || !last, and the skid's registered
    // in_tready stays high with an always-ready sink, so every beat is taken
    // when offered (no hold). A channel group's result enters the skid in the
    // cycle its last tap is taken (in_tvalid && last) and leaves one cycle
    // later: output beat k waits for input beat (k+1)*KK, latency 1. One frame
    // is one image, as the stream shapes count it (BatchSize images are
    // BatchSize frames). Geometry as the emitter reads it (pool_hw_params.h;
    // AvgPool, which has no RTL layer, throws there).
    const pool_hw_rtl::PoolGeom g = pool_hw_rtl::pool_geom(n, "RTL");
    const int64_t kk = g.kk, groups = g.od[0] * g.od[1] * (g.c / g.pe);
    hw::Schedule s;
    s.in_beats = {groups * kk};
    s.out_beats = {groups};
    std::vector<int64_t> need((size_t)groups);
    for (int64_t k = 0; k < groups; ++k) need[(size_t)k] = (k + 1) * kk;
    s.need = {{need}};
    s.latency = 1;
    return s;
  };
  d.emit_rtl = pool_hw_rtl::emit;
  d.emit_hls = pool_hw_rtl::emit_hls;
  return d;
}

}  // namespace

namespace pool_hw_rtl {
DataType out_datatype(const Node& n) {
  const PoolAttrs a = read(n);
  if (a.func == "AccPool" && !n.has_attr("OutputDataType")) {
    const double kk = (double)(a.k[0] * a.k[1]);
    return hw::range_datatype(std::min(0.0, a.idt.min() * kk), a.idt.max() * kk);
  }
  if (a.func == "AvgPool" && !n.has_attr("OutputDataType")) return DataType::float32();
  return a.odt;
}
}  // namespace pool_hw_rtl

SF_REGISTER_OP(make_pool_def());

}  // namespace sf
