// HLS emitter of the Thresholding layer (hlslib/sf_thresholding.hpp) and the
// threshold array the MVAU and VVAU share (thresholding_hls.h).
#include "ops/thresholding/thresholding_hls.h"

#include <algorithm>
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/thresholding/thresholding_rtl.h"

namespace sf::hls {

int kind_of(const DataType& t) {
  if (t.kind() == DataType::Kind::BIPOLAR) return 2;
  return t.is_signed() ? 1 : 0;
}

std::string threshold_array(LayerEmitter& e, const Tensor& thr, int64_t channels, int64_t pe, int in_bits,
                            bool in_signed, std::string& pragmas) {
  const rtl::ThresholdRows tr = rtl::threshold_rows(e.node(), thr, channels, in_bits, in_signed);
  const int64_t trows = tr.rows == 1 ? 1 : channels / pe;
  // At least one step (a threshold above every input never counts), so the
  // array has no zero dimension.
  const int64_t steps = std::max<int64_t>(tr.steps, 1);
  std::vector<Bits> words;
  words.reserve((size_t)(pe * trows * steps));
  for (int64_t p = 0; p < pe; ++p)
    for (int64_t f = 0; f < trows; ++f)
      for (int64_t s = 0; s < steps; ++s) {
        Bits b(tr.tw);
        const std::vector<int64_t>& row = tr.sorted[(size_t)(tr.rows == 1 ? 0 : f * pe + p)];
        b.set(0, tr.tw, s < tr.steps ? row[(size_t)s] : tr.hi + 1);
        words.push_back(b);
      }
  const std::string name = e.array("thresholds", {pe, trows, steps}, words);
  // Every lane compares all its steps in the same cycle.
  pragmas += fmt::format("#pragma HLS ARRAY_PARTITION variable={} complete dim=1\n", name);
  pragmas += fmt::format("#pragma HLS ARRAY_PARTITION variable={} complete dim=3\n", name);
  e.use({"sf_activation.hpp"});
  return name;
}

int64_t threshold_bias(const DataType& odt, int64_t act_val) {
  return odt.kind() == DataType::Kind::BIPOLAR ? 0 : act_val;
}

void thresholding_emit_hls(LayerEmitter& e) {
  const Node& n = e.node();
  const int64_t c = hw::pos_int(n, "NumChannels"), pe = hw::pos_int(n, "PE");
  const DataType idt = hw::dtype_attr(n, "inputDataType"), odt = hw::dtype_attr(n, "outputDataType");
  if (!idt.is_integer() || idt.kind() == DataType::Kind::BIPOLAR)
    op_fail(n, fmt::format("inputDataType {} has no HLS Thresholding", idt.name()),
            "the HLS Thresholding layer compares integer inputs (INTn, UINTn); keep this one on the host");
  if (n.get_string("mem_mode", "internal_embedded") == "external")
    op_fail(n, "mem_mode=external is not supported by the HLS Thresholding layer", "use internal_embedded");
  const int ib = idt.bitwidth(), ob = odt.bitwidth();
  const hw::StreamShapes ss = hw::stream_shapes(n);
  if (ss.in_width != pe * ib || ss.out_width != pe * ob)
    op_fail(n, fmt::format("stream widths {}/{} differ from the layer's {}/{}", ss.in_width, ss.out_width, pe * ib,
                           pe * ob),
            "internal error");
  int64_t beats = 1;
  for (size_t i = 1; i + 1 < ss.folded_in.size(); ++i) beats *= ss.folded_in[i];
  std::string pragmas;
  const std::string thr = threshold_array(e, e.initializer(1), c, pe, ib, idt.is_signed(), pragmas);
  e.use({"sf_thresholding.hpp"});
  e.top(pragmas + fmt::format("  sf::thresholding<{}, {}, {}, {}, {}, {}, {}L>(in0_V, out_V, {});\n", pe, c / pe, ib,
                              kind_of(idt), ob, threshold_bias(odt, n.get_int("ActVal", 0)), beats, thr),
        {{"in0_V", (int)(pe * ib)}}, {{"out_V", (int)(pe * ob)}});
}

}  // namespace sf::hls
