// StreamingMaxPool's geometry as both back ends read it from the node: one
// derivation (floor/ceil output size, BIPOLAR compared as its {0,1} code,
// which orders like the values), so the RTL and HLS layers cannot disagree.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/hw/common.h"

namespace sf::streaming_maxpool_rtl {

struct MaxPoolGeom {
  std::vector<int64_t> img, k;  // [h, w] of the image and the window
  int64_t c, pe;
  DataType dt;
  int64_t od[2];                // output [h, w]
  bool is_signed;               // compare as signed (never for BIPOLAR)
  hw::StreamShapes s;
};

inline MaxPoolGeom maxpool_geom(const Node& n) {
  // Braced initialization runs in order: attributes are checked in the order the emitters always read them.
  MaxPoolGeom g{hw::pos_ints(n, "ImgDim", 2), hw::pos_ints(n, "PoolDim", 2), hw::pos_int(n, "NumChannels"),
                hw::pos_int(n, "PE", 1),      {},  {0, 0}, false, {}};
  const bool ceil_mode = n.get_int("CeilMode", 0) != 0;
  for (int i = 0; i < 2; ++i) g.od[i] = ceil_mode ? (g.img[i] + g.k[i] - 1) / g.k[i] : g.img[i] / g.k[i];
  g.dt = hw::dtype_attr(n, "dataType");
  g.s = hw::stream_shapes(n);
  g.is_signed = g.dt.is_signed() && g.dt.kind() != DataType::Kind::BIPOLAR;
  return g;
}

}  // namespace sf::streaming_maxpool_rtl
