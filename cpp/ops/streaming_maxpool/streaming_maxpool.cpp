// FINN's StreamingMaxPool: non-overlapping max pooling (stride = PoolDim) on
// NHWC data, like MaxPoolNHWC with kernel = stride. CeilMode=1 keeps the
// partial windows at the bottom/right edge (max over what is there).
#include <algorithm>
#include <cmath>
#include <limits>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/streaming_maxpool/streaming_maxpool_params.h"

namespace sf {
namespace streaming_maxpool_rtl {
void emit(rtl::LayerEmitter& e);      // streaming_maxpool_rtl.cpp
void emit_hls(hls::LayerEmitter& e);  // streaming_maxpool_hls.cpp
}
namespace {

struct SmpAttrs {
  std::vector<int64_t> img, k;
  int64_t c, pe;
  bool ceil_mode;
  DataType dt;
};

SmpAttrs read(const Node& n) {
  SmpAttrs a;
  a.img = hw::pos_ints(n, "ImgDim", 2);
  a.k = hw::pos_ints(n, "PoolDim", 2);
  a.c = hw::pos_int(n, "NumChannels");
  a.pe = hw::pos_int(n, "PE", 1);
  hw::check_fold(n, "PE", a.pe, "NumChannels", a.c);
  a.ceil_mode = n.get_int("CeilMode", 0) != 0;
  a.dt = hw::dtype_attr(n, "dataType");
  for (int i = 0; i < 2; ++i)
    if (a.k[i] > a.img[i])
      op_fail(n, fmt::format("PoolDim {} is larger than ImgDim {}", a.k[i], a.img[i]), "use a smaller PoolDim");
  return a;
}

int64_t odim(const SmpAttrs& a, int i) {
  return a.ceil_mode ? (a.img[i] + a.k[i] - 1) / a.k[i] : a.img[i] / a.k[i];
}

// LUTs of a simple dual-port LUTRAM as 7-series packs it: RAM32M (4 LUTs, 6
// bits x 32) up to 32 words, else RAM64M (4 LUTs, 3 bits x 64) per 64 words.
double lutram_luts(int64_t width, int64_t depth) {
  if (depth <= 32) return 4.0 * (double)((width + 5) / 6);
  return 4.0 * (double)((depth + 63) / 64) * (double)((width + 2) / 3);
}

void check_input(const Node& n, const SmpAttrs& a, const Shape& s) {
  if (s.size() != 4 || s[1] != a.img[0] || s[2] != a.img[1] || s[3] != a.c)
    op_fail(n, fmt::format("input has shape {}, expected (N, {}, {}, {})", shape_str(s), a.img[0], a.img[1], a.c),
            "ImgDim and NumChannels must match the NHWC input");
}

OpDef make_smp_def() {
  OpDef d;
  d.op_type = "StreamingMaxPool";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = d.max_inputs = 1;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    const SmpAttrs a = read(c.node);
    check_input(c.node, a, c.shape(0));
    c.set_out(0, ElemType::FLOAT, {c.shape(0)[0], odim(a, 0), odim(a, 1), a.c});
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> { return {read(c.node).dt}; };
  d.execute = [](ExecCtx& c) {
    const SmpAttrs a = read(c.node);
    const Tensor& x = c.input(0);
    check_input(c.node, a, x.shape());
    const int64_t N = x.shape()[0], H = a.img[0], W = a.img[1], OH = odim(a, 0), OW = odim(a, 1);
    const std::vector<float> xv = x.to_float();
    Tensor out(ElemType::FLOAT, {N, OH, OW, a.c});
    float* o = out.data<float>();
    for (int64_t b = 0; b < N; ++b)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox)
          for (int64_t ch = 0; ch < a.c; ++ch) {
            float m = -std::numeric_limits<float>::infinity();
            for (int64_t iy = oy * a.k[0]; iy < std::min(H, (oy + 1) * a.k[0]); ++iy)
              for (int64_t ix = ox * a.k[1]; ix < std::min(W, (ox + 1) * a.k[1]); ++ix)
                m = std::max(m, xv[((b * H + iy) * W + ix) * a.c + ch]);
            *o++ = m;
          }
    c.out.resize(1);
    c.out[0] = std::move(out);
  };
  d.estimate = [](const Node& n, const Model& m) {
    const SmpAttrs a = read(n);
    HwEstimate e;
    // The RTL core (sf_streaming_maxpool) takes one input beat per cycle and
    // sends each window's maximum with the window's last pixel, so a frame is
    // its input: IFM_h*IFM_w*C/PE cycles, 1-D or 2-D, floor or ceil mode.
    e.cycles = a.img[0] * a.img[1] * (a.c / a.pe);
    // A row buffer of OFM_w * C/PE running maxima (C/PE when the window is one
    // row high). Calibrated against Yosys on the RTL core: per lane bit a
    // comparator, the max/first mux and the skid's muxes (~3.5 LUTs); FFs: the
    // input, forwarded-result, RAM-read and two skid registers (5 x width) plus
    // position counters.
    const int64_t depth = (a.k[0] > 1 ? odim(a, 1) : 1) * (a.c / a.pe), width = a.pe * a.dt.bitwidth();
    e.lut = 60 + 3.5 * (double)width;
    const std::string rs = n.get_string("ram_style", "auto");
    if (rs == "block" || rs == "ultra" || (rs == "auto" && depth * width > 4096))
      e.bram18 = (double)hw::bram18_count(width, depth);
    else
      e.lut += lutram_luts(width, depth);
    e.ff = 5.0 * width + hw::clog2(a.img[0]) + hw::clog2(a.img[1]) + hw::clog2(a.k[0]) + hw::clog2(a.k[1]) +
           2 * hw::clog2(depth) + hw::clog2(a.c / a.pe) + 8;
    return e;
  };
  d.schedule = [](const Node& n, const Model&) {
    // sf_streaming_maxpool: with the sink always ready the skid's registered
    // in_tready stays high, so fire1 = v1 and in_tready = 1: every beat is
    // taken when offered (no hold). A window's maximum enters the skid from
    // stage 1 in the cycle after its last pixel's beat is taken and leaves
    // one cycle later (latency 2). That last pixel is row min((oy+1)*KH, IH)-1,
    // column min((ox+1)*KW, IW)-1: the clipped edge window in CeilMode (the
    // last_y/last_x terms of last0); in floor mode the rows/columns past
    // OH*KH / OW*KW are dropped, so no output waits for them.
    const streaming_maxpool_rtl::MaxPoolGeom g = streaming_maxpool_rtl::maxpool_geom(n);
    const int64_t cf = g.c / g.pe, ih = g.img[0], iw = g.img[1];
    hw::Schedule s;
    s.in_beats = {ih * iw * cf};
    s.out_beats = {g.od[0] * g.od[1] * cf};
    std::vector<int64_t> need;
    need.reserve((size_t)s.out_beats[0]);
    for (int64_t oy = 0; oy < g.od[0]; ++oy)
      for (int64_t ox = 0; ox < g.od[1]; ++ox) {
        const int64_t y = std::min((oy + 1) * g.k[0], ih) - 1, x = std::min((ox + 1) * g.k[1], iw) - 1;
        for (int64_t c = 0; c < cf; ++c) need.push_back((y * iw + x) * cf + c + 1);
      }
    s.need = {{need}};
    s.latency = 2;
    return s;
  };
  d.emit_rtl = streaming_maxpool_rtl::emit;
  d.emit_hls = streaming_maxpool_rtl::emit_hls;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_smp_def());

}  // namespace sf
