// RTL emitter of ChannelwiseOp: sf_channelwise with the per-channel parameters
// (input 1, C values or one broadcast value) in a ROM of C/PE words, PE lanes
// of paramDataType bits each; ram_style picks the memory (auto: block RAM from
// 1024 words x 18 bits up).
#include <cmath>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/hw/rtl_emit.h"

namespace sf {

void cw_emit_rtl(rtl::LayerEmitter& e) {
  const Node& n = e.node();
  const hw::StreamShapes s = hw::stream_shapes(n);
  const int64_t c = hw::pos_int(n, "NumChannels"), pe = hw::pos_int(n, "PE", 1);
  const std::string func = hw::choice(n, "Func", "cmp_le", {"cmp_le", "cmp_ge", "add", "mul"});
  const DataType idt = hw::dtype_attr(n, "inputDataType");
  const DataType pdt = hw::dtype_attr(n, "paramDataType", DataType::sint(32));
  const DataType odt = hw::dtype_attr(n, "outputDataType");
  if (!pdt.is_integer() || pdt.kind() == DataType::Kind::BIPOLAR)
    op_fail(n, fmt::format("paramDataType {} is not an integer type the RTL supports", pdt.name()),
            "use INTn/UINTn parameters");
  const std::vector<double> p = e.initializer(1).to_double();
  if ((int64_t)p.size() != c && p.size() != 1)
    op_fail(n, fmt::format("{} parameters for NumChannels={}", p.size(), c), "give one parameter per channel");
  const int pb = pdt.bitwidth();
  const int64_t cf = c / pe;
  std::vector<rtl::Bits> words;
  for (int64_t f = 0; f < cf; ++f) {
    rtl::Bits w((int)(pe * pb));
    for (int64_t k = 0; k < pe; ++k) {
      const double v = p.size() == 1 ? p[0] : p[(size_t)(f * pe + k)];
      if (v != std::floor(v) || !pdt.allowed(v))
        op_fail(n, fmt::format("parameter {} of channel {} is not a {} value", v, f * pe + k, pdt.name()),
                "the RTL keeps integer parameters of paramDataType");
      w.set((int)(k * pb), pb, (int64_t)v);
    }
    words.push_back(w);
  }
  const std::string style = hw::choice(n, "ram_style", "auto", {"auto", "block", "distributed", "ultra"});
  const bool block = style == "block" || style == "ultra" || (style == "auto" && cf * pe * pb >= 1024 * 18);
  const int fn = func == "add" ? 0 : func == "mul" ? 1 : func == "cmp_le" ? 2 : 3;
  const std::string file = e.memh("params", words);
  e.use({"sf_skid"});
  e.top("sf_channelwise",
        {rtl::param("PE", pe), rtl::param("IB", idt.bitwidth()), rtl::param("IS", idt.is_signed()),
         rtl::param("IBP", idt.kind() == DataType::Kind::BIPOLAR), rtl::param("PB", pb),
         rtl::param("PS", pdt.is_signed()), rtl::param("OB", odt.bitwidth()), rtl::param("FUNC", fn),
         rtl::param("CF", cf), rtl::param("BLOCK", block ? 1 : 0), rtl::param_str("FILE", file)},
        {{"in0_V", (int)s.in_width}}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf
