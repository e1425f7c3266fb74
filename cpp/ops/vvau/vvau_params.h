// The VVAU's attributes and weight codes as both back ends read them from the
// node: one derivation for the RTL and HLS layers. (Type checks stay with each
// layer: they accept different types, and the accumulator differs too.)
#pragma once
#include <cstdint>
#include <fmt/format.h>
#include <vector>

#include "ops/hw/common.h"

namespace sf {

struct VvauAttrs {
  std::vector<int64_t> k;           // Kernel [h, w]
  int64_t c, pe, simd, kk, nf, sf;  // channels, lanes, taps per beat, Kh*Kw, C/PE, Kh*Kw/SIMD
  DataType idt, wdt, odt;
  bool no_act;
};

inline VvauAttrs vvau_attrs(const Node& n) {
  VvauAttrs a;
  a.k = hw::pos_ints(n, "Kernel", 2);
  a.c = hw::pos_int(n, "Channels");
  a.pe = hw::pos_int(n, "PE");
  a.simd = hw::pos_int(n, "SIMD", 1);
  a.kk = a.k[0] * a.k[1];
  a.nf = a.c / a.pe;
  a.sf = a.kk / a.simd;
  a.idt = hw::dtype_attr(n, "inputDataType");
  a.wdt = hw::dtype_attr(n, "weightDataType");
  a.odt = hw::dtype_attr(n, "outputDataType");
  a.no_act = n.get_int("noActivation", 0) != 0;
  return a;
}

// The depthwise weights (C, 1, Kh, Kw) as weightDataType codes in their own
// order (channel * Kh*Kw + tap; BIPOLAR -1 as 0): the layers only cut them differently.
inline std::vector<int64_t> vvau_weight_codes(const Node& n, const Tensor& w, int64_t c, int64_t kk,
                                              const DataType& wdt) {
  if (w.numel() != c * kk)
    op_fail(n, fmt::format("weights have {} elements, expected C*Kh*Kw = {}", w.numel(), c * kk),
            "use the depthwise Conv weight layout (C, 1, Kh, Kw)");
  const bool wbip = wdt.kind() == DataType::Kind::BIPOLAR;
  std::vector<int64_t> codes;
  codes.reserve((size_t)(c * kk));
  for (double v : w.to_double()) codes.push_back(wbip ? (v > 0 ? 1 : 0) : (int64_t)v);
  return codes;
}

}  // namespace sf
