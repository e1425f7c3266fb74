// Pool's layer parameters as both back ends read them from the node: the
// function code, QuantAvgPool's shift (as QuantAvgPool2d) and the types. One
// derivation, so the RTL and HLS layers compute the same thing.
#pragma once
#include <algorithm>
#include <cstdint>
#include <fmt/format.h>
#include <string>
#include <vector>

#include "ops/hw/common.h"

namespace sf::pool_hw_rtl {

DataType out_datatype(const Node& n);  // pool_hw.cpp: an AccPool sum of BIPOLAR inputs is an INT

struct PoolGeom {
  int64_t c, pe, kk;        // channels, lanes, taps per window
  std::vector<int64_t> od;  // output image [h, w]
  int f = 0, shift = 0;     // 0 MaxPool, 1 AccPool, 2 QuantAvgPool (sum >> shift)
  DataType idt, odt;
  hw::StreamShapes s;
  int obits;  // output lane width
};

// `layer` ("RTL", "HLS") names the back end in the errors: AvgPool's float
// mean and non-integer inputs have no hardware layer.
inline PoolGeom pool_geom(const Node& n, const char* layer) {
  PoolGeom g;
  g.c = hw::pos_int(n, "Channels");
  g.pe = hw::pos_int(n, "PE", 1);
  const auto k = hw::pos_ints(n, "KernelSize", 2);
  g.od = hw::pos_ints(n, "OutImgDims", 2);
  g.kk = k[0] * k[1];
  const std::string func = n.get_string("Function", "MaxPool");
  g.idt = hw::dtype_attr(n, "InputDataType");
  g.s = hw::stream_shapes(n);
  g.obits = (int)(g.s.out_width / g.pe);
  if (func == "MaxPool") {
    g.f = 0;
  } else if (func == "AccPool") {
    g.f = 1;
  } else if (func == "QuantAvgPool") {
    g.f = 2;
    // As the op: shift = max(0, bitlen((2^ibits-1)*k^2) - obits).
    const uint64_t maxv = ((uint64_t(1) << g.idt.bitwidth()) - 1) * (uint64_t)g.kk;
    int len = 0;
    for (uint64_t v = maxv; v; v >>= 1) ++len;
    g.shift = std::max(0, len - hw::dtype_attr(n, "OutputDataType", g.idt).bitwidth());
  } else {
    throw UnsupportedOpError(
        fmt::format("{}: Pool Function={} has no {} implementation (its result is a float mean)", n.label(), func,
                    layer),
        "use QuantAvgPool (sum, then shift) or AccPool, or keep this node on the host", n.name, n.op_type, n.domain);
  }
  if (!g.idt.is_integer())
    throw UnsupportedOpError(
        fmt::format("{}: Pool {} needs an integer InputDataType, not {}", n.label(), layer, g.idt.name()),
        "quantize the pool's input", n.name, n.op_type, n.domain);
  g.odt = out_datatype(n);
  return g;
}

}  // namespace sf::pool_hw_rtl
