// HLS emitter of LabelSelect (hlslib/sf_labelselect.hpp): top-K indices,
// one per output beat, as the RTL layer.
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/thresholding/thresholding_hls.h"

namespace sf::hls {

void labelselect_emit_hls(LayerEmitter& e) {
  const Node& n = e.node();
  const hw::StreamShapes s = hw::stream_shapes(n);
  const int64_t l = hw::pos_int(n, "Labels"), pe = hw::pos_int(n, "PE", 1), k = hw::pos_int(n, "K");
  const DataType idt = hw::dtype_attr(n, "inputDataType");
  if (!idt.is_integer())
    op_fail(n, fmt::format("inputDataType {} is not an integer type", idt.name()), "use INTn/UINTn/BIPOLAR inputs");
  const int ib = idt.bitwidth();
  if (s.in_width != pe * ib)
    op_fail(n, fmt::format("input stream width {} differs from the layer's {}", s.in_width, pe * ib), "internal error");
  e.use({"sf_labelselect.hpp"});
  const int64_t rows = hw::prod(s.normal_in) / l;
  e.top(fmt::format("  sf::labelselect<{}, {}, {}, {}, {}, {}, {}L>(in0_V, out_V);\n", l, pe, k, ib, kind_of(idt),
                    s.out_width, rows),
        {{"in0_V", (int)s.in_width}}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf::hls
