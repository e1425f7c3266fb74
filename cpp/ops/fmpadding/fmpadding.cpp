// FINN's FMPadding: pads an NHWC feature map spatially. Padding is
// [top, left, bottom, right] as FINN writes it. FINN's hardware pads with 0;
// PadValue (a streamfold extension, default 0) lets the lowering keep Im2Col's
// pad_value, e.g. -1 for bipolar data.
#include <fmt/format.h>

#include "ops/fmpadding/fmpadding_params.h"
#include "ops/hw/common.h"

namespace sf {
namespace fmpadding_rtl {
void emit(rtl::LayerEmitter& e);      // fmpadding_rtl.cpp
void emit_hls(hls::LayerEmitter& e);  // fmpadding_hls.cpp
}
namespace {

struct PadAttrs {
  std::vector<int64_t> img, pad;
  int64_t c, simd, pad_value;
  DataType idt;
};

PadAttrs read(const Node& n) {
  PadAttrs a;
  a.img = hw::pos_ints(n, "ImgDim", 2);
  a.pad = n.get_ints("Padding");
  bool ok = a.pad.size() == 4;
  for (int64_t p : a.pad) ok = ok && p >= 0;
  if (!ok)
    op_fail(n, fmt::format("attribute 'Padding' = [{}] must be four integers >= 0", hw::join_values(a.pad)),
            "Padding is [top, left, bottom, right]");
  a.c = hw::pos_int(n, "NumChannels");
  a.simd = hw::pos_int(n, "SIMD", 1);
  hw::check_fold(n, "SIMD", a.simd, "NumChannels", a.c);
  a.idt = hw::dtype_attr(n, "inputDataType");
  a.pad_value = n.get_int("PadValue", 0);
  if (!a.idt.allowed((double)a.pad_value))
    op_fail(n, fmt::format("PadValue {} is not a value of inputDataType {}", a.pad_value, a.idt.name()),
            "choose a pad value the input type can hold");
  return a;
}

Shape out_shape(const PadAttrs& a, int64_t batch) {
  return {batch, a.img[0] + a.pad[0] + a.pad[2], a.img[1] + a.pad[1] + a.pad[3], a.c};
}

void check_input(const Node& n, const PadAttrs& a, const Shape& s) {
  if (s.size() != 4 || s[1] != a.img[0] || s[2] != a.img[1] || s[3] != a.c)
    op_fail(n, fmt::format("input has shape {}, expected (N, {}, {}, {})", shape_str(s), a.img[0], a.img[1], a.c),
            "ImgDim and NumChannels must match the NHWC input");
}

OpDef make_fmpadding_def() {
  OpDef d;
  d.op_type = "FMPadding";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = d.max_inputs = 1;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    const PadAttrs a = read(c.node);
    check_input(c.node, a, c.shape(0));
    c.set_out(0, ElemType::FLOAT, out_shape(a, c.shape(0)[0]));
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> { return {read(c.node).idt}; };
  d.execute = [](ExecCtx& c) {
    const PadAttrs a = read(c.node);
    const Tensor& x = c.input(0);
    check_input(c.node, a, x.shape());
    const Shape os = out_shape(a, x.shape()[0]);
    const std::vector<float> xv = x.to_float();
    Tensor out(ElemType::FLOAT, os);
    float* o = out.data<float>();
    for (int64_t b = 0; b < os[0]; ++b)
      for (int64_t y = 0; y < os[1]; ++y)
        for (int64_t xx = 0; xx < os[2]; ++xx)
          for (int64_t ch = 0; ch < a.c; ++ch) {
            const int64_t iy = y - a.pad[0], ix = xx - a.pad[1];
            const bool in = iy >= 0 && iy < a.img[0] && ix >= 0 && ix < a.img[1];
            *o++ = in ? xv[((b * a.img[0] + iy) * a.img[1] + ix) * a.c + ch] : (float)a.pad_value;
          }
    c.out.resize(1);
    c.out[0] = std::move(out);
  };
  d.estimate = [](const Node& n, const Model& m) {
    const PadAttrs a = read(n);
    HwEstimate e;
    const Shape os = out_shape(a, n.get_int("numInputVectors", 1));
    // One beat per output pixel and SIMD group: padding costs cycles too.
    e.cycles = os[0] * os[1] * os[2] * (a.c / a.simd);
    // Calibrated against Yosys on the RTL core: the pad/input mux and the
    // skid's muxes (~2 LUTs per bit); FFs: the skid's two registers, the
    // row/column/channel-fold counters and a few flags.
    e.lut = 25 + 2.0 * a.simd * a.idt.bitwidth();
    e.ff = 2.0 * a.simd * a.idt.bitwidth() + hw::clog2(os[1] + 1) + hw::clog2(os[2] + 1) + hw::clog2(a.c / a.simd) + 4;
    return e;
  };
  d.schedule = [](const Node& n, const Model&) {
    // sf_fmpadding walks the output image, one beat per fire; with the sink
    // always ready the skid's registered in_tready stays high, so a beat fires
    // as soon as it is valid and leaves one cycle later. An image beat is the
    // input beat itself (beat_valid = in_tvalid, taken in the cycle it
    // fires): output latency 1 after its take, and the take waits for the
    // previous output beat to have fired, i.e. for that beat's handshake
    // (hold on the previous output beat, offset 0). Border beats fire every
    // cycle once the frame has started; the frame's leading border (top rows
    // and the first row's left pad, before `started`) starts when the frame's
    // first input beat is offered (in_tvalid), k0 cycles before it is taken:
    // need_offer on beat 0.
    const fmpadding_rtl::FMPaddingGeom g = fmpadding_rtl::fmpadding_geom(n);
    hw::Schedule s;
    s.in_beats = {g.ih * g.iw * g.cf};
    s.out_beats = {g.oh * g.ow * g.cf};
    std::vector<int64_t> need((size_t)s.out_beats[0]), offer((size_t)s.out_beats[0]), hold((size_t)s.in_beats[0]);
    int64_t j = 0;
    for (int64_t y = 0, k = 0; y < g.oh; ++y)
      for (int64_t x = 0; x < g.ow; ++x)
        for (int64_t c = 0; c < g.cf; ++c, ++k) {
          const bool img = y >= g.pt && y < g.pt + g.ih && x >= g.pl && x < g.pl + g.iw;
          if (img) {
            hold[(size_t)j] = k - 1;  // -1: the previous frame's last beat
            need[(size_t)k] = ++j;
          } else {
            need[(size_t)k] = j;
            if (j == 0) offer[(size_t)k] = 1;  // leading border: beat 0 offered
          }
        }
    s.need = {{need}};
    s.need_offer = {{offer}};
    s.latency = 1;
    s.hold = {hold};
    return s;
  };
  d.emit_rtl = fmpadding_rtl::emit;
  d.emit_hls = fmpadding_rtl::emit_hls;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_fmpadding_def());

}  // namespace sf
