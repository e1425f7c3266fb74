// QONNX/FINN MultiThreshold: out = out_scale * #{b : x >= t[c][b]} + out_bias,
// the activation function quantized activations turn into. Thresholds are
// (C, B) per channel or (1, B) shared. The channel axis follows qonnx 1.0:
// data_layout names it by the position of 'C'; with no layout the rank decides
// (2: NC, 3: NWC, 4: NCHW), and anything else uses axis 1.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "ops/multithreshold/multithreshold.h"
#include "ops/op.h"

namespace sf {

int64_t multithreshold_channel_axis(const Node& n, int64_t rank) {
  std::string layout = n.get_string("data_layout", "");
  if (layout.empty()) {
    if (rank == 2) layout = "NC";
    if (rank == 3) layout = "NWC";
    if (rank == 4) layout = "NCHW";
  }
  const size_t pos = layout.find('C');
  const int64_t axis = pos == std::string::npos ? 1 : (int64_t)pos;
  if (rank < 2 || axis >= rank)
    op_fail(n,
            fmt::format("cannot find the channel axis of a rank-{} input with data_layout '{}'", rank,
                        n.get_string("data_layout", "")),
            "MultiThreshold needs an input of rank >= 2 whose data_layout (e.g. NCHW, NHWC, NC) places 'C' "
            "inside the shape");
  return axis;
}

namespace {

void check_thresholds(const Node& n, const Shape& x, const Shape& t, int64_t axis) {
  if (t.size() != 2)
    op_fail(n, fmt::format("thresholds (input 1) have shape {}, expected (C, B) or (1, B)", shape_str(t)),
            "give one row of thresholds per channel, or a single shared row");
  if (t[0] != 1 && t[0] != x[axis])
    op_fail(n,
            fmt::format("thresholds (input 1) have {} rows but the input {} has {} channels on axis {}", t[0],
                        shape_str(x), x[axis], axis),
            "use one threshold row per channel or a single row for all; check data_layout (NCHW vs NHWC)");
}

// NumPy rounds out_scale*n and then + out_bias separately; a fused multiply-add
// (which -ffp-contract emits once FMA is enabled) would round once and differ.
template <typename T>
inline T no_fuse(T v) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __asm__("" : "+x"(v));
#elif defined(__GNUC__) && defined(__aarch64__)
  __asm__("" : "+w"(v));
#else
  volatile T keep = v;
  v = keep;
#endif
  return v;
}

template <typename T>
void threshold_kernel(const Tensor& x, const std::vector<double>& thr, int64_t rows, int64_t steps, int64_t axis,
                      T out_scale, T out_bias, float* out) {
  const Shape& s = x.shape();
  int64_t inner = 1;
  for (size_t k = (size_t)axis + 1; k < s.size(); ++k) inner *= s[k];
  const int64_t channels = s[axis];
  // Rows sorted ascending (the usual case) are counted by binary search;
  // unsorted rows are counted one by one, which is what the definition says.
  std::vector<char> sorted((size_t)rows);
  for (int64_t r = 0; r < rows; ++r) {
    const double* t = thr.data() + r * steps;
    bool ok = true;
    for (int64_t b = 0; b < steps && ok; ++b) ok = !std::isnan(t[b]) && (b == 0 || t[b - 1] <= t[b]);
    sorted[r] = ok;
  }
  const std::vector<double> xv = x.to_double();
  for (int64_t i = 0; i < (int64_t)xv.size(); ++i) {
    const int64_t r = rows == 1 ? 0 : (i / inner) % channels;
    const double* t = thr.data() + r * steps;
    const double v = xv[i];  // float32 vs threshold compares exactly in double
    int64_t count = 0;
    if (std::isnan(v)) {
      count = 0;
    } else if (sorted[r]) {
      count = std::upper_bound(t, t + steps, v) - t;
    } else {
      for (int64_t b = 0; b < steps; ++b) count += v >= t[b];
    }
    const T scaled = no_fuse<T>(out_scale * (T)count);
    out[i] = (float)(scaled + out_bias);
  }
}

void mt_execute(ExecCtx& c) {
  const Node& n = c.node;
  const Tensor& x = c.input(0);
  const Tensor& t = c.input(1);
  const int64_t axis = multithreshold_channel_axis(n, x.rank());
  check_thresholds(n, x.shape(), t.shape(), axis);
  const float out_scale = n.get_float("out_scale", 1.0f), out_bias = n.get_float("out_bias", 0.0f);
  Tensor out(ElemType::FLOAT, x.shape());
  const std::vector<double> thr = t.to_double();
  // NumPy counts into x's dtype and scales there: float64 only for double x.
  if (x.type() == ElemType::DOUBLE)
    threshold_kernel<double>(x, thr, t.shape()[0], t.shape()[1], axis, out_scale, out_bias, out.data<float>());
  else
    threshold_kernel<float>(x, thr, t.shape()[0], t.shape()[1], axis, out_scale, out_bias, out.data<float>());
  c.out.resize(1);
  c.out[0] = std::move(out);
}

bool is_whole(float v) { return std::isfinite(v) && v == std::floor(v); }

OpDef make_multithreshold_def() {
  OpDef d;
  d.op_type = "MultiThreshold";
  d.domain = OpDomain::QONNX;
  d.min_inputs = 2;
  d.max_inputs = 2;
  d.validate = [](const Node& n) {
    if (n.has_attr("out_dtype")) {
      const std::string odt = n.get_string("out_dtype");
      if (!DataType::is_valid_name(odt))
        op_fail(n, fmt::format("out_dtype '{}' is not a QONNX datatype", odt),
                "use a name such as UINT4, INT8, BIPOLAR or BINARY");
    }
    n.get_float("out_scale", 1.0f);
    n.get_float("out_bias", 0.0f);
    n.get_string("data_layout", "");
  };
  d.infer_shape = [](InferCtx& c) {
    const Shape& x = c.shape(0);
    const int64_t axis = multithreshold_channel_axis(c.node, (int64_t)x.size());
    if (c.has_input(1) && c.in[1].shape) check_thresholds(c.node, x, *c.in[1].shape, axis);
    c.set_out(0, ElemType::FLOAT, x);
  };
  // qonnx's rule, kept exactly: a fractional out_scale or out_bias makes the
  // output FLOAT32; otherwise out_dtype is trusted even when out_scale != 1
  // (bipolar outputs use out_scale 2, out_bias -1 with out_dtype BIPOLAR).
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> {
    const Node& n = c.node;
    if (!is_whole(n.get_float("out_scale", 1.0f)) || !is_whole(n.get_float("out_bias", 0.0f)))
      return {DataType::float32()};
    if (!n.has_attr("out_dtype")) return {DataType::float32()};
    return {DataType::from_name(n.get_string("out_dtype"))};
  };
  d.execute = mt_execute;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_multithreshold_def());

}  // namespace sf
