#include "ops/hw/common.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace sf::hw {

std::vector<int64_t> divisors(int64_t n) {
  std::vector<int64_t> lo, hi;
  for (int64_t d = 1; d * d <= n; ++d)
    if (n % d == 0) {
      lo.push_back(d);
      if (d != n / d) hi.push_back(n / d);
    }
  lo.insert(lo.end(), hi.rbegin(), hi.rend());
  return lo;
}

std::string join_values(const std::vector<int64_t>& v, size_t max_items) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < max_items; ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  if (v.size() > max_items) s += ", …, " + std::to_string(v.back());
  return s;
}

void check_fold(const Node& n, const char* par_name, int64_t par, const char* dim_name, int64_t dim) {
  if (par >= 1 && dim >= 1 && dim % par == 0) return;
  op_fail(n,
          fmt::format("{}={} does not divide {}={}; legal {}: {}", par_name, par, dim_name, dim, par_name,
                      join_values(divisors(std::max<int64_t>(dim, 1)))),
          fmt::format("pick a {} from the legal values (the folding config or target_fps sets it)", par_name));
}

int64_t pos_int(const Node& n, const char* name) {
  const int64_t v = n.get_int(name);
  if (v < 1) op_fail(n, fmt::format("attribute '{}' = {} must be >= 1", name, v), fmt::format("set {} >= 1", name));
  return v;
}

int64_t pos_int(const Node& n, const char* name, int64_t dflt) {
  return n.has_attr(name) ? pos_int(n, name) : dflt;
}

static std::vector<int64_t> check_ints(const Node& n, const char* name, size_t len, std::vector<int64_t> v) {
  bool ok = len == 0 ? !v.empty() : v.size() == len;
  for (int64_t x : v) ok = ok && x >= 1;
  if (!ok)
    op_fail(n,
            fmt::format("attribute '{}' = [{}] must be {} integers >= 1", name, join_values(v, 8),
                        len ? std::to_string(len) : "one or more"),
            len == 2 ? fmt::format("set {} = [height, width]", name) : fmt::format("fix attribute {}", name));
  return v;
}

std::vector<int64_t> pos_ints(const Node& n, const char* name, size_t len) {
  return check_ints(n, name, len, n.get_ints(name));
}
std::vector<int64_t> pos_ints(const Node& n, const char* name, size_t len, const std::vector<int64_t>& dflt) {
  return check_ints(n, name, len, n.get_ints(name, dflt));
}

std::string choice(const Node& n, const char* name, const std::string& dflt, const std::vector<std::string>& legal) {
  const std::string v = n.get_string(name, dflt);
  if (std::find(legal.begin(), legal.end(), v) != legal.end()) return v;
  std::string all;
  for (const auto& s : legal) all += (all.empty() ? "" : ", ") + s;
  op_fail(n, fmt::format("attribute '{}' = '{}' is not one of: {}", name, v, all),
          fmt::format("set {} to one of: {}", name, all));
}

DataType dtype_attr(const Node& n, const char* name) {
  const std::string s = n.get_string(name);
  if (!DataType::is_valid_name(s))
    op_fail(n, fmt::format("attribute '{}' = '{}' is not a QONNX datatype", name, s),
            "use a name such as UINT4, INT8, BIPOLAR or BINARY");
  return DataType::from_name(s);
}

DataType dtype_attr(const Node& n, const char* name, const DataType& dflt) {
  return n.has_attr(name) ? dtype_attr(n, name) : dflt;
}

int64_t prod(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

int clog2(int64_t n) {
  int b = 0;
  while (n > 1 && (int64_t(1) << b) < n) ++b;
  return b;
}

int64_t bram18_count(int64_t width, int64_t depth) {
  if (width <= 0 || depth <= 0) return 0;
  auto cdiv = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  // Narrow words use the deep aspect ratios; anything wider than 9 bits is
  // built from 1Kx18 slices side by side.
  if (width == 1) return cdiv(depth, 16384);
  if (width == 2) return cdiv(depth, 8192);
  if (width <= 4) return cdiv(depth, 4096) * cdiv(width, 4);
  if (width <= 9) return cdiv(depth, 2048) * cdiv(width, 9);
  return cdiv(depth, 1024) * cdiv(width, 18);
}

ThresholdLaneCost bsearch_threshold_lane(int stages, int64_t trows, int tw, const std::string& ram_style) {
  ThresholdLaneCost c;
  for (int st = 0; st < stages; ++st) {
    const int64_t depth = trows << st;
    const bool block = ram_style == "block" ? depth >= 64 : ram_style == "distributed" ? false : depth >= 256;
    if (block) c.bram18 += (double)bram18_count(tw, depth);
    else if (depth > 1) {  // LUT logic: a LUT6 per 64 words and bit, wider muxes past 256 words
      c.lut += tw * std::ceil(depth / 64.0) * (depth > 256 ? 1.25 : 1.0);
      c.rom_ff += tw;
    }
    c.lut += depth > 1 ? std::ceil(tw / 2.0) + 1 : std::ceil(tw / 4.0);  // comparator (cheaper vs a constant)
  }
  return c;
}

DataType range_datatype(double lo, double hi) {
  if (lo >= 0) return DataType::uint(std::max(1, (int)std::ceil(std::log2(hi + 1))));
  return DataType::sint(std::max(2, (int)std::ceil(std::log2(std::max(-lo, 1 + hi)) + 1)));
}

DataType acc_datatype(const DataType& idt, const DataType& wdt, int64_t len) {
  const double c[4] = {idt.min() * wdt.min(), idt.min() * wdt.max(), idt.max() * wdt.min(), idt.max() * wdt.max()};
  const double lo = *std::min_element(c, c + 4) * (double)len, hi = *std::max_element(c, c + 4) * (double)len;
  return range_datatype(std::min(lo, 0.0), std::max(hi, 0.0));
}

void threshold_activate(const std::vector<double>& acc, int64_t channels, const Tensor& thr, const Node& n,
                        const DataType& odt, int64_t act_val, float* out) {
  const Shape& ts = thr.shape();
  if (ts.size() != 2 || (ts[0] != 1 && ts[0] != channels))
    op_fail(n, fmt::format("thresholds have shape {}, expected ({}, steps) or (1, steps)", shape_str(ts), channels),
            "give one threshold row per output channel, or one shared row");
  const int64_t steps = ts[1];
  const std::vector<double> t = thr.to_double();
  const bool bipolar = odt.kind() == DataType::Kind::BIPOLAR;
  for (size_t i = 0; i < acc.size(); ++i) {
    const double* row = t.data() + (ts[0] == 1 ? 0 : (int64_t)(i % (size_t)channels)) * steps;
    int64_t count = 0;
    for (int64_t b = 0; b < steps; ++b) count += row[b] <= acc[i];  // >=, as MultiThreshold
    out[i] = bipolar ? (float)(2 * count - 1) : (float)(act_val + count);
  }
}

static int bits_of(const Node& n, const char* name) { return dtype_attr(n, name).bitwidth(); }

// Output element width of an op whose output type follows from its attributes
// (AddStreams' sum range, GlobalAccPool's and Pool's accumulator): ask the op's
// own infer_datatype, so the stream width cannot drift from the type the graph
// annotation gets.
static int out_bits_of(const Node& n) {
  const OpDef* d = OpRegistry::instance().find(n.op_type, n.domain);
  if (!d || !d->infer_datatype) op_fail(n, "cannot derive the output datatype", "set outputDataType");
  Model m;
  const DataTypeCtx c{n, m, {}, std::vector<DataType>(n.inputs.size(), DataType::float32()), {}};
  const std::vector<DataType> t = d->infer_datatype(c);
  if (t.empty()) op_fail(n, "cannot derive the output datatype", "set outputDataType");
  return t[0].bitwidth();
}

// `v` with its last axis c folded into (c/par, par): FINN's folded layout for
// an op that handles `par` channels (PE or SIMD) per beat.
static Shape fold_last(const Shape& v, int64_t c, int64_t par) {
  Shape f = v;
  f.insert(f.end(), {c / par, par});
  return f;
}
static Shape with_last(const Shape& v, int64_t c) {
  Shape f = v;
  f.push_back(c);
  return f;
}

// Stream shapes of the channel-parallel layers: the innermost (channel) axis
// splits into (C/P, P) where P is the op's PE or SIMD attribute, and a beat is
// P elements wide. Returns false for an op_type it does not know.
static bool channel_stream_shapes(const Node& n, StreamShapes& s) {
  const std::string& op = n.op_type;
  // Same-shape element streams: in and out fold the same way.
  auto same = [&](const Shape& v, int64_t c, int64_t par, int ib, int ob) {
    s.normal_in = s.normal_out = with_last(v, c);
    s.folded_in = s.folded_out = fold_last(v, c, par);
    s.in_width = par * ib;
    s.out_width = par * ob;
  };
  if (op == "StreamingMaxPool") {
    const auto img = pos_ints(n, "ImgDim", 2), k = pos_ints(n, "PoolDim", 2);
    const int64_t c = pos_int(n, "NumChannels"), pe = pos_int(n, "PE", 1);
    check_fold(n, "PE", pe, "NumChannels", c);
    const bool ceil_mode = n.get_int("CeilMode", 0) != 0;
    Shape o = {1, 0, 0};
    for (int i = 0; i < 2; ++i) o[i + 1] = ceil_mode ? (img[i] + k[i] - 1) / k[i] : img[i] / k[i];
    s.normal_in = with_last({1, img[0], img[1]}, c);
    s.folded_in = fold_last({1, img[0], img[1]}, c, pe);
    s.normal_out = with_last(o, c);
    s.folded_out = fold_last(o, c, pe);
    s.in_width = s.out_width = pe * bits_of(n, "dataType");
  } else if (op == "Pool") {
    const auto k = pos_ints(n, "KernelSize", 2), od = pos_ints(n, "OutImgDims", 2);
    const int64_t c = pos_int(n, "Channels"), pe = pos_int(n, "PE", 1), kk = k[0] * k[1];
    check_fold(n, "PE", pe, "Channels", c);
    const Shape v = {1, od[0], od[1]};
    s.normal_in = with_last(v, kk * c);
    s.folded_in = fold_last(v, kk * c, pe);
    s.normal_out = with_last(v, c);
    s.folded_out = fold_last(v, c, pe);
    s.in_width = pe * bits_of(n, "InputDataType");
    s.out_width = pe * out_bits_of(n);
  } else if (op == "FMPadding") {
    const auto img = pos_ints(n, "ImgDim", 2);
    const auto pad = n.get_ints("Padding", {0, 0, 0, 0});
    if (pad.size() != 4) op_fail(n, "attribute 'Padding' must have 4 entries", "Padding is [top, left, bottom, right]");
    const int64_t c = pos_int(n, "NumChannels"), simd = pos_int(n, "SIMD", 1);
    check_fold(n, "SIMD", simd, "NumChannels", c);
    const Shape o = {1, img[0] + pad[0] + pad[2], img[1] + pad[1] + pad[3]};
    s.normal_in = with_last({1, img[0], img[1]}, c);
    s.folded_in = fold_last({1, img[0], img[1]}, c, simd);
    s.normal_out = with_last(o, c);
    s.folded_out = fold_last(o, c, simd);
    s.in_width = s.out_width = simd * bits_of(n, "inputDataType");
  } else if (op == "LabelSelect") {
    const int64_t l = pos_int(n, "Labels"), pe = pos_int(n, "PE", 1), k = pos_int(n, "K");
    check_fold(n, "PE", pe, "Labels", l);
    const Shape v = pos_ints(n, "numInputVectors", 0, {1});
    s.normal_in = with_last(v, l);
    s.folded_in = fold_last(v, l, pe);
    // The K indices leave one per beat, after the whole input was seen.
    s.normal_out = with_last(v, k);
    s.folded_out = fold_last(v, k, 1);
    s.in_width = pe * bits_of(n, "inputDataType");
    s.out_width = out_bits_of(n);
  } else if (op == "AddStreams") {
    const int64_t c = pos_int(n, "NumChannels"), pe = pos_int(n, "PE", 1);
    check_fold(n, "PE", pe, "NumChannels", c);
    const Attribute* t = n.attr("inputDataTypes");
    int ib = 0;
    for (const std::string& name : t ? t->strings : std::vector<std::string>{})
      if (DataType::is_valid_name(name)) ib = std::max(ib, DataType::from_name(name).bitwidth());
    if (ib == 0) op_fail(n, "attribute 'inputDataTypes' must list QONNX datatype names", "e.g. ['INT4', 'INT4']");
    same(pos_ints(n, "numInputVectors", 0, {1}), c, pe, ib, out_bits_of(n));
  } else if (op == "DuplicateStreams" || op == "ChannelwiseOp") {
    const int64_t c = pos_int(n, "NumChannels"), pe = pos_int(n, "PE", 1);
    check_fold(n, "PE", pe, "NumChannels", c);
    const int ib = bits_of(n, "inputDataType");
    same(pos_ints(n, "numInputVectors", 0, {1}), c, pe, ib,
         op == "ChannelwiseOp" ? bits_of(n, "outputDataType") : ib);
  } else if (op == "GlobalAccPool") {
    const int64_t c = pos_int(n, "NumChannels"), pe = pos_int(n, "PE", 1);
    check_fold(n, "PE", pe, "NumChannels", c);
    const Shape v = pos_ints(n, "numInputVectors", 0, {1});  // (N, H, W)
    s.normal_in = with_last(v, c);
    s.folded_in = fold_last(v, c, pe);
    s.normal_out = with_last({v[0], 1, 1}, c);
    s.folded_out = fold_last({v[0], 1, 1}, c, pe);
    s.in_width = pe * bits_of(n, "inputDataType");
    s.out_width = pe * out_bits_of(n);
  } else if (op == "StreamingConcat") {
    // The inputs differ only in channel count and share SIMD and datatype, so
    // the main input (stream 0) stands for all of them.
    const auto ch = pos_ints(n, "ChannelsPerStream", 0);
    const int64_t simd = pos_int(n, "SIMD", 1);
    for (int64_t c : ch) check_fold(n, "SIMD", simd, "ChannelsPerStream entry", c);
    const Attribute* t = n.attr("inputDataTypes");
    if (!t || t->strings.empty() || !DataType::is_valid_name(t->strings[0]))
      op_fail(n, "attribute 'inputDataTypes' must list QONNX datatype names", "InferConcatLayer writes it");
    const int bits = DataType::from_name(t->strings[0]).bitwidth();
    const Shape v = pos_ints(n, "numInputVectors", 0, {1});
    int64_t sum = 0;
    for (int64_t c : ch) sum += c;
    s.normal_in = with_last(v, ch[0]);
    s.folded_in = fold_last(v, ch[0], simd);
    s.normal_out = with_last(v, sum);
    s.folded_out = fold_last(v, sum, simd);
    s.in_width = s.out_width = simd * bits;
  } else if (op == "StreamingDataWidthConverter") {
    // Elements per beat change from inWidth/bits to outWidth/bits; the shape
    // attribute FINN writes gives the normal shape (both sides).
    const int64_t in_w = pos_int(n, "inWidth"), out_w = pos_int(n, "outWidth"), b = bits_of(n, "dataType");
    const char* key = n.has_attr("in_shape") ? "in_shape" : "shape";
    const Shape sh = pos_ints(n, key, 0);
    const Shape v(sh.begin(), sh.end() - 1);
    const int64_t c = sh.back();
    check_fold(n, "inWidth/bits", in_w / b, "the last axis", c);
    check_fold(n, "outWidth/bits", out_w / b, "the last axis", c);
    s.normal_in = s.normal_out = sh;
    s.folded_in = fold_last(v, c, in_w / b);
    s.folded_out = fold_last(v, c, out_w / b);
    s.in_width = in_w;
    s.out_width = out_w;
  } else if (op == "StreamingFIFO") {
    // folded_shape is the producer's folded output; the normal shape merges
    // its last two axes unless normal_shape is given.
    const Shape f = pos_ints(n, "folded_shape", 0);
    Shape nrm;
    if (n.has_attr("normal_shape")) {
      nrm = pos_ints(n, "normal_shape", 0);
    } else {
      nrm = f;
      if (nrm.size() >= 2) {
        nrm[nrm.size() - 2] *= nrm.back();
        nrm.pop_back();
      }
    }
    s.normal_in = s.normal_out = nrm;
    s.folded_in = s.folded_out = f;
    s.in_width = s.out_width = f.back() * bits_of(n, "dataType");
  } else {
    return false;
  }
  return true;
}

StreamShapes stream_shapes(const Node& n) {
  StreamShapes s;
  const std::string& op = n.op_type;
  if (op == "MVAU") {
    const int64_t mw = pos_int(n, "MW"), mh = pos_int(n, "MH"), simd = pos_int(n, "SIMD"), pe = pos_int(n, "PE");
    check_fold(n, "SIMD", simd, "MW", mw);
    check_fold(n, "PE", pe, "MH", mh);
    const Shape v = pos_ints(n, "numInputVectors", 0, {1});
    s.normal_in = s.folded_in = s.normal_out = s.folded_out = v;
    s.normal_in.push_back(mw);
    s.folded_in.insert(s.folded_in.end(), {mw / simd, simd});
    s.normal_out.push_back(mh);
    s.folded_out.insert(s.folded_out.end(), {mh / pe, pe});
    s.in_width = simd * bits_of(n, "inputDataType");
    s.out_width = pe * bits_of(n, "outputDataType");
  } else if (op == "Thresholding") {
    const int64_t c = pos_int(n, "NumChannels"), pe = pos_int(n, "PE");
    check_fold(n, "PE", pe, "NumChannels", c);
    const Shape v = pos_ints(n, "numInputVectors", 0, {1});
    s.normal_in = s.folded_in = v;
    s.normal_in.push_back(c);
    s.folded_in.insert(s.folded_in.end(), {c / pe, pe});
    s.normal_out = s.normal_in;
    s.folded_out = s.folded_in;
    s.in_width = pe * bits_of(n, "inputDataType");
    s.out_width = pe * bits_of(n, "outputDataType");
  } else if (op == "ConvolutionInputGenerator") {
    const auto ifm = pos_ints(n, "IFMDim", 2), ofm = pos_ints(n, "OFMDim", 2), k = pos_ints(n, "ConvKernelDim", 2);
    const int64_t c = pos_int(n, "IFMChannels"), simd = pos_int(n, "SIMD");
    check_fold(n, "SIMD", simd, "IFMChannels", c);
    s.normal_in = {1, ifm[0], ifm[1], c};
    s.folded_in = {1, ifm[0], ifm[1], c / simd, simd};
    s.normal_out = {1, ofm[0], ofm[1], k[0] * k[1] * c};
    s.folded_out = {1, ofm[0], ofm[1], k[0] * k[1] * c / simd, simd};
    s.in_width = simd * bits_of(n, "inputDataType");
    s.out_width = simd * bits_of(n, n.has_attr("outputDataType") ? "outputDataType" : "inputDataType");
  } else if (op == "VVAU") {
    const auto dim = pos_ints(n, "Dim", 2), k = pos_ints(n, "Kernel", 2);
    const int64_t c = pos_int(n, "Channels"), pe = pos_int(n, "PE"), simd = pos_int(n, "SIMD");
    check_fold(n, "PE", pe, "Channels", c);
    check_fold(n, "SIMD", simd, "Kernel h*w", k[0] * k[1]);
    const int64_t kk = k[0] * k[1];
    s.normal_in = {1, dim[0], dim[1], kk * c};
    s.folded_in = {1, dim[0], dim[1], (kk / simd) * (c / pe), simd * pe};
    s.normal_out = {1, dim[0], dim[1], c};
    s.folded_out = {1, dim[0], dim[1], c / pe, pe};
    s.in_width = simd * pe * bits_of(n, "inputDataType");
    s.out_width = pe * bits_of(n, "outputDataType");
  } else if (!channel_stream_shapes(n, s)) {
    op_fail(n, fmt::format("stream_shapes does not know op_type '{}'", op),
            "supported: MVAU, VVAU, Thresholding, ConvolutionInputGenerator, StreamingMaxPool, Pool, FMPadding, "
            "LabelSelect, AddStreams, DuplicateStreams, StreamingConcat, StreamingDataWidthConverter, "
            "StreamingFIFO, GlobalAccPool, ChannelwiseOp");
  }
  return s;
}

void write_activation(ExecCtx& c, bool no_act, const Shape& os, const std::vector<double>& acc, int64_t channels,
                      const DataType& odt, int64_t act_val) {
  c.out.resize(1);
  if (no_act || !c.has_input(2)) {
    if (!no_act)
      op_fail(c.node, "noActivation=0 but no thresholds input is connected",
              "connect the thresholds initializer as input 2, or set noActivation=1");
    c.out[0] = float_tensor(os, acc);
    return;
  }
  Tensor out(ElemType::FLOAT, os);
  threshold_activate(acc, channels, c.input(2), c.node, odt, act_val, out.data<float>());
  c.out[0] = std::move(out);
}

Tensor float_tensor(const Shape& s, const std::vector<double>& v) {
  Tensor t(ElemType::FLOAT, s);
  float* d = t.data<float>();
  for (size_t i = 0; i < v.size(); ++i) d[i] = (float)v[i];
  return t;
}

}  // namespace sf::hw
