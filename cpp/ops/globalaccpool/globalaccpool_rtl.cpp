// RTL emitter of GlobalAccPool: sf_globalaccpool, sums of the op's output type.
#include "ops/hw/common.h"
#include "ops/hw/rtl_emit.h"

namespace sf {

void gap_emit_rtl(rtl::LayerEmitter& e) {
  const Node& n = e.node();
  const hw::StreamShapes s = hw::stream_shapes(n);
  const int64_t c = hw::pos_int(n, "NumChannels"), pe = hw::pos_int(n, "PE", 1);
  const auto niv = hw::pos_ints(n, "numInputVectors", 0, {1});
  const DataType idt = hw::dtype_attr(n, "inputDataType");
  const int64_t px = hw::prod(niv) / niv[0];
  e.use({"sf_skid"});
  e.top("sf_globalaccpool",
        {rtl::param("PE", pe), rtl::param("IB", idt.bitwidth()), rtl::param("IS", idt.is_signed()),
         rtl::param("IBP", idt.kind() == DataType::Kind::BIPOLAR), rtl::param("OB", s.out_width / pe),
         rtl::param("CF", c / pe), rtl::param("PX", px)},
        {{"in0_V", (int)s.in_width}}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf
