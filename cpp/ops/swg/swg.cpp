// FINN's ConvolutionInputGenerator (sliding window generator): Im2Col on NHWC
// input without padding (FMPadding does that in front), output
// (1, OFM_h, OFM_w, Kh*Kw*C) with the inner order (kh, kw, c) as Im2Col. The
// depthwise flag only changes the order of beats inside the hardware stream,
// not the normal-shape result: a standard SWG emits each window as
// (kh, kw, C/SIMD) beats, so an MVAU sees SIMD channels of one kernel tap per
// beat; a depthwise SWG emits (C/SIMD, kh, kw) beats, all taps of one channel
// group in a row, which is what a VVAU (or Pool) with SIMD over the kernel
// needs. The beat count, and hence the cycle model, is the same.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/swg/swg_rtl.h"

namespace sf {
namespace {

struct SwgAttrs {
  std::vector<int64_t> k, ifm, ofm, stride, dil;
  int64_t c, simd;
  DataType idt, odt;
};

SwgAttrs read(const Node& n) {
  SwgAttrs a;
  a.k = hw::pos_ints(n, "ConvKernelDim", 2);
  a.ifm = hw::pos_ints(n, "IFMDim", 2);
  a.ofm = hw::pos_ints(n, "OFMDim", 2);
  a.stride = hw::pos_ints(n, "Stride", 2, {1, 1});
  a.dil = hw::pos_ints(n, "Dilation", 2, {1, 1});
  a.c = hw::pos_int(n, "IFMChannels");
  a.simd = hw::pos_int(n, "SIMD");
  hw::check_fold(n, "SIMD", a.simd, "IFMChannels", a.c);
  a.idt = hw::dtype_attr(n, "inputDataType");
  a.odt = hw::dtype_attr(n, "outputDataType", a.idt);
  const int64_t dw = n.get_int("depthwise", 0);
  if (dw != 0 && dw != 1) op_fail(n, fmt::format("depthwise = {} must be 0 or 1", dw), "set depthwise to 0 or 1");
  hw::choice(n, "ram_style", "auto", {"auto", "block", "distributed", "ultra"});
  for (int i = 0; i < 2; ++i) {
    const int64_t span = a.dil[i] * (a.k[i] - 1) + 1;
    const int64_t want = span > a.ifm[i] ? 0 : (a.ifm[i] - span) / a.stride[i] + 1;
    if (want != a.ofm[i])
      op_fail(n,
              fmt::format("OFMDim[{}]={} but IFMDim {}, kernel {}, stride {}, dilation {} give {}", i, a.ofm[i],
                          a.ifm[i], a.k[i], a.stride[i], a.dil[i], want),
              "OFMDim = (IFMDim - Dilation*(ConvKernelDim-1) - 1) / Stride + 1; pad with FMPadding first");
  }
  return a;
}

// LUTs of a simple dual-port LUTRAM as 7-series packs it: RAM32M (4 LUTs, 6
// bits x 32) up to 32 words, else RAM64M (4 LUTs, 3 bits x 64) per 64 words.
double lutram_luts(int64_t width, int64_t depth) {
  if (depth <= 32) return 4.0 * (double)((width + 5) / 6);
  return 4.0 * (double)((depth + 63) / 64) * (double)((width + 2) / 3);
}

void check_input(const Node& n, const SwgAttrs& a, const Shape& s) {
  if (s != Shape{s.empty() ? 1 : s[0], a.ifm[0], a.ifm[1], a.c})
    op_fail(n,
            fmt::format("input has shape {}, expected NHWC (N, {}, {}, {})", shape_str(s), a.ifm[0], a.ifm[1], a.c),
            "IFMDim and IFMChannels must match the NHWC input");
}

OpDef make_swg_def() {
  OpDef d;
  d.op_type = "ConvolutionInputGenerator";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = 1;
  d.max_inputs = 1;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    const SwgAttrs a = read(c.node);
    const Shape& s = c.shape(0);
    check_input(c.node, a, s);
    c.set_out(0, ElemType::FLOAT, {s[0], a.ofm[0], a.ofm[1], a.k[0] * a.k[1] * a.c});
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> { return {read(c.node).odt}; };
  d.execute = [](ExecCtx& c) {
    const SwgAttrs a = read(c.node);
    const Tensor& x = c.input(0);
    check_input(c.node, a, x.shape());
    const int64_t N = x.shape()[0], H = a.ifm[0], W = a.ifm[1], C = a.c;
    const std::vector<float> xv = x.to_float();
    Tensor out(ElemType::FLOAT, {N, a.ofm[0], a.ofm[1], a.k[0] * a.k[1] * C});
    float* o = out.data<float>();
    for (int64_t b = 0; b < N; ++b)
      for (int64_t oy = 0; oy < a.ofm[0]; ++oy)
        for (int64_t ox = 0; ox < a.ofm[1]; ++ox)
          for (int64_t ky = 0; ky < a.k[0]; ++ky)
            for (int64_t kx = 0; kx < a.k[1]; ++kx) {
              const int64_t iy = oy * a.stride[0] + ky * a.dil[0], ix = ox * a.stride[1] + kx * a.dil[1];
              const float* src = xv.data() + ((b * H + iy) * W + ix) * C;
              o = std::copy(src, src + C, o);
            }
    c.out.resize(1);
    c.out[0] = std::move(out);
  };
  d.estimate = [](const Node& n, const Model& m) {
    const SwgAttrs a = read(n);
    HwEstimate e;
    const int64_t cs = a.c / a.simd;
    // Cycles: the RTL core's steady-state frame interval (swg_rtl.cpp replays
    // its row handshake). Per output row the reader emits OFM_w*Kh*Kw*C/SIMD
    // beats once the Kh dilated rows it needs are written, while the writer
    // fills the next S_h rows; between frames the reader waits for the rows of
    // the next frame's first window that did not fit in the buffer. A 1-D
    // window is run as a column of single-pixel rows.
    const swg_rtl::Geom g = swg_rtl::geom(n);
    e.cycles = swg_rtl::interval_cycles(g);
    // Line buffer of min(IFM_h, (Kh-1)*Dil_h+1 + S_h) rows of IFM_w pixels,
    // SIMD*bits wide.
    const int64_t width = a.simd * a.idt.bitwidth();
    const int64_t depth = g.rb * g.ifw * cs;
    const std::string rs = n.get_string("ram_style", "auto");
    // Calibrated against Yosys (synth_xilinx, xc7) on the RTL core: ~150 LUTs
    // of counters, address adders and handshake whatever the width, plus the
    // LUTRAM; FFs: the RAM read register and the skid (3 x width, of which
    // Yosys keeps ~2), five buffer-address registers, the loop counters, the
    // two signed row counters and the pipeline valid bits.
    e.lut = 150;
    if (rs == "block" || rs == "ultra" || (rs == "auto" && depth * width > 4096))
      e.bram18 = (double)hw::bram18_count(width, depth);
    else
      e.lut += lutram_luts(width, depth);
    e.ff = 2.0 * width + 5 * hw::clog2(depth) + hw::clog2(g.ofh) + hw::clog2(g.ofw) + hw::clog2(g.kh) +
           hw::clog2(g.kw) + hw::clog2(cs) + hw::clog2(g.ifw * cs) + 2 * (hw::clog2(g.rb + g.ifh + 1) + 2) + 10;
    return e;
  };
  d.schedule = swg_rtl::schedule;
  d.emit_rtl = swg_rtl::emit;
  d.emit_hls = swg_rtl::emit_hls;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_swg_def());

}  // namespace sf
