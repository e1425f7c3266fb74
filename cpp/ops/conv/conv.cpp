// Conv (NCHW, 1-D/2-D/3-D, groups incl. depthwise, pads/strides/dilations,
// auto_pad, optional bias) as im2col + Eigen GEMM: the reference executor has
// to run real CNNs (batch 64, hundreds of channels) in seconds.
#include <Eigen/Core>
#include <algorithm>
#include <cstring>

#include "ops/conv/spatial.h"

namespace sf {
namespace {

using spatial::Geo3;

template <typename T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct ConvGeom {
  int64_t n, c, m, group, cg, mg;
  spatial::Window win;
  Shape out;
};

void validate_conv(const Node& n) {
  spatial::validate_window_attrs(n, false);
  if (n.get_int("group", 1) < 1)
    op_fail(n, "attribute 'group' = " + std::to_string(n.get_int("group", 1)) + " must be >= 1",
            "use group=1 for a dense convolution, group=C for depthwise");
}

ConvGeom conv_geom(const Node& nd, const Shape& x, const Shape& w, const Shape* bias) {
  validate_conv(nd);
  ConvGeom g;
  const Shape xs = spatial::spatial_dims(nd, x, "input X");
  if (w.size() != x.size())
    op_fail(nd, "weight W has shape " + shape_str(w) + " but input X has shape " + shape_str(x) + "; ranks must match",
            "W is (M, C/group, k1, ..., kn) for an (N, C, d1, ..., dn) input");
  g.n = x[0];
  g.c = x[1];
  g.m = w[0];
  g.group = nd.get_int("group", 1);
  if (g.c % g.group != 0 || w[1] * g.group != g.c)
    op_fail(nd, "input has " + std::to_string(g.c) + " channels but W " + shape_str(w) + " with group=" +
                    std::to_string(g.group) + " expects " + std::to_string(w[1] * g.group),
            "W's second axis times 'group' must equal the input channels (depthwise: group=C, W=(M, 1, ...))");
  if (g.m % g.group != 0)
    op_fail(nd, "W has " + std::to_string(g.m) + " output channels, not divisible by group=" + std::to_string(g.group),
            "the number of filters must be a multiple of 'group'");
  g.cg = g.c / g.group;
  g.mg = g.m / g.group;
  const std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (nd.has_attr("kernel_shape") && nd.get_ints("kernel_shape") != kernel)
    op_fail(nd, "attribute 'kernel_shape' " + shape_str(nd.get_ints("kernel_shape")) + " disagrees with W's spatial shape " +
                    shape_str(kernel),
            "drop kernel_shape (it is inferred from W) or make it match");
  if (bias && (bias->size() != 1 || (*bias)[0] != g.m))
    op_fail(nd, "bias B has shape " + shape_str(*bias) + ", expected (" + std::to_string(g.m) + ")",
            "the bias holds one value per output channel");
  g.win = spatial::window_geometry(nd, xs, kernel, false);
  g.out = {g.n, g.m};
  g.out.insert(g.out.end(), g.win.out.begin(), g.win.out.end());
  return g;
}

// Unrolls `nb` images of one channel group into the column matrix: row
// (c, kd, kh, kw), column (image, od, oh, ow); padding reads as zero.
template <typename T>
void im2col(const T* x, int64_t img_stride, int64_t nb, int64_t cg, const Geo3& g, T* col) {
  const int64_t osz = g.out_size(), row_len = nb * osz, isz = g.in_size();
  int64_t row = 0;
  for (int64_t c = 0; c < cg; ++c)
    for (int64_t kd = 0; kd < g.k[0]; ++kd)
      for (int64_t kh = 0; kh < g.k[1]; ++kh)
        for (int64_t kw = 0; kw < g.k[2]; ++kw, ++row) {
          T* dst_row = col + row * row_len;
          for (int64_t j = 0; j < nb; ++j) {
            const T* src = x + j * img_stride + c * isz;
            T* dst = dst_row + j * osz;
            for (int64_t od = 0; od < g.out[0]; ++od) {
              const int64_t id = od * g.s[0] - g.pb[0] + kd * g.d[0];
              for (int64_t oh = 0; oh < g.out[1]; ++oh) {
                const int64_t ih = oh * g.s[1] - g.pb[1] + kh * g.d[1];
                T* d = dst + (od * g.out[1] + oh) * g.out[2];
                if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) {
                  std::fill(d, d + g.out[2], T(0));
                  continue;
                }
                const T* s = src + (id * g.in[1] + ih) * g.in[2];
                const int64_t off = kw * g.d[2] - g.pb[2];
                for (int64_t ow = 0; ow < g.out[2]; ++ow) {
                  const int64_t iw = ow * g.s[2] + off;
                  d[ow] = (iw >= 0 && iw < g.in[2]) ? s[iw] : T(0);
                }
              }
            }
          }
        }
}

template <typename T>
Tensor conv_typed(const Node& nd, const Tensor& x, const Tensor& w, const Tensor* b) {
  const ConvGeom cg = conv_geom(nd, x.shape(), w.shape(), b ? &b->shape() : nullptr);
  const Geo3 g = spatial::to_geo3(nd, cg.win);
  Tensor y(x.type(), cg.out);
  if (y.numel() == 0) return y;
  const T* px = x.data<T>();
  const T* pw = w.data<T>();
  T* py = y.data<T>();
  const int64_t kdim = cg.cg * g.k_size(), osz = g.out_size(), isz = g.in_size();
  const bool pointwise = g.k_size() == 1 && g.s[0] == 1 && g.s[1] == 1 && g.s[2] == 1 && g.pb[0] == 0 &&
                         g.pb[1] == 0 && g.pb[2] == 0 && osz == isz;
  // Batch several images into one GEMM when the spatial output is small, so
  // deep layers (6x6 maps) still give Eigen wide enough matrices.
  const int64_t max_col_elems = (int64_t)(32u << 20) / (int64_t)sizeof(T);
  int64_t nb = std::max<int64_t>(1, std::min<int64_t>(cg.n, (512 + osz - 1) / osz));
  while (nb > 1 && kdim * nb * osz > max_col_elems) --nb;
  std::vector<T> col(pointwise && nb == 1 ? 0 : (size_t)(kdim * nb * osz));
  std::vector<T> tmp(nb > 1 ? (size_t)(cg.mg * nb * osz) : 0);
  for (int64_t n0 = 0; n0 < cg.n; n0 += nb) {
    const int64_t cnt = std::min(nb, cg.n - n0);
    for (int64_t grp = 0; grp < cg.group; ++grp) {
      const T* xg = px + (n0 * cg.c + grp * cg.cg) * isz;
      const T* colp = xg;
      if (!(pointwise && nb == 1)) {
        im2col<T>(xg, cg.c * isz, cnt, cg.cg, g, col.data());
        colp = col.data();
      }
      Eigen::Map<const RowMat<T>> W(pw + grp * cg.mg * kdim, cg.mg, kdim);
      Eigen::Map<const RowMat<T>> COL(colp, kdim, cnt * osz);
      if (nb == 1) {
        Eigen::Map<RowMat<T>> Y(py + (n0 * cg.m + grp * cg.mg) * osz, cg.mg, osz);
        Y.noalias() = W * COL;
      } else {
        Eigen::Map<RowMat<T>> TMP(tmp.data(), cg.mg, cnt * osz);
        TMP.noalias() = W * COL;
        for (int64_t j = 0; j < cnt; ++j)
          for (int64_t m = 0; m < cg.mg; ++m)
            std::memcpy(py + ((n0 + j) * cg.m + grp * cg.mg + m) * osz, tmp.data() + (m * cnt + j) * osz,
                        (size_t)osz * sizeof(T));
      }
    }
  }
  if (b) {
    const T* pb = b->data<T>();
    for (int64_t n = 0; n < cg.n; ++n)
      for (int64_t m = 0; m < cg.m; ++m) {
        T* row = py + (n * cg.m + m) * osz;
        const T bv = pb[m];
        for (int64_t i = 0; i < osz; ++i) row[i] += bv;
      }
  }
  return y;
}

OpDef make_conv() {
  OpDef d;
  d.op_type = "Conv";
  d.domain = OpDomain::ONNX;
  d.min_inputs = 2;
  d.max_inputs = 3;
  d.validate = validate_conv;
  d.infer_shape = [](InferCtx& c) {
    Shape bs;
    const bool has_b = c.has_input(2);
    if (has_b) bs = c.shape(2);
    const ConvGeom g = conv_geom(c.node, c.shape(0), c.shape(1), has_b ? &bs : nullptr);
    spatial::to_geo3(c.node, g.win);
    math::set_out_if(c, 0, c.in[0].elem_type, g.out);
  };
  d.infer_datatype = [](const DataTypeCtx& c) { return math::mac_datatype(c, false); };
  d.execute = math::promote_f16([](ExecCtx& c) {
    const Tensor& x = c.input(0);
    const Tensor& w = c.input(1);
    const Tensor* b = c.has_input(2) ? &c.input(2) : nullptr;
    math::require_same_type(c.node, x, w, 0, 1);
    if (b) math::require_same_type(c.node, x, *b, 0, 2);
    math::dispatch_float(x.type(), c.node, [&](auto tag) {
      using T = decltype(tag);
      math::set_output(c, 0, conv_typed<T>(c.node, x, w, b));
    });
  });
  return d;
}

}  // namespace

SF_REGISTER_OP(make_conv());

}  // namespace sf
