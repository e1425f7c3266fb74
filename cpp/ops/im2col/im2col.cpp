// QONNX Im2Col: the sliding-window unroll that LowerConvsToMatMul puts in
// front of a MatMul. Input NHWC (N,H,W,C); output (N,OH,OW,KH*KW*C) with the
// inner order (kh, kw, c), matching the weight layout the lowering produces.
// Padding pixels hold pad_value. A height or width of 1 is a 1-D conv: its
// kernel and padding must then be 1 and 0 along that axis, as in qonnx.
#include <cctype>
#include <cstring>
#include <fmt/format.h>

#include "ops/op.h"

namespace sf {
namespace {

struct Im2ColAttrs {
  int64_t sh, sw, kh, kw, dh, dw;
  int64_t pt, pl, pb, pr;  // pad_amount: [top, left, bottom, right]
  int64_t pad_value;
};

std::string ints_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

std::vector<int64_t> pair_attr(const Node& n, const char* name, const std::vector<int64_t>* dflt) {
  std::vector<int64_t> v = dflt ? n.get_ints(name, *dflt) : n.get_ints(name);
  if (v.size() != 2 || v[0] < 1 || v[1] < 1)
    op_fail(n, fmt::format("attribute '{}' = {} must be two integers >= 1 (height, width)", name, ints_str(v)),
            fmt::format("set {} = [h, w]", name));
  return v;
}

Im2ColAttrs read_attrs(const Node& n) {
  static const std::vector<int64_t> one_one = {1, 1}, no_pad = {0, 0, 0, 0};
  Im2ColAttrs a{};
  auto st = pair_attr(n, "stride", nullptr), k = pair_attr(n, "kernel_size", nullptr),
       d = pair_attr(n, "dilations", &one_one);
  a.sh = st[0], a.sw = st[1], a.kh = k[0], a.kw = k[1], a.dh = d[0], a.dw = d[1];
  std::vector<int64_t> p = n.get_ints("pad_amount", no_pad);
  if (p.size() != 4 || p[0] < 0 || p[1] < 0 || p[2] < 0 || p[3] < 0)
    op_fail(n, fmt::format("attribute 'pad_amount' = {} must be four integers >= 0", ints_str(p)),
            "pad_amount is [top, left, bottom, right]");
  a.pt = p[0], a.pl = p[1], a.pb = p[2], a.pr = p[3];
  a.pad_value = n.get_int("pad_value", 0);
  int64_t dw = n.get_int("depthwise", 0);
  if (dw != 0 && dw != 1)
    op_fail(n, fmt::format("attribute 'depthwise' = {} must be 0 or 1", dw), "set depthwise to 0 or 1");
  return a;
}

// "(1, H, W, C)" as qonnx writes it; nullopt when absent.
std::optional<Shape> input_shape_attr(const Node& n) {
  if (!n.has_attr("input_shape")) return std::nullopt;
  const std::string s = n.get_string("input_shape");
  Shape dims;
  std::string cur;
  bool ok = true;
  for (char ch : s + ",") {
    if (ch == '(' || ch == ')' || ch == '[' || ch == ']' || std::isspace((unsigned char)ch)) continue;
    if (ch == ',') {
      if (cur.empty()) continue;  // "(1,4,4,3,)" and the sentinel comma
      try {
        size_t used = 0;
        dims.push_back(std::stoll(cur, &used));
        ok = ok && used == cur.size() && dims.back() >= 1;
      } catch (const std::exception&) {
        ok = false;
      }
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!ok || dims.size() != 4)
    op_fail(n, fmt::format("attribute 'input_shape' = \"{}\" is not a 4-D NHWC shape", s),
            "write it as \"(1, H, W, C)\"");
  return dims;
}

// qonnx's int((in + pads - dil*(k-1) - 1) / stride + 1), which truncates.
int64_t out_dim(int64_t in, int64_t k, int64_t stride, int64_t pads, int64_t dil) {
  return (int64_t)((double)(in + pads - dil * (k - 1) - 1) / (double)stride + 1.0);
}

Shape im2col_shape(const Node& n, const Im2ColAttrs& a, const Shape& x) {
  if (x.size() != 4)
    op_fail(n, fmt::format("input has shape {}, expected NHWC (N, H, W, C)", shape_str(x)),
            "Im2Col works on 4-D channels-last tensors; transpose NCHW data first");
  const int64_t h = x[1], w = x[2], c = x[3];
  if (h == 1 && (a.kh != 1 || a.pt + a.pb != 0))
    op_fail(n, fmt::format("input height is 1 but kernel_size/pad_amount use the height axis (kernel {}, pads {}+{})",
                           a.kh, a.pt, a.pb),
            "for a 1-D input (N, 1, W, C) use kernel height 1 and no top/bottom padding");
  if (w == 1 && (a.kw != 1 || a.pl + a.pr != 0))
    op_fail(n, fmt::format("input width is 1 but kernel_size/pad_amount use the width axis (kernel {}, pads {}+{})",
                           a.kw, a.pl, a.pr),
            "for a 1-D input (N, H, 1, C) use kernel width 1 and no left/right padding");
  const int64_t oh = out_dim(h, a.kh, a.sh, a.pt + a.pb, a.dh), ow = out_dim(w, a.kw, a.sw, a.pl + a.pr, a.dw);
  if (oh < 1 || ow < 1 || h + a.pt + a.pb < a.dh * (a.kh - 1) + 1 || w + a.pl + a.pr < a.dw * (a.kw - 1) + 1)
    op_fail(n,
            fmt::format("the dilated {}x{} kernel does not fit the padded {}x{} input", a.kh, a.kw, h + a.pt + a.pb,
                        w + a.pl + a.pr),
            "reduce kernel_size or dilations, or add padding");
  return {x[0], oh, ow, a.kh * a.kw * c};
}

void im2col_execute(ExecCtx& c) {
  const Node& n = c.node;
  const Tensor& x = c.input(0);
  const Im2ColAttrs a = read_attrs(n);
  const Shape os = im2col_shape(n, a, x.shape());
  const int64_t N = x.shape()[0], H = x.shape()[1], W = x.shape()[2], C = x.shape()[3];
  const int64_t OH = os[1], OW = os[2];
  const size_t es = elem_size(x.type());
  // The pad value in the tensor's own element type (np.pad casts the same way).
  const Tensor pad = Tensor::scalar<double>((double)a.pad_value).cast(x.type());
  const auto* src = static_cast<const uint8_t*>(x.raw());
  const auto* padv = static_cast<const uint8_t*>(pad.raw());
  Tensor out(x.type(), os);
  auto* dst = static_cast<uint8_t*>(out.raw());
  const size_t row = (size_t)C * es;
  for (int64_t b = 0; b < N; ++b)
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox)
        for (int64_t ky = 0; ky < a.kh; ++ky)
          for (int64_t kx = 0; kx < a.kw; ++kx) {
            const int64_t iy = oy * a.sh + ky * a.dh - a.pt, ix = ox * a.sw + kx * a.dw - a.pl;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W) {
              std::memcpy(dst, src + (((b * H + iy) * W + ix) * C) * es, row);
            } else {
              for (int64_t ch = 0; ch < C; ++ch) std::memcpy(dst + ch * es, padv, es);
            }
            dst += row;
          }
  c.out.resize(1);
  c.out[0] = std::move(out);
}

OpDef make_im2col_def() {
  OpDef d;
  d.op_type = "Im2Col";
  d.domain = OpDomain::QONNX;
  d.min_inputs = 1;
  d.max_inputs = 1;
  d.validate = [](const Node& n) {
    read_attrs(n);
    input_shape_attr(n);
  };
  d.infer_shape = [](InferCtx& c) {
    const Im2ColAttrs a = read_attrs(c.node);
    const std::optional<Shape> attr = input_shape_attr(c.node);
    const std::optional<Shape>& real = c.in.empty() ? std::nullopt : c.in[0].shape;
    if (real && attr && real->size() == 4 &&
        ((*real)[1] != (*attr)[1] || (*real)[2] != (*attr)[2] || (*real)[3] != (*attr)[3]))
      op_fail(c.node,
              fmt::format("attribute 'input_shape' = \"{}\" disagrees with the input's shape {}",
                          c.node.get_string("input_shape"), shape_str(*real)),
              "set input_shape to the actual (1, H, W, C) of the input");
    if (!real && !attr) c.shape(0);  // raises the usual unknown-shape error
    const ElemType et = c.in.empty() || c.in[0].elem_type == ElemType::UNDEFINED ? ElemType::FLOAT : c.in[0].elem_type;
    c.set_out(0, et, im2col_shape(c.node, a, real ? *real : *attr));
  };
  // Pure data movement keeps the input's datatype, as long as the padding
  // value is one of its values (qonnx asserts the same).
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> {
    const DataType idt = c.in.empty() ? DataType() : c.in[0];
    const Im2ColAttrs a = read_attrs(c.node);
    if (a.pt + a.pl + a.pb + a.pr > 0 && !idt.allowed((double)a.pad_value))
      op_fail(c.node, fmt::format("pad_value {} is not a value of the input datatype {}", a.pad_value, idt.name()),
              "choose a pad_value the input type can hold (e.g. 0 for unsigned, -1 for BIPOLAR)");
    return {idt};
  };
  d.execute = im2col_execute;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_im2col_def());

}  // namespace sf
