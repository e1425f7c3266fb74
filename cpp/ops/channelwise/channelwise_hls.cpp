// HLS emitter of ChannelwiseOp (hlslib/sf_channelwise.hpp): the per-channel
// parameters (input 1, C values or one broadcast value) as PE lanes of C/PE
// words of paramDataType bits.
#include <cmath>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/thresholding/thresholding_hls.h"

namespace sf::hls {

void cw_emit_hls(LayerEmitter& e) {
  const Node& n = e.node();
  const hw::StreamShapes s = hw::stream_shapes(n);
  const int64_t c = hw::pos_int(n, "NumChannels"), pe = hw::pos_int(n, "PE", 1);
  const std::string func = hw::choice(n, "Func", "cmp_le", {"cmp_le", "cmp_ge", "add", "mul"});
  const DataType idt = hw::dtype_attr(n, "inputDataType");
  const DataType pdt = hw::dtype_attr(n, "paramDataType", DataType::sint(32));
  const DataType odt = hw::dtype_attr(n, "outputDataType");
  if (!idt.is_integer())
    op_fail(n, fmt::format("inputDataType {} is not an integer type", idt.name()), "use INTn/UINTn/BIPOLAR inputs");
  if (!pdt.is_integer() || pdt.kind() == DataType::Kind::BIPOLAR)
    op_fail(n, fmt::format("paramDataType {} is not an integer type the HLS layer supports", pdt.name()),
            "use INTn/UINTn parameters");
  const std::vector<double> p = e.initializer(1).to_double();
  if ((int64_t)p.size() != c && p.size() != 1)
    op_fail(n, fmt::format("{} parameters for NumChannels={}", p.size(), c), "give one parameter per channel");
  const int pb = pdt.bitwidth(), ib = idt.bitwidth(), ob = odt.bitwidth();
  const int64_t cf = c / pe;
  std::vector<Bits> words;
  for (int64_t k = 0; k < pe; ++k)
    for (int64_t f = 0; f < cf; ++f) {
      const double v = p.size() == 1 ? p[0] : p[(size_t)(f * pe + k)];
      if (v != std::floor(v) || !pdt.allowed(v))
        op_fail(n, fmt::format("parameter {} of channel {} is not a {} value", v, f * pe + k, pdt.name()),
                "the HLS layer keeps integer parameters of paramDataType");
      Bits b(pb);
      b.set(0, pb, (int64_t)v);
      words.push_back(b);
    }
  if (s.in_width != pe * ib || s.out_width != pe * ob)
    op_fail(n, fmt::format("stream widths {}/{} differ from the layer's {}/{}", s.in_width, s.out_width, pe * ib,
                           pe * ob),
            "internal error");
  const int fn = func == "add" ? 0 : func == "mul" ? 1 : func == "cmp_le" ? 2 : 3;
  const std::string arr = e.array("params", {pe, cf}, words);
  int64_t beats = 1;
  for (size_t i = 0; i + 1 < s.folded_in.size(); ++i) beats *= s.folded_in[i];
  e.use({"sf_channelwise.hpp"});
  e.top(fmt::format("#pragma HLS ARRAY_PARTITION variable={} complete dim=1\n"
                    "  sf::channelwise<{}, {}, {}, {}, {}, {}, {}, {}, {}L>(in0_V, out_V, {});\n",
                    arr, pe, cf, ib, kind_of(idt), pb, kind_of(pdt), ob, fn, beats, arr),
        {{"in0_V", (int)s.in_width}}, {{"out_V", (int)s.out_width}});
}

}  // namespace sf::hls
