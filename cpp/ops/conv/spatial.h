// Sliding-window geometry shared by Conv and the pooling ops: strides,
// dilations, pads and auto_pad resolved into per-axis output sizes and
// begin/end padding, then lifted to three spatial axes so every kernel loop
// is written once for 1-D, 2-D and 3-D.
#pragma once
#include <string>
#include <vector>

#include "ops/elementwise/math_common.h"

namespace sf {
namespace spatial {

struct Window {
  size_t nsp = 0;  // number of spatial axes
  std::vector<int64_t> in, kernel, stride, dil, pad_b, pad_e, out;
};

enum class AutoPad { NOTSET, VALID, SAME_UPPER, SAME_LOWER };

inline AutoPad auto_pad(const Node& n) {
  const std::string s = n.get_string("auto_pad", "NOTSET");
  if (s == "NOTSET" || s.empty()) return AutoPad::NOTSET;
  if (s == "VALID") return AutoPad::VALID;
  if (s == "SAME_UPPER") return AutoPad::SAME_UPPER;
  if (s == "SAME_LOWER") return AutoPad::SAME_LOWER;
  op_fail(n, "attribute 'auto_pad' = '" + s + "' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER",
          "use one of those (NOTSET with explicit 'pads' is the most portable)");
}

// Static attribute checks that need no shapes; nsp comes from kernel_shape
// when present, else from any other per-axis attribute, else it is unknown (0).
inline void validate_window_attrs(const Node& n, bool kernel_required) {
  auto_pad(n);
  size_t nsp = 0;
  if (n.has_attr("kernel_shape")) nsp = n.get_ints("kernel_shape").size();
  else if (kernel_required)
    op_fail(n, "attribute 'kernel_shape' is missing", "give the pooling window size, one entry per spatial axis");
  else if (n.has_attr("strides")) nsp = n.get_ints("strides").size();
  else if (n.has_attr("dilations")) nsp = n.get_ints("dilations").size();
  if (n.has_attr("pads") && n.get_ints("pads").size() % 2 != 0)
    op_fail(n, "attribute 'pads' has " + std::to_string(n.get_ints("pads").size()) + " entries, expected an even number",
            "give one begin and one end pad per spatial axis: [x1_begin, x2_begin, ..., x1_end, x2_end, ...]");
  if (nsp == 0) return;
  math::ints_attr(n, "kernel_shape", nsp, 1, 1);
  math::ints_attr(n, "strides", nsp, 1, 1);
  math::ints_attr(n, "dilations", nsp, 1, 1);
  math::ints_attr(n, "pads", 2 * nsp, 0, 0);
}

// x_spatial: the input's spatial dims; kernel: the window (from W or the
// attribute). ceil_mode matters for explicit padding only: SAME ignores it
// and the spec's VALID formula gives the floor size either way
// (onnxruntime's VALID+ceil_mode adds an overhanging window; we follow the spec).
inline Window window_geometry(const Node& n, const Shape& x_spatial, const std::vector<int64_t>& kernel,
                              bool ceil_mode) {
  Window w;
  w.nsp = x_spatial.size();
  w.in = x_spatial;
  w.kernel = kernel;
  if (kernel.size() != w.nsp)
    op_fail(n, "window has " + std::to_string(kernel.size()) + " axes but the input has " + std::to_string(w.nsp) +
                   " spatial axes " + shape_str(x_spatial),
            "kernel_shape needs one entry per spatial axis of the (N, C, ...) input");
  for (int64_t k : kernel)
    if (k < 1) op_fail(n, "kernel_shape " + shape_str(kernel) + " has an entry < 1", "every window size must be >= 1");
  w.stride = math::ints_attr(n, "strides", w.nsp, 1, 1);
  w.dil = math::ints_attr(n, "dilations", w.nsp, 1, 1);
  const AutoPad ap = auto_pad(n);
  std::vector<int64_t> pads(2 * w.nsp, 0);
  if (ap == AutoPad::NOTSET) pads = math::ints_attr(n, "pads", 2 * w.nsp, 0, 0);
  w.pad_b.assign(pads.begin(), pads.begin() + w.nsp);
  w.pad_e.assign(pads.begin() + w.nsp, pads.end());
  w.out.resize(w.nsp);
  for (size_t i = 0; i < w.nsp; ++i) {
    const int64_t eff = w.dil[i] * (w.kernel[i] - 1) + 1, s = w.stride[i], in = w.in[i];
    if (ap == AutoPad::SAME_UPPER || ap == AutoPad::SAME_LOWER) {
      w.out[i] = (in + s - 1) / s;
      int64_t total = (w.out[i] - 1) * s + eff - in;
      if (total < 0) total = 0;
      // The odd pixel goes at the end for SAME_UPPER, at the start for SAME_LOWER.
      w.pad_b[i] = ap == AutoPad::SAME_UPPER ? total / 2 : total - total / 2;
      w.pad_e[i] = total - w.pad_b[i];
      continue;
    }
    const int64_t span = in + w.pad_b[i] + w.pad_e[i] - eff;
    if (span < 0)
      op_fail(n, "window (kernel " + std::to_string(w.kernel[i]) + ", dilation " + std::to_string(w.dil[i]) +
                     ") is larger than spatial axis " + std::to_string(i) + " of size " + std::to_string(in) +
                     " plus padding " + std::to_string(w.pad_b[i] + w.pad_e[i]),
              "shrink kernel_shape/dilations or pad the input");
    if (ceil_mode && ap == AutoPad::NOTSET) {
      w.out[i] = (span + s - 1) / s + 1;
      // A last window that would start in the end padding is dropped.
      if ((w.out[i] - 1) * s >= in + w.pad_b[i]) --w.out[i];
    } else {
      w.out[i] = span / s + 1;
    }
  }
  return w;
}

// The same geometry with leading unit axes so that nsp == 3.
struct Geo3 {
  int64_t in[3], k[3], s[3], d[3], pb[3], pe[3], out[3];
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t k_size() const { return k[0] * k[1] * k[2]; }
};

inline Geo3 to_geo3(const Node& n, const Window& w) {
  if (w.nsp < 1 || w.nsp > 3)
    op_fail(n, n.op_type + " over " + std::to_string(w.nsp) + " spatial axes is not supported",
            "streamfold implements 1-D, 2-D and 3-D windows; reshape the input to at most 3 spatial axes");
  Geo3 g;
  const size_t lead = 3 - w.nsp;
  for (size_t i = 0; i < 3; ++i) {
    const bool real = i >= lead;
    const size_t j = i - lead;
    g.in[i] = real ? w.in[j] : 1;
    g.k[i] = real ? w.kernel[j] : 1;
    g.s[i] = real ? w.stride[j] : 1;
    g.d[i] = real ? w.dil[j] : 1;
    g.pb[i] = real ? w.pad_b[j] : 0;
    g.pe[i] = real ? w.pad_e[j] : 0;
    g.out[i] = real ? w.out[j] : 1;
  }
  return g;
}

inline Shape spatial_dims(const Node& n, const Shape& x, const char* what) {
  if (x.size() < 3)
    op_fail(n, std::string(what) + " has shape " + shape_str(x) + ", expected (N, C, spatial...) with at least one spatial axis",
            "add the batch/channel axes with Reshape or Unsqueeze");
  return Shape(x.begin() + 2, x.end());
}

}  // namespace spatial
}  // namespace sf
