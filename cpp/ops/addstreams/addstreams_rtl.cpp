// RTL emitter of AddStreams: sf_addstreams. Each input stream is PE elements
// of its own datatype (FINN: in0_V PE*bits0, in1_V PE*bits1 wide); the sum has
// the op's output type (the range of the two input ranges added).
#include <algorithm>

#include "ops/addstreams/addstreams_params.h"
#include "ops/hw/rtl_emit.h"

namespace sf {

void addstreams_emit_rtl(rtl::LayerEmitter& e) {
  const Node& n = e.node();
  const AddStreamsTypes t = addstreams_types(n);
  auto bip = [](const DataType& d) { return d.kind() == DataType::Kind::BIPOLAR ? 1 : 0; };
  const int iw = (int)t.pe * std::max(t.b0, t.b1);
  e.use({"sf_skid"});
  e.top("sf_addstreams",
        {rtl::param("PE", t.pe), rtl::param("B0", t.b0), rtl::param("B1", t.b1), rtl::param("S0", t.d0.is_signed()),
         rtl::param("S1", t.d1.is_signed()), rtl::param("BP0", bip(t.d0)), rtl::param("BP1", bip(t.d1)),
         rtl::param("OB", t.ob), rtl::param("IW", iw)},
        {{"in0_V", (int)t.pe * t.b0}, {"in1_V", (int)t.pe * t.b1}}, {{"out_V", (int)t.pe * t.ob}}, iw);
}

}  // namespace sf
