// HLS emitter of ChannelwiseOp (hlslib/sf_channelwise.hpp): the per-channel
// parameters (input 1, C values or one broadcast value) as PE lanes of C/PE
// words of paramDataType bits.
#include <fmt/format.h>

#include "ops/channelwise/channelwise_params.h"
#include "ops/thresholding/thresholding_hls.h"

namespace sf::hls {

void cw_emit_hls(LayerEmitter& e) {
  const Node& n = e.node();
  const CwParams g = cw_params(e, "the HLS layer");
  const hw::StreamShapes& s = g.s;
  const int64_t pe = g.pe, cf = g.cf;
  const DataType &idt = g.idt, &pdt = g.pdt;
  if (!idt.is_integer())
    op_fail(n, fmt::format("inputDataType {} is not an integer type", idt.name()), "use INTn/UINTn/BIPOLAR inputs");
  const int pb = pdt.bitwidth(), ib = idt.bitwidth(), ob = g.odt.bitwidth(), fn = g.fn;
  std::vector<Bits> words;
  for (int64_t k = 0; k < pe; ++k)
    for (int64_t f = 0; f < cf; ++f) {
      Bits b(pb);
      b.set(0, pb, g.v[(size_t)(f * pe + k)]);
      words.push_back(b);
    }
  if (s.in_width != pe * ib || s.out_width != pe * ob)
    op_fail(n, fmt::format("stream widths {}/{} differ from the layer's {}/{}", s.in_width, s.out_width, pe * ib,
                           pe * ob),
            "internal error");
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
