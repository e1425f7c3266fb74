// The MVAU's attributes and weight codes as both back ends read them from the
// node: one derivation and one set of checks for the RTL and HLS layers. (The
// accumulator type is not here: the RTL layer honours accDataType, the HLS
// layer always keeps the exact range.)
#pragma once
#include <cstdint>
#include <fmt/format.h>
#include <vector>

#include "ops/hw/common.h"
#include "ops/hw/emit_util.h"

namespace sf {

// sf_mvau's REG_EVERY as the RTL emitter sets it (a register after every
// adder-tree level); the schedule model (mvau_schedule.cpp) derives the
// pipeline latency from it.
constexpr int kMvauRegEvery = 1;

struct MvauAttrs {
  int64_t mw, mh, simd, pe;
  DataType idt, wdt;
  bool xnor, no_act;
  int64_t sf, nf;  // MW/SIMD, MH/PE
};

// `layer` ("RTL", "HLS") names the back end in the error on non-integer types.
inline MvauAttrs mvau_attrs(const Node& n, const char* layer) {
  MvauAttrs a;
  a.mw = hw::pos_int(n, "MW");
  a.mh = hw::pos_int(n, "MH");
  a.simd = hw::pos_int(n, "SIMD");
  a.pe = hw::pos_int(n, "PE");
  a.idt = hw::dtype_attr(n, "inputDataType");
  a.wdt = hw::dtype_attr(n, "weightDataType");
  a.xnor = n.get_int("binaryXnorMode", 0) != 0;
  a.no_act = n.get_int("noActivation", 0) != 0;
  a.sf = a.mw / a.simd;
  a.nf = a.mh / a.pe;
  if (!a.idt.is_integer() || !a.wdt.is_integer())
    op_fail(n,
            fmt::format("the {} MVAU needs integer input and weight types, got {} and {}", layer, a.idt.name(),
                        a.wdt.name()),
            "quantize inputs and weights to INTn/UINTn/BIPOLAR/TERNARY");
  return a;
}

// The (MW, MH) weight initializer as weightDataType codes, in its own order
// (k * MH + c; BIPOLAR -1 as 0): the RTL and HLS layers only cut it differently.
inline std::vector<int64_t> mvau_weight_codes(const Node& n, const Tensor& wt, int64_t mw, int64_t mh,
                                              const DataType& wdt) {
  if (wt.shape() != Shape{mw, mh})
    op_fail(n, fmt::format("weights have shape {}, expected (MW, MH) = ({}, {})", shape_str(wt.shape()), mw, mh),
            "the weight initializer is (MW, MH), like a MatMul's second input");
  return emit::weight_codes(wt, wdt);
}

}  // namespace sf
