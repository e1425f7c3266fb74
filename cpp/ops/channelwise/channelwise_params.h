// ChannelwiseOp's layer parameters as both back ends read them from the node
// and its parameter input (C values or one broadcast value, integers of
// paramDataType): one derivation and one set of checks for the RTL and HLS layers.
#pragma once
#include <cmath>
#include <cstdint>
#include <fmt/format.h>
#include <string>
#include <vector>

#include "ops/hw/common.h"

namespace sf {

struct CwParams {
  hw::StreamShapes s;
  int64_t c, pe, cf;       // channels, lanes, words per lane (C/PE)
  int fn;                  // 0 add, 1 mul, 2 cmp_le, 3 cmp_ge
  DataType idt, pdt, odt;
  std::vector<int64_t> v;  // parameter of channel f*PE+k (the broadcast value repeated)
};

// `e` is the RTL or HLS LayerEmitter (its initializer(1) names the node when
// input 1 is not constant); `layer` ("the RTL", "the HLS layer") names the back end in errors.
template <class Emitter>
CwParams cw_params(Emitter& e, const char* layer) {
  const Node& n = e.node();
  CwParams g;
  g.s = hw::stream_shapes(n);
  g.c = hw::pos_int(n, "NumChannels");
  g.pe = hw::pos_int(n, "PE", 1);
  const std::string func = hw::choice(n, "Func", "cmp_le", {"cmp_le", "cmp_ge", "add", "mul"});
  g.idt = hw::dtype_attr(n, "inputDataType");
  g.pdt = hw::dtype_attr(n, "paramDataType", DataType::sint(32));
  g.odt = hw::dtype_attr(n, "outputDataType");
  if (!g.pdt.is_integer() || g.pdt.kind() == DataType::Kind::BIPOLAR)
    op_fail(n, fmt::format("paramDataType {} is not an integer type {} supports", g.pdt.name(), layer),
            "use INTn/UINTn parameters");
  const std::vector<double> p = e.initializer(1).to_double();
  if ((int64_t)p.size() != g.c && p.size() != 1)
    op_fail(n, fmt::format("{} parameters for NumChannels={}", p.size(), g.c), "give one parameter per channel");
  g.cf = g.c / g.pe;
  for (int64_t ch = 0; ch < g.c; ++ch) {
    const double v = p.size() == 1 ? p[0] : p[(size_t)ch];
    if (v != std::floor(v) || !g.pdt.allowed(v))
      op_fail(n, fmt::format("parameter {} of channel {} is not a {} value", v, ch, g.pdt.name()),
              fmt::format("{} keeps integer parameters of paramDataType", layer));
    g.v.push_back((int64_t)v);
  }
  g.fn = func == "add" ? 0 : func == "mul" ? 1 : func == "cmp_le" ? 2 : 3;
  return g;
}

}  // namespace sf
