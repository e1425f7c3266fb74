// Stream schedule of the RTL VVAU (rtl/sf_vvau.sv), for FIFO sizing
// (ops/hw/schedule.h). Only the data stream in0_V is a port of the model: with
// mem_mode external the weight stream in1_V is assumed to keep up (its valid
// always set), and then sf_vvau_mac runs exactly as with its weight ROM
// (w_ok = 1).
//
// sf_vvau_mac moves its whole pipeline on one enable, the output skid's free
// slot (sf_skid in_tready = !skid_valid_q), which stays set while the sink
// takes every beat (with thresholds the skid's sink is sf_thresholding, whose
// in_tready, can_reserve, never drops then either: thresholding_rtl_latency).
// So every input beat is taken when offered, and the accumulator of channel
// fold cf of a pixel is finished by the last of its SF tap-fold beats (beat
// (k + 1)*SF of the frame for output beat k, the channel folds outermost):
// LAT = 3 + clog2(SIMD) cycles later (input/weight register, product
// register, adder-tree levels, accumulator) it is at the skid's input, one
// more and it is offered (noActivation), or taken by sf_thresholding and
// offered thresholding_rtl_latency(K) later.
// Steady state: one beat per cycle, NF*SF*H*W cycles per frame (estimate).
#include "ops/hw/schedule.h"
#include "ops/thresholding/thresholding_rtl.h"
#include "ops/vvau/vvau_params.h"

namespace sf {

hw::Schedule vvau_schedule(const Node& n, const Model& m) {
  const VvauAttrs a = vvau_attrs(n);
  const std::vector<int64_t> dim = hw::pos_ints(n, "Dim", 2);
  const int64_t pix = dim[0] * dim[1];
  const int64_t lat = 3 + hw::clog2(a.simd);  // sf_vvau_mac's LAT
  hw::Schedule s;
  s.in_beats = {pix * a.nf * a.sf};
  s.out_beats = {pix * a.nf};
  s.latency = lat + 1 + (a.no_act ? 0 : rtl::thresholding_rtl_latency(rtl::threshold_search_stages(n, m, 2)));
  std::vector<int64_t> need((size_t)(pix * a.nf));
  for (size_t k = 0; k < need.size(); ++k) need[k] = ((int64_t)k + 1) * a.sf;
  s.need = {{need}};
  return s;
}

}  // namespace sf
