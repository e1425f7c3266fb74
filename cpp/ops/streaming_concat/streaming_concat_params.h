// StreamingConcat's streams as both back ends read them from the node: every
// input SIMD elements of one width (checked here, once for both layers).
#pragma once
#include <cstdint>
#include <fmt/format.h>
#include <string>
#include <vector>

#include "ops/hw/common.h"

namespace sf {

struct ConcatGeom {
  hw::StreamShapes s;
  std::vector<int64_t> ch;  // channels per input stream
  int64_t simd;
};

// `layer` names the back end in the error ("the RTL", "the HLS layer").
inline ConcatGeom concat_geom(const Node& n, const char* layer) {
  ConcatGeom g{hw::stream_shapes(n), hw::pos_ints(n, "ChannelsPerStream", 0), hw::pos_int(n, "SIMD", 1)};
  if (const Attribute* t = n.attr("inputDataTypes")) {
    for (const std::string& name : t->strings)
      if (!DataType::is_valid_name(name) || DataType::from_name(name).bitwidth() * g.simd != g.s.in_width)
        op_fail(n,
                fmt::format("inputDataTypes {} differ in bit width; {} concatenates equal-width streams", name, layer),
                "give all inputs the datatype of the widest one");
  }
  return g;
}

}  // namespace sf
