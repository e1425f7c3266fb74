// RTL emitter of Pool (core: sf_pool, cpp/ops/pool_hw/rtl/). The input is a
// depthwise sliding-window stream: per output pixel C/PE channel groups, each
// Kh*Kw beats (the taps) of PE channels, so the normal input's window axis
// (kh*kw, C/PE, PE) travels as (C/PE, kh*kw, PE).
#include <algorithm>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/hw/rtl_emit.h"

namespace sf::pool_hw_rtl {

DataType out_datatype(const Node& n);  // pool_hw.cpp

void emit(rtl::LayerEmitter& e) {
  const Node& n = e.node();
  const int64_t c = hw::pos_int(n, "Channels"), pe = hw::pos_int(n, "PE", 1);
  const auto k = hw::pos_ints(n, "KernelSize", 2);
  const int64_t kk = k[0] * k[1];
  const std::string func = n.get_string("Function", "MaxPool");
  const DataType idt = hw::dtype_attr(n, "InputDataType");
  const hw::StreamShapes s = hw::stream_shapes(n);
  const int obits = (int)(s.out_width / pe);
  int f = 0, shift = 0;
  if (func == "MaxPool") {
    f = 0;
  } else if (func == "AccPool") {
    f = 1;
  } else if (func == "QuantAvgPool") {
    f = 2;
    // As the op: shift = max(0, bitlen((2^ibits-1)*k^2) - obits).
    const uint64_t maxv = ((uint64_t(1) << idt.bitwidth()) - 1) * (uint64_t)kk;
    int len = 0;
    for (uint64_t v = maxv; v; v >>= 1) ++len;
    shift = std::max(0, len - hw::dtype_attr(n, "OutputDataType", idt).bitwidth());
  } else {
    throw UnsupportedOpError(
        fmt::format("{}: Pool Function={} has no RTL implementation (its result is a float mean)", n.label(), func),
        "use QuantAvgPool (sum, then shift) or AccPool, or keep this node on the host", n.name, n.op_type, n.domain);
  }
  if (!idt.is_integer())
    throw UnsupportedOpError(fmt::format("{}: Pool RTL needs an integer InputDataType, not {}", n.label(), idt.name()),
                             "quantize the pool's input", n.name, n.op_type, n.domain);
  const bool bip = idt.kind() == DataType::Kind::BIPOLAR;
  const DataType odt = out_datatype(n);  // pool_hw.cpp: an AccPool sum of BIPOLAR inputs is an INT
  const bool obip = odt.kind() == DataType::Kind::BIPOLAR;
  e.use({"sf_skid"});
  rtl::Stream in{"in0_V", (int)s.in_width, {kk, c / pe, pe}, {1, 0, 2}};
  e.top("sf_pool",
        {rtl::param("BITS", idt.bitwidth()), rtl::param("OBITS", obits), rtl::param("PE", pe),
         rtl::param("KK", kk), rtl::param("FUNC", f), rtl::param("SHIFT", shift),
         rtl::param("SIGNED", idt.is_signed() && !bip ? 1 : 0), rtl::param("BIPOLAR", bip ? 1 : 0),
         rtl::param("OBIPOLAR", obip ? 1 : 0)},
        {in}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf::pool_hw_rtl
