// Pad, all opsets: 'paddings' attribute (opset 1), 'pads' + 'value'
// attributes (2-10), pads / constant_value inputs (11+), optional axes input
// (18+). Modes constant, reflect, edge and wrap (19). Negative pads crop, and
// the crop happens first: non-constant modes pad the cropped tensor, as
// onnxruntime does.
#include <fmt/format.h>

#include "ops/reshape/movement.h"

namespace sf {
namespace {
using namespace movement;

enum class PadMode { CONSTANT, REFLECT, EDGE, WRAP };

PadMode pad_mode(const Node& n) {
  std::string m = n.get_string("mode", "constant");
  if (m == "constant") return PadMode::CONSTANT;
  if (m == "reflect") return PadMode::REFLECT;
  if (m == "edge") return PadMode::EDGE;
  if (m == "wrap") return PadMode::WRAP;
  op_fail(n, fmt::format("mode = '{}' is not a Pad mode", m), "use 'constant', 'reflect', 'edge' or 'wrap'");
}

// Pads per input axis: begin[d], end[d] (full rank, zeros where not padded).
struct Pads {
  std::vector<int64_t> begin, end;
};

Pads pad_amounts(const Node& n, const Shape& in, const Tensor* pads_in, const Tensor* axes_in) {
  const int64_t r = (int64_t)in.size();
  std::vector<int64_t> raw;
  if (pads_in) {
    raw = pads_in->to_int64();
  } else if (n.has_attr("pads")) {
    raw = n.get_ints("pads");
  } else if (n.has_attr("paddings")) {
    raw = n.get_ints("paddings");
  } else {
    op_fail(n, "Pad has no pads", "give pads as input 1 (opset >= 11) or as the 'pads' attribute (older opsets)");
  }
  std::vector<int64_t> axes;
  if (axes_in) {
    axes = norm_axes(n, axes_in->to_int64(), r, "axes");
  } else {
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  }
  if (raw.size() != 2 * axes.size())
    op_fail(n, fmt::format("pads {} has {} values; {} axes need {}", ints_str(raw), raw.size(), axes.size(),
                           2 * axes.size()),
            "pads lists all begin values, then all end values: [x1_begin, x2_begin, ..., x1_end, x2_end, ...]");
  Pads p{std::vector<int64_t>((size_t)r, 0), std::vector<int64_t>((size_t)r, 0)};
  for (size_t i = 0; i < axes.size(); ++i) {
    p.begin[axes[i]] = raw[i];
    p.end[axes[i]] = raw[axes.size() + i];
  }
  for (int64_t d = 0; d < r; ++d)
    if (in[d] + p.begin[d] + p.end[d] < 0)
      op_fail(n, fmt::format("pads {} crop axis {} of size {} below zero", ints_str(raw), d, in[d]),
              "negative pads crop; they may remove at most the whole axis");
  return p;
}

Shape pad_shape(const Shape& in, const Pads& p) {
  Shape out = in;
  for (size_t d = 0; d < in.size(); ++d) out[d] += p.begin[d] + p.end[d];
  return out;
}

// Source index along one axis for each output position (-1: fill value).
std::vector<int64_t> axis_map(const Node& n, PadMode mode, int64_t dim, int64_t pb, int64_t pe, int64_t axis) {
  const int64_t lo = std::max<int64_t>(0, -pb), len = dim - lo - std::max<int64_t>(0, -pe);
  const int64_t before = std::max<int64_t>(pb, 0), after = std::max<int64_t>(pe, 0);
  const int64_t out = len + before + after;
  if (mode != PadMode::CONSTANT && (before || after)) {
    if (len == 0)
      op_fail(n, fmt::format("axis {} is empty (after cropping), so '{}' padding has nothing to copy", axis,
                             mode == PadMode::EDGE ? "edge" : mode == PadMode::WRAP ? "wrap" : "reflect"),
              "use mode 'constant' for empty axes");
    if (mode == PadMode::REFLECT && (len < 2 || before > len - 1 || after > len - 1))
      op_fail(n, fmt::format("reflect padding of ({}, {}) on axis {} of size {} (after cropping) is too large", before,
                             after, axis, len),
              fmt::format("reflect needs an axis of size >= 2 and pads <= size - 1 = {}", len - 1));
  }
  std::vector<int64_t> m((size_t)out);
  for (int64_t o = 0; o < out; ++o) {
    int64_t i = o - before;
    if (i < 0 || i >= len) {
      switch (mode) {
        case PadMode::CONSTANT: i = -1; break;
        case PadMode::EDGE: i = i < 0 ? 0 : len - 1; break;
        case PadMode::WRAP: i = ((i % len) + len) % len; break;
        case PadMode::REFLECT: i = i < 0 ? -i : 2 * (len - 1) - i; break;
      }
    }
    m[o] = i < 0 ? -1 : lo + i;
  }
  return m;
}

const Tensor* opt_const(const InferCtx& c, size_t i, const char* role) {
  return c.has_input(i) ? &const_input(c, i, role) : nullptr;
}

OpDef pad_def() {
  OpDef d;
  d.op_type = "Pad";
  d.min_inputs = 1;
  d.max_inputs = 4;
  d.validate = [](const Node& n) { pad_mode(n); };
  d.infer_shape = [](InferCtx& c) {
    const Shape& in = c.shape(0);
    Pads p = pad_amounts(c.node, in, opt_const(c, 1, "pads"), opt_const(c, 3, "axes"));
    c.set_out(0, c.in[0].elem_type, pad_shape(in, p));
  };
  d.infer_datatype = same_datatype_as_input0;
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    const PadMode mode = pad_mode(c.node);
    Pads p = pad_amounts(c.node, x.shape(), c.has_input(1) ? &c.input(1) : nullptr,
                         c.has_input(3) ? &c.input(3) : nullptr);
    std::vector<uint8_t> fill;
    if (c.has_input(2) && c.input(2).numel() > 0) {
      const Tensor& v = c.input(2);
      Tensor cv = v.type() == x.type() ? v : v.cast(x.type());
      const auto* b = static_cast<const uint8_t*>(cv.raw());
      fill.assign(b, b + elem_size(x.type()));
    } else {
      fill = scalar_bytes(x.type(), c.node.get_float("value", 0.f));
    }
    const Shape& in = x.shape();
    std::vector<int64_t> st = strides_of(in);
    std::vector<std::vector<int64_t>> maps(in.size());
    for (size_t a = 0; a < in.size(); ++a) {
      maps[a] = axis_map(c.node, mode, in[a], p.begin[a], p.end[a], (int64_t)a);
      for (auto& v : maps[a])
        if (v >= 0) v *= st[a];
    }
    c.out.resize(c.node.outputs.size());
    c.out[0] = Tensor(x.type(), pad_shape(in, p));
    copy_mapped(x, maps, fill.data(), c.out[0]);
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(pad_def());

}  // namespace sf
