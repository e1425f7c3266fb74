// FMPadding's layer geometry and pad value as both back ends read them from
// the node: one derivation, so the RTL and HLS layers cannot disagree.
#pragma once
#include <cstdint>

#include "ops/hw/common.h"

namespace sf::fmpadding_rtl {

struct FMPaddingGeom {
  int bits;                    // element width
  int64_t simd, cf;            // channels per beat, beats per pixel
  int64_t ih, iw, oh, ow;      // image in / out
  int64_t pt, pl;              // pads top / left (bottom / right follow from oh, ow)
  int64_t pad_value;           // BIPOLAR's -1 already as 0 (it travels as {0,1})
  hw::StreamShapes s;
};

inline FMPaddingGeom fmpadding_geom(const Node& n) {
  const auto img = hw::pos_ints(n, "ImgDim", 2);
  const auto pad = n.get_ints("Padding");
  const int64_t c = hw::pos_int(n, "NumChannels"), simd = hw::pos_int(n, "SIMD", 1);
  const DataType dt = hw::dtype_attr(n, "inputDataType");
  int64_t pv = n.get_int("PadValue", 0);
  if (dt.kind() == DataType::Kind::BIPOLAR) pv = pv > 0 ? 1 : 0;
  return {dt.bitwidth(), simd, c / simd, img[0], img[1], img[0] + pad[0] + pad[2], img[1] + pad[1] + pad[3],
          pad[0], pad[1], pv, hw::stream_shapes(n)};
}

}  // namespace sf::fmpadding_rtl
