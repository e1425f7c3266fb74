// Resize (opset 10+) and Upsample (opset 7-9), nearest mode.
//
// Output sizes and source coordinates are computed in float32 with the same
// expressions onnxruntime uses, because nearest-neighbour picks flip on
// rounding: a double computation would disagree with onnxruntime (the
// reference of qonnx/FINN) on some scale/size pairs. Shapes (any mode) are
// inferred; executing 'linear'/'cubic' raises UnsupportedOpError.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>

#include "ops/reshape/movement.h"

namespace sf {
namespace {
using namespace movement;

enum class Coord { HALF_PIXEL, ASYMMETRIC, PYTORCH_HALF_PIXEL, TF_HALF_PIXEL_FOR_NN, ALIGN_CORNERS,
                   TF_CROP_AND_RESIZE, HALF_PIXEL_SYMMETRIC };
// SIMPLE: Upsample and Resize-10, which had no nearest_mode: truncate when
// upsampling, ceil when downsampling.
enum class Nearest { SIMPLE, ROUND_PREFER_FLOOR, ROUND_PREFER_CEIL, FLOOR, CEIL };
enum class Policy { STRETCH, NOT_LARGER, NOT_SMALLER };

struct ResizeCfg {
  bool upsample = false;
  std::string mode;
  Coord coord = Coord::ASYMMETRIC;
  Nearest nearest = Nearest::SIMPLE;
  Policy policy = Policy::STRETCH;
  float extrapolation = 0.f;
  std::vector<int64_t> axes;  // opset 18 'axes' as given (normalized per input rank later)
  int roi_idx = -1, scales_idx = -1, sizes_idx = -1;
};

ResizeCfg resize_cfg(const Node& n, int64_t opset, bool upsample) {
  ResizeCfg c;
  c.upsample = upsample;
  c.mode = n.get_string("mode", "nearest");
  if (c.mode != "nearest" && c.mode != "linear" && c.mode != "cubic" && !(upsample && c.mode == "bilinear"))
    op_fail(n, fmt::format("mode = '{}' is not a {} mode", c.mode, upsample ? "Upsample" : "Resize"),
            "use 'nearest', 'linear' or 'cubic'");
  if (upsample) {
    c.scales_idx = 1;
    return c;
  }
  if (opset <= 10) {
    c.scales_idx = 1;
    return c;
  }
  c.roi_idx = 1;
  c.scales_idx = 2;
  c.sizes_idx = 3;
  const std::string ct = n.get_string("coordinate_transformation_mode", "half_pixel");
  if (ct == "half_pixel") c.coord = Coord::HALF_PIXEL;
  else if (ct == "asymmetric") c.coord = Coord::ASYMMETRIC;
  else if (ct == "pytorch_half_pixel") c.coord = Coord::PYTORCH_HALF_PIXEL;
  else if (ct == "tf_half_pixel_for_nn") c.coord = Coord::TF_HALF_PIXEL_FOR_NN;
  else if (ct == "align_corners") c.coord = Coord::ALIGN_CORNERS;
  else if (ct == "tf_crop_and_resize") c.coord = Coord::TF_CROP_AND_RESIZE;
  else if (ct == "half_pixel_symmetric") c.coord = Coord::HALF_PIXEL_SYMMETRIC;
  else
    op_fail(n, fmt::format("coordinate_transformation_mode = '{}' is not known", ct),
            "use half_pixel, asymmetric, align_corners, pytorch_half_pixel, half_pixel_symmetric, "
            "tf_half_pixel_for_nn or tf_crop_and_resize");
  const std::string nm = n.get_string("nearest_mode", "round_prefer_floor");
  if (nm == "round_prefer_floor") c.nearest = Nearest::ROUND_PREFER_FLOOR;
  else if (nm == "round_prefer_ceil") c.nearest = Nearest::ROUND_PREFER_CEIL;
  else if (nm == "floor") c.nearest = Nearest::FLOOR;
  else if (nm == "ceil") c.nearest = Nearest::CEIL;
  else
    op_fail(n, fmt::format("nearest_mode = '{}' is not known", nm),
            "use round_prefer_floor, round_prefer_ceil, floor or ceil");
  const std::string pol = n.get_string("keep_aspect_ratio_policy", "stretch");
  if (pol == "stretch") c.policy = Policy::STRETCH;
  else if (pol == "not_larger") c.policy = Policy::NOT_LARGER;
  else if (pol == "not_smaller") c.policy = Policy::NOT_SMALLER;
  else
    op_fail(n, fmt::format("keep_aspect_ratio_policy = '{}' is not known", pol),
            "use stretch, not_larger or not_smaller");
  c.extrapolation = n.get_float("extrapolation_value", 0.f);
  c.axes = n.get_ints("axes", {});
  return c;
}

struct ResizePlan {
  Shape out;
  std::vector<float> scales, roi;  // per axis; roi: starts then ends
};

// Spreads per-'axes' values over all axes (others get `fill`).
std::vector<float> spread(const Node& n, const std::vector<float>& v, const std::vector<int64_t>& axes, size_t rank,
                          float fill, const char* what) {
  if (axes.empty()) {
    if (v.size() != rank)
      op_fail(n, fmt::format("'{}' has {} values for an input of rank {}", what, v.size(), rank),
              fmt::format("give one {} value per input axis", what));
    return v;
  }
  if (v.size() != axes.size())
    op_fail(n, fmt::format("'{}' has {} values but 'axes' lists {} axes", what, v.size(), axes.size()),
            "give one value per entry of 'axes'");
  std::vector<float> r(rank, fill);
  for (size_t i = 0; i < axes.size(); ++i) r[axes[i]] = v[i];
  return r;
}

ResizePlan resize_plan(const Node& n, const ResizeCfg& cfg, const Shape& in, const Tensor* roi_t,
                       const Tensor* scales_t, const Tensor* sizes_t) {
  const size_t r = in.size();
  if (r == 0) op_fail(n, "input is a scalar; there is nothing to resize", "resize tensors of rank >= 1");
  const std::vector<int64_t> axes = norm_axes(n, cfg.axes, (int64_t)r, "axes");
  const bool has_scales = scales_t && scales_t->numel() > 0, has_sizes = sizes_t && sizes_t->numel() > 0;
  if (has_scales == has_sizes)
    op_fail(n, has_scales ? "both 'scales' and 'sizes' are given" : "neither 'scales' nor 'sizes' is given",
            "give exactly one of them (leave the other input empty)");
  ResizePlan p;
  p.out = in;
  if (has_sizes) {
    std::vector<int64_t> sz = sizes_t->to_int64();
    if (!axes.empty() && sz.size() != axes.size())
      op_fail(n, fmt::format("'sizes' has {} values but 'axes' lists {} axes", sz.size(), axes.size()),
              "give one size per entry of 'axes'");
    std::vector<int64_t> full = in;
    if (axes.empty()) {
      if (sz.size() != r)
        op_fail(n, fmt::format("'sizes' has {} values for an input of rank {}", sz.size(), r),
                "give one size per input axis");
      full = sz;
    } else {
      for (size_t i = 0; i < axes.size(); ++i) full[axes[i]] = sz[i];
    }
    p.scales.assign(r, 1.f);
    for (size_t d = 0; d < r; ++d) {
      if (full[d] < 0)
        op_fail(n, fmt::format("'sizes' {} has a negative size", ints_str(sz)), "use sizes >= 0");
      if (in[d] == 0) {
        if (full[d] != 0)
          op_fail(n, fmt::format("axis {} is empty but 'sizes' asks for {}", d, full[d]), "an empty axis stays empty");
      } else {
        p.scales[d] = (float)full[d] / (float)in[d];
      }
    }
    p.out = full;
    if (cfg.policy != Policy::STRETCH) {
      auto on = [&](size_t d) { return axes.empty() || std::find(axes.begin(), axes.end(), (int64_t)d) != axes.end(); };
      float s = cfg.policy == Policy::NOT_LARGER ? std::numeric_limits<float>::max() : 0.f;
      for (size_t d = 0; d < r; ++d)
        if (on(d)) s = cfg.policy == Policy::NOT_LARGER ? std::min(s, p.scales[d]) : std::max(s, p.scales[d]);
      for (size_t d = 0; d < r; ++d) {
        p.scales[d] = on(d) ? s : 1.f;
        p.out[d] = on(d) ? (int64_t)std::round(s * (float)in[d]) : in[d];
      }
    }
  } else {
    p.scales = spread(n, scales_t->to_float(), axes, r, 1.f, "scales");
    for (size_t d = 0; d < r; ++d) {
      const float s = p.scales[d];
      if (!(cfg.upsample ? s >= 1.f : s > 0.f) || !std::isfinite(s))
        op_fail(n, fmt::format("scales[{}] = {} is invalid", d, s),
                cfg.upsample ? "Upsample scales must be >= 1 (use Resize to downsample)" : "scales must be > 0");
      const float o = s * (float)in[d];
      if (o >= 9.0e15f)
        op_fail(n, fmt::format("scales[{}] = {} makes axis {} absurdly large", d, s, d), "check the scales");
      p.out[d] = (int64_t)o;
    }
  }
  p.roi.assign(2 * r, 0.f);
  for (size_t d = 0; d < r; ++d) p.roi[r + d] = 1.f;
  if (cfg.coord == Coord::TF_CROP_AND_RESIZE && roi_t && roi_t->numel() > 0) {
    std::vector<float> v = roi_t->to_float();
    const size_t k = axes.empty() ? r : axes.size();
    if (v.size() != 2 * k)
      op_fail(n, fmt::format("'roi' has {} values, expected {}", v.size(), 2 * k),
              "roi lists all starts, then all ends (normalized coordinates)");
    for (size_t i = 0; i < k; ++i) {
      const size_t d = axes.empty() ? i : (size_t)axes[i];
      p.roi[d] = v[i];
      p.roi[r + d] = v[k + i];
    }
  }
  return p;
}

float original_coord(Coord c, float x, float scale, float len_out, float len_in, float roi_s, float roi_e) {
  switch (c) {
    case Coord::ASYMMETRIC: return x / scale;
    case Coord::PYTORCH_HALF_PIXEL: return len_out > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
    case Coord::TF_HALF_PIXEL_FOR_NN: return (x + 0.5f) / scale;
    case Coord::ALIGN_CORNERS: return len_out == 1 ? 0.f : x * (len_in - 1) / (len_out - 1);
    case Coord::TF_CROP_AND_RESIZE:
      return len_out > 1 ? roi_s * (len_in - 1) + (x * (roi_e - roi_s) * (len_in - 1)) / (len_out - 1)
                         : (float)(0.5 * (roi_s + roi_e) * (len_in - 1));
    case Coord::HALF_PIXEL_SYMMETRIC: {
      const float adjustment = len_out / (scale * len_in);
      const float offset = len_in / 2 * (1 - adjustment);
      return (float)(offset + (x + 0.5) / scale - 0.5);
    }
    case Coord::HALF_PIXEL: break;
  }
  return (x + 0.5f) / scale - 0.5f;
}

int64_t nearest_index(Nearest m, float x, bool downsample) {
  // Keeps the float -> int64 conversions defined for absurd coordinates;
  // the result is clamped to the axis anyway.
  x = std::clamp(x, -1.0e15f, 1.0e15f);
  switch (m) {
    case Nearest::SIMPLE: return downsample ? (int64_t)std::ceil(x) : (int64_t)x;
    case Nearest::ROUND_PREFER_CEIL: return (int64_t)std::round(x);
    case Nearest::FLOOR: return (int64_t)std::floor(x);
    case Nearest::CEIL: return (int64_t)std::ceil(x);
    case Nearest::ROUND_PREFER_FLOOR: break;
  }
  if (x == (float)(int64_t)x + 0.5f) return (int64_t)std::floor(x);
  return (int64_t)std::round(x);
}

void resize_execute(ExecCtx& c, bool upsample) {
  const Node& n = c.node;
  const ResizeCfg cfg = resize_cfg(n, opset_of(c), upsample);
  const Tensor& x = c.input(0);
  if (cfg.mode != "nearest")
    throw UnsupportedOpError(
        fmt::format("node {}: {} mode '{}' is not supported by the reference executor (only 'nearest')", n.label(),
                    n.op_type, cfg.mode),
        "use mode='nearest' (e.g. nn.Upsample(mode='nearest') in PyTorch), or run this part of the model in "
        "onnxruntime",
        n.name, n.op_type, n.domain);
  auto opt = [&](int i) -> const Tensor* { return i >= 0 && c.has_input((size_t)i) ? c.in[(size_t)i] : nullptr; };
  std::vector<float> attr_scales;
  Tensor attr_t;
  const Tensor* scales_t = opt(cfg.scales_idx);
  if (upsample && !scales_t) {
    attr_scales = n.get_floats("scales", {});
    attr_t = Tensor::from_vector<float>({(int64_t)attr_scales.size()}, attr_scales);
    scales_t = &attr_t;
  }
  ResizePlan p = resize_plan(n, cfg, x.shape(), opt(cfg.roi_idx), scales_t, opt(cfg.sizes_idx));
  const Shape& in = x.shape();
  const size_t r = in.size();
  std::vector<int64_t> st = strides_of(in);
  std::vector<std::vector<int64_t>> maps(r);
  for (size_t d = 0; d < r; ++d) {
    auto& m = maps[d];
    m.resize((size_t)p.out[d]);
    // onnxruntime skips the coordinate transform on unscaled axes (visible
    // with tf_crop_and_resize, and with tf_half_pixel_for_nn under ceil
    // rounding); match it.
    const bool identity = p.scales[d] == 1.0f;
    for (int64_t o = 0; o < p.out[d]; ++o) {
      if (identity) {
        m[o] = std::min(o, in[d] - 1) * st[d];
        continue;
      }
      const float xo = original_coord(cfg.coord, (float)o, p.scales[d], (float)p.out[d], (float)in[d], p.roi[d],
                                       p.roi[r + d]);
      if (cfg.coord == Coord::TF_CROP_AND_RESIZE && (xo < 0 || xo > (float)(in[d] - 1))) {
        m[o] = -1;
        continue;
      }
      int64_t i = nearest_index(cfg.nearest, xo, p.scales[d] < 1.f);
      m[o] = std::clamp<int64_t>(i, 0, in[d] - 1) * st[d];
    }
  }
  std::vector<uint8_t> fill = scalar_bytes(x.type(), cfg.extrapolation);
  c.out.resize(n.outputs.size());
  c.out[0] = Tensor(x.type(), p.out);
  copy_mapped(x, maps, fill.data(), c.out[0]);
}

void resize_infer(InferCtx& c, bool upsample) {
  const ResizeCfg cfg = resize_cfg(c.node, opset_of(c.model), upsample);
  auto opt = [&](int i, const char* role) -> const Tensor* {
    return i >= 0 && c.has_input((size_t)i) ? &const_input(c, (size_t)i, role) : nullptr;
  };
  const Tensor* scales_t = opt(cfg.scales_idx, "scales");
  Tensor attr_t;
  if (upsample && !scales_t) {
    std::vector<float> v = c.node.get_floats("scales", {});
    attr_t = Tensor::from_vector<float>({(int64_t)v.size()}, v);
    scales_t = &attr_t;
  }
  // roi only moves coordinates, never the output shape.
  ResizePlan p = resize_plan(c.node, cfg, c.shape(0), nullptr, scales_t, opt(cfg.sizes_idx, "sizes"));
  c.set_out(0, c.in[0].elem_type, p.out);
}

std::vector<DataType> resize_datatype(const DataTypeCtx& c) {
  // Nearest only picks existing values, so it keeps the datatype.
  if (c.node.get_string("mode", "nearest") == "nearest") return same_datatype_as_input0(c);
  return std::vector<DataType>(c.node.outputs.size(), DataType::float32());
}

OpDef resize_def(bool upsample) {
  OpDef d;
  d.op_type = upsample ? "Upsample" : "Resize";
  d.min_inputs = 1;
  d.max_inputs = upsample ? 2 : 4;
  if (upsample) {
    d.infer_shape = [](InferCtx& c) { resize_infer(c, true); };
    d.execute = [](ExecCtx& c) { resize_execute(c, true); };
  } else {
    d.infer_shape = [](InferCtx& c) { resize_infer(c, false); };
    d.execute = [](ExecCtx& c) { resize_execute(c, false); };
  }
  d.infer_datatype = resize_datatype;
  return d;
}

}  // namespace

SF_REGISTER_OP(resize_def(false));
SF_REGISTER_OP(resize_def(true));

}  // namespace sf
