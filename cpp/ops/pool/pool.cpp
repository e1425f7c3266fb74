// MaxPool (with optional Indices), AveragePool, GlobalAveragePool and
// GlobalMaxPool over 1-D, 2-D and 3-D NC... inputs.
#include <algorithm>
#include <limits>

#include "ops/conv/spatial.h"

namespace sf {
namespace {

using spatial::Geo3;

void validate_pool(const Node& n) {
  spatial::validate_window_attrs(n, true);
  const int64_t cm = n.get_int("ceil_mode", 0);
  if (cm != 0 && cm != 1) op_fail(n, "attribute 'ceil_mode' = " + std::to_string(cm) + ", expected 0 or 1", "set it to 0 or 1");
  if (n.op_type == "MaxPool") {
    const int64_t so = n.get_int("storage_order", 0);
    if (so != 0 && so != 1)
      op_fail(n, "attribute 'storage_order' = " + std::to_string(so) + ", expected 0 (row major) or 1 (column major)",
              "set it to 0 or 1");
  }
}

spatial::Window pool_window(const Node& n, const Shape& x) {
  validate_pool(n);
  const Shape xs = spatial::spatial_dims(n, x, "input X");
  const std::vector<int64_t> k = n.get_ints("kernel_shape");
  spatial::Window w = spatial::window_geometry(n, xs, k, n.get_int("ceil_mode", 0) != 0);
  // onnxruntime rejects this too: a window could then see padding only.
  for (size_t i = 0; i < w.nsp; ++i)
    if (w.pad_b[i] >= k[i] || w.pad_e[i] >= k[i])
      op_fail(n, "pads " + shape_str(n.get_ints("pads", {})) + " are not smaller than kernel_shape " + shape_str(k),
              "each pad must be smaller than the window on its axis");
  return w;
}

Shape pool_out_shape(const Shape& x, const spatial::Window& w) {
  Shape o{x[0], x[1]};
  o.insert(o.end(), w.out.begin(), w.out.end());
  return o;
}

// Calls f(offset_in_plane, d, h, w) for every tap of the window at output
// position (od, oh, ow) that lies inside the input.
template <typename F>
void for_taps(const Geo3& g, int64_t od, int64_t oh, int64_t ow, F&& f) {
  for (int64_t kd = 0; kd < g.k[0]; ++kd) {
    const int64_t id = od * g.s[0] - g.pb[0] + kd * g.d[0];
    if (id < 0 || id >= g.in[0]) continue;
    for (int64_t kh = 0; kh < g.k[1]; ++kh) {
      const int64_t ih = oh * g.s[1] - g.pb[1] + kh * g.d[1];
      if (ih < 0 || ih >= g.in[1]) continue;
      for (int64_t kw = 0; kw < g.k[2]; ++kw) {
        const int64_t iw = ow * g.s[2] - g.pb[2] + kw * g.d[2];
        if (iw < 0 || iw >= g.in[2]) continue;
        f((id * g.in[1] + ih) * g.in[2] + iw, id, ih, iw);
      }
    }
  }
}

// Taps inside the padded extent [-pad_b, in + pad_e) on one axis: the
// count_include_pad divisor, which excludes any ceil_mode overhang.
int64_t padded_taps(int64_t o, int64_t s, int64_t pb, int64_t pe, int64_t k, int64_t d, int64_t in) {
  int64_t cnt = 0;
  for (int64_t t = 0; t < k; ++t) {
    const int64_t p = o * s - pb + t * d;
    cnt += (p >= -pb && p < in + pe);
  }
  return cnt;
}

template <typename T>
void maxpool_typed(ExecCtx& c, const spatial::Window& w) {
  const Node& n = c.node;
  const Tensor& x = c.input(0);
  const Geo3 g = spatial::to_geo3(n, w);
  const Shape os = pool_out_shape(x.shape(), w);
  Tensor y(x.type(), os);
  const bool want_idx = math::output_wanted(n, 1);
  Tensor idx(ElemType::INT64, want_idx ? os : Shape{0});
  const bool col_major = n.get_int("storage_order", 0) == 1;
  const int64_t planes = x.shape()[0] * x.shape()[1], isz = g.in_size(), osz = g.out_size();
  const T* px = x.data<T>();
  T* py = y.data<T>();
  int64_t* pi = want_idx ? idx.data<int64_t>() : nullptr;
  for (int64_t p = 0; p < planes; ++p) {
    const T* src = px + p * isz;
    int64_t o = p * osz;
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
          T best = std::numeric_limits<T>::lowest();
          int64_t bi = -1, bd = 0, bh = 0, bw = 0;
          for_taps(g, od, oh, ow, [&](int64_t off, int64_t id, int64_t ih, int64_t iw) {
            if (bi < 0 || src[off] > best) {
              best = src[off];
              bi = off;
              bd = id;
              bh = ih;
              bw = iw;
            }
          });
          py[o] = best;
          if (pi) {
            // Column-major storage order flips the spatial axes' weights.
            const int64_t local = col_major ? bd + bh * g.in[0] + bw * g.in[0] * g.in[1] : bi;
            pi[o] = bi < 0 ? -1 : p * isz + local;
          }
        }
  }
  math::set_output(c, 0, std::move(y));
  if (want_idx) math::set_output(c, 1, std::move(idx));
}

template <typename T>
void avgpool_typed(ExecCtx& c, const spatial::Window& w) {
  const Node& n = c.node;
  const Tensor& x = c.input(0);
  const Geo3 g = spatial::to_geo3(n, w);
  Tensor y(x.type(), pool_out_shape(x.shape(), w));
  const bool include_pad = n.get_int("count_include_pad", 0) != 0;
  const int64_t planes = x.shape()[0] * x.shape()[1], isz = g.in_size();
  const T* px = x.data<T>();
  T* py = y.data<T>();
  // Divisors depend only on the output position, not on the plane.
  std::vector<T> div(g.out_size());
  for (int64_t od = 0, o = 0; od < g.out[0]; ++od)
    for (int64_t oh = 0; oh < g.out[1]; ++oh)
      for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
        int64_t cnt = 0;
        if (include_pad) {
          cnt = padded_taps(od, g.s[0], g.pb[0], g.pe[0], g.k[0], g.d[0], g.in[0]) *
                padded_taps(oh, g.s[1], g.pb[1], g.pe[1], g.k[1], g.d[1], g.in[1]) *
                padded_taps(ow, g.s[2], g.pb[2], g.pe[2], g.k[2], g.d[2], g.in[2]);
        } else {
          for_taps(g, od, oh, ow, [&](int64_t, int64_t, int64_t, int64_t) { ++cnt; });
        }
        div[o] = (T)std::max<int64_t>(cnt, 1);
      }
  for (int64_t p = 0; p < planes; ++p) {
    const T* src = px + p * isz;
    T* dst = py + p * g.out_size();
    for (int64_t od = 0, o = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
          T s = 0;
          for_taps(g, od, oh, ow, [&](int64_t off, int64_t, int64_t, int64_t) { s += src[off]; });
          dst[o] = s / div[o];
        }
  }
  math::set_output(c, 0, std::move(y));
}

OpDef make_pool(const char* name, bool is_max) {
  OpDef d;
  d.op_type = name;
  d.domain = OpDomain::ONNX;
  d.min_inputs = d.max_inputs = 1;
  d.validate = validate_pool;
  d.infer_shape = [is_max](InferCtx& c) {
    const spatial::Window w = pool_window(c.node, c.shape(0));
    spatial::to_geo3(c.node, w);
    const Shape os = pool_out_shape(c.shape(0), w);
    math::set_out_if(c, 0, c.in[0].elem_type, os);
    if (is_max) math::set_out_if(c, 1, ElemType::INT64, os);
  };
  d.infer_datatype = is_max ? math::same_as_input0 : math::keep_or_float;
  d.execute = math::promote_f16([is_max](ExecCtx& c) {
    const spatial::Window w = pool_window(c.node, c.input(0).shape());
    math::dispatch_float(c.input(0).type(), c.node, [&](auto tag) {
      using T = decltype(tag);
      if (is_max) maxpool_typed<T>(c, w);
      else avgpool_typed<T>(c, w);
    });
  });
  return d;
}

// ---- Global pools -----------------------------------------------------------

Shape global_out_shape(const Node& n, const Shape& x) {
  if (x.size() < 2)
    op_fail(n, "input has shape " + shape_str(x) + ", expected (N, C, spatial...)", "give the input batch and channel axes");
  Shape o(x.size(), 1);
  o[0] = x[0];
  o[1] = x[1];
  return o;
}

template <typename T>
void global_typed(ExecCtx& c, bool is_max) {
  const Tensor& x = c.input(0);
  const Shape os = global_out_shape(c.node, x.shape());
  Tensor y(x.type(), os);
  const int64_t planes = os[0] * os[1];
  const int64_t plane = planes ? x.numel() / planes : 0;
  const T* px = x.data<T>();
  T* py = y.data<T>();
  for (int64_t p = 0; p < planes; ++p) {
    const T* s = px + p * plane;
    if (is_max) {
      T m = std::numeric_limits<T>::lowest();
      for (int64_t i = 0; i < plane; ++i) m = std::max(m, s[i]);
      py[p] = m;
    } else {
      T acc = 0;
      for (int64_t i = 0; i < plane; ++i) acc += s[i];
      py[p] = plane ? acc / (T)plane : T(0);
    }
  }
  math::set_output(c, 0, std::move(y));
}

OpDef make_global(const char* name, bool is_max) {
  OpDef d;
  d.op_type = name;
  d.domain = OpDomain::ONNX;
  d.min_inputs = d.max_inputs = 1;
  d.infer_shape = [](InferCtx& c) {
    math::set_out_if(c, 0, c.in[0].elem_type, global_out_shape(c.node, c.shape(0)));
  };
  d.infer_datatype = is_max ? math::same_as_input0 : math::keep_or_float;
  d.execute = math::promote_f16([is_max](ExecCtx& c) {
    math::dispatch_float(c.input(0).type(), c.node, [&](auto tag) { global_typed<decltype(tag)>(c, is_max); });
  });
  return d;
}

}  // namespace

SF_REGISTER_OP(make_pool("MaxPool", true));
SF_REGISTER_OP(make_pool("AveragePool", false));
SF_REGISTER_OP(make_global("GlobalMaxPool", true));
SF_REGISTER_OP(make_global("GlobalAveragePool", false));

}  // namespace sf
