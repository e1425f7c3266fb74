// The VVAU's attributes and weight codes as both back ends read them from the
// node: one derivation for the RTL and HLS layers. (Type checks stay with each
// layer: they accept different types, and the accumulator differs too.)
#pragma once
#include <cstdint>
#include <fmt/format.h>
#include <vector>

#include "ops/hw/common.h"
#include "ops/hw/emit_util.h"

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

// noActivation=0: the output type must be an integer type and the thresholds
// (input 2) connected.
inline void vvau_check_thresholded(const Node& n, const DataType& odt) {
  if (!odt.is_integer())
    op_fail(n, fmt::format("outputDataType {} is not an integer type", odt.name()),
            "a thresholded VVAU outputs integers; use e.g. UINT4 or BIPOLAR");
  if (n.inputs.size() < 3 || n.inputs[2].empty())
    op_fail(n, "noActivation=0 but no thresholds input is connected",
            "connect the thresholds initializer as input 2, or set noActivation=1");
}

// The depthwise weights (C, 1, Kh, Kw) as weightDataType codes in their own
// order (channel * Kh*Kw + tap; BIPOLAR -1 as 0): the layers only cut them differently.
inline std::vector<int64_t> vvau_weight_codes(const Node& n, const Tensor& w, int64_t c, int64_t kk,
                                              const DataType& wdt) {
  if (w.numel() != c * kk)
    op_fail(n, fmt::format("weights have {} elements, expected C*Kh*Kw = {}", w.numel(), c * kk),
            "use the depthwise Conv weight layout (C, 1, Kh, Kw)");
  return emit::weight_codes(w, wdt);
}

}  // namespace sf
