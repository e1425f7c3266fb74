// AddStreams' element types as both back ends read them from the node: in0_V
// PE*b0 and in1_V PE*b1 wide (FINN), the sum in the op's output type (the
// range of the two input ranges added). One derivation for the RTL and HLS layers.
#pragma once
#include <cstdint>

#include "ops/hw/common.h"

namespace sf {

struct AddStreamsTypes {
  int64_t pe;
  DataType d0, d1, od;
  int b0, b1, ob;
};

inline AddStreamsTypes addstreams_types(const Node& n) {
  const int64_t pe = hw::pos_int(n, "PE", 1);
  const auto& names = n.attr("inputDataTypes")->strings;  // validated by read()
  const DataType d0 = DataType::from_name(names[0]), d1 = DataType::from_name(names[1]);
  const DataType od = hw::range_datatype(d0.min() + d1.min(), d0.max() + d1.max());
  return {pe, d0, d1, od, d0.bitwidth(), d1.bitwidth(), od.bitwidth()};
}

}  // namespace sf
