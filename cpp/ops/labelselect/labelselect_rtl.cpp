// RTL emitter of LabelSelect: sf_labelselect (systolic top-K chain of K cells,
// PE candidates per cycle, (2K+4)-deep output FIFO).
#include "ops/hw/common.h"
#include "ops/hw/rtl_emit.h"

namespace sf {

void labelselect_emit_rtl(rtl::LayerEmitter& e) {
  const Node& n = e.node();
  const hw::StreamShapes s = hw::stream_shapes(n);
  const int64_t l = hw::pos_int(n, "Labels"), pe = hw::pos_int(n, "PE", 1), k = hw::pos_int(n, "K");
  const DataType idt = hw::dtype_attr(n, "inputDataType");
  // BIPOLAR {0,1} already sorts as unsigned.
  const bool sgn = idt.is_signed() && idt.kind() != DataType::Kind::BIPOLAR;
  e.use({"sf_fifo"});
  e.top("sf_labelselect",
        {rtl::param("PE", pe), rtl::param("IB", idt.bitwidth()), rtl::param("IS", sgn ? 1 : 0), rtl::param("L", l),
         rtl::param("K", k), rtl::param("OB", s.out_width)},
        {{"in0_V", (int)s.in_width}}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf
