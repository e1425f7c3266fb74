// HLS emitter of Pool (hlslib/sf_pool.hpp): MaxPool, AccPool and
// QuantAvgPool with the RTL layer's arithmetic (shift as QuantAvgPool2d) and
// input order (the depthwise SWG stream: the window axis (kh*kw, C/PE, PE)
// travels as (C/PE, kh*kw, PE)). AvgPool's float mean has no HLS layer either.
#include <algorithm>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/hw/hls_emit.h"
#include "ops/thresholding/thresholding_hls.h"

namespace sf::pool_hw_rtl {

DataType out_datatype(const Node& n);  // pool_hw.cpp

void emit_hls(hls::LayerEmitter& e) {
  const Node& n = e.node();
  const int64_t c = hw::pos_int(n, "Channels"), pe = hw::pos_int(n, "PE", 1);
  const auto k = hw::pos_ints(n, "KernelSize", 2), od = hw::pos_ints(n, "OutImgDims", 2);
  const int64_t kk = k[0] * k[1];
  const std::string func = n.get_string("Function", "MaxPool");
  const DataType idt = hw::dtype_attr(n, "InputDataType");
  const DataType odt = out_datatype(n);
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
    shift = std::max(0, len - odt.bitwidth());
  } else {
    throw UnsupportedOpError(
        fmt::format("{}: Pool Function={} has no HLS implementation (its result is a float mean)", n.label(), func),
        "use QuantAvgPool (sum, then shift) or AccPool, or keep this node on the host", n.name, n.op_type, n.domain);
  }
  if (!idt.is_integer())
    throw UnsupportedOpError(fmt::format("{}: Pool HLS needs an integer InputDataType, not {}", n.label(), idt.name()),
                             "quantize the pool's input", n.name, n.op_type, n.domain);
  const bool obip = odt.kind() == DataType::Kind::BIPOLAR;
  e.use({"sf_pool.hpp"});
  hls::Stream in{"in0_V", (int)s.in_width, {kk, c / pe, pe}, {1, 0, 2}};
  e.top(fmt::format("  sf::Pool<{}, {}, {}, {}, {}, {}, {}, {}, {}>(in0_V, out_V, 1);\n", idt.bitwidth(), obits, pe,
                    kk, od[0] * od[1] * (c / pe), f, shift, hls::kind_of(idt), obip ? "true" : "false"),
        {in}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf::pool_hw_rtl
