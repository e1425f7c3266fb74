// RTL emitter of StreamingConcat: sf_concat over N inputs in0_V..in{N-1}_V,
// all SIMD elements of one datatype wide.
#include <algorithm>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/hw/rtl_emit.h"

namespace sf {

void concat_emit_rtl(rtl::LayerEmitter& e) {
  const Node& n = e.node();
  const hw::StreamShapes s = hw::stream_shapes(n);
  const auto ch = hw::pos_ints(n, "ChannelsPerStream", 0);
  const int64_t simd = hw::pos_int(n, "SIMD", 1);
  if (const Attribute* t = n.attr("inputDataTypes")) {
    for (const std::string& name : t->strings)
      if (!DataType::is_valid_name(name) || DataType::from_name(name).bitwidth() * simd != s.in_width)
        op_fail(n, fmt::format("inputDataTypes {} differ in bit width; the RTL concatenates equal-width streams", name),
                "give all inputs the datatype of the widest one");
  }
  const int nin = (int)ch.size();
  rtl::Bits folds(32 * nin);
  int64_t fmax = 1;
  for (int i = 0; i < nin; ++i) {
    folds.set(32 * i, 32, ch[(size_t)i] / simd);
    fmax = std::max(fmax, ch[(size_t)i] / simd);
  }
  std::vector<rtl::Stream> ins;
  for (int i = 0; i < nin; ++i) ins.push_back({fmt::format("in{}_V", i), (int)s.in_width});
  e.use({"sf_skid"});
  e.top("sf_concat",
        {rtl::param("N", nin), rtl::param("W", s.in_width), {"FOLDS", fmt::format("{}'h{}", 32 * nin, folds.hex())},
         rtl::param("FMAX", fmax)},
        ins, {{"out_V", (int)s.out_width}});
}

}  // namespace sf
