// HLS emitter of StreamingConcat (hlslib/sf_concat.hpp): inputs in0_V ..
// in{N-1}_V of one width (as the RTL layer), the folds as a constant array.
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "ops/hw/hls_emit.h"

namespace sf {

void concat_emit_hls(hls::LayerEmitter& e) {
  const Node& n = e.node();
  const hw::StreamShapes s = hw::stream_shapes(n);
  const auto ch = hw::pos_ints(n, "ChannelsPerStream", 0);
  const int64_t simd = hw::pos_int(n, "SIMD", 1);
  if (const Attribute* t = n.attr("inputDataTypes")) {
    for (const std::string& name : t->strings)
      if (!DataType::is_valid_name(name) || DataType::from_name(name).bitwidth() * simd != s.in_width)
        op_fail(n, fmt::format("inputDataTypes {} differ in bit width; the HLS layer concatenates equal-width streams",
                               name),
                "give all inputs the datatype of the widest one");
  }
  // Pixels per frame: the frame is the normal input without its leading axis.
  int64_t pixels = 1;
  for (size_t i = 1; i + 1 < s.normal_in.size(); ++i) pixels *= s.normal_in[i];
  int64_t sum = 0;
  std::string folds, args;
  std::vector<hls::Stream> ins;
  for (size_t i = 0; i < ch.size(); ++i) {
    sum += ch[i] / simd;
    folds += fmt::format("{}{}", i ? ", " : "", ch[i] / simd);
    args += fmt::format(", in{}_V", i);
    ins.push_back({fmt::format("in{}_V", i), (int)s.in_width});
  }
  e.use({"sf_concat.hpp"});
  e.top(fmt::format("  static const unsigned folds[{}] = {{{}}};\n"
                    "  sf::StreamingConcat<{}, {}, {}>(out_V, folds, 1{});\n",
                    ch.size(), folds, s.in_width, pixels, sum, args),
        ins, {{"out_V", (int)s.out_width}});
}

}  // namespace sf
