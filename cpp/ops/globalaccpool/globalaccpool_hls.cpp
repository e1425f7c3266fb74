// HLS emitter of GlobalAccPool (hlslib/sf_globalaccpool.hpp): sums of the
// op's output type, as the RTL layer.
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/thresholding/thresholding_hls.h"

namespace sf::hls {

void gap_emit_hls(LayerEmitter& e) {
  const Node& n = e.node();
  const hw::StreamShapes s = hw::stream_shapes(n);
  const int64_t c = hw::pos_int(n, "NumChannels"), pe = hw::pos_int(n, "PE", 1);
  const auto niv = hw::pos_ints(n, "numInputVectors", 0, {1});
  const DataType idt = hw::dtype_attr(n, "inputDataType");
  if (!idt.is_integer())
    op_fail(n, fmt::format("inputDataType {} is not an integer type", idt.name()), "use INTn/UINTn/BIPOLAR inputs");
  const int64_t px = hw::prod(niv) / niv[0];
  const int ib = idt.bitwidth();
  if (s.in_width != pe * ib)
    op_fail(n, fmt::format("input stream width {} differs from the layer's {}", s.in_width, pe * ib), "internal error");
  e.use({"sf_globalaccpool.hpp"});
  e.top(fmt::format("  sf::globalaccpool<{}, {}, {}, {}, {}, {}L>(in0_V, out_V);\n", pe, c / pe, ib, kind_of(idt),
                    s.out_width / pe, px),
        {{"in0_V", (int)s.in_width}}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf::hls
