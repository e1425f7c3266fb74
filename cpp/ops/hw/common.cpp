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
  } else {
    op_fail(n, fmt::format("stream_shapes does not know op_type '{}'", op),
            "supported: MVAU, VVAU, Thresholding, ConvolutionInputGenerator");
  }
  return s;
}

Tensor float_tensor(const Shape& s, const std::vector<double>& v) {
  Tensor t(ElemType::FLOAT, s);
  float* d = t.data<float>();
  for (size_t i = 0; i < v.size(); ++i) d[i] = (float)v[i];
  return t;
}

}  // namespace sf::hw
