// Stream schedule of the RTL MVAU (rtl/sf_mvau.sv), for FIFO sizing
// (ops/hw/schedule.h). Only the data stream in0_V is a port of the model: with
// mem_mode external the weight stream in1_V is assumed to keep up (its valid
// always set), and then sf_mvau runs exactly as with its weight ROM (w_ok = 1).
//
// Issue (sf_mvau's sf_cnt / nf_cnt): one step per cycle over NF neuron folds
// of SF steps per input vector. Fold 0 takes one input beat per step
// (in_tready = nf_is0 && credit), folds 1..NF-1 read the input buffer and
// step on every cycle. `credit` (can_reserve of sf_mvau_outq on a fold's last
// step) never drops while the sink takes every beat: a fold's output slot is
// reserved at its last step and freed when the beat leaves L + 2 cycles
// later, and folds are at least SF cycles apart, so at most
// ceil((L + 2) / SF) slots are taken of OQ_DEPTH >= ceil((L + 3) / SF) + 2.
// Hence:
//  - input beat 0 of a vector waits (NF-1)*SF cycles after the previous
//    vector's last beat, plus the one cycle of the step itself (in_gap);
//  - fold f's output beat is issued at the vector's last input beat + f*SF
//    (need = that beat, gap = SF between the folds, which never stall) and
//    offered L + 2 cycles after its issue: D = 2 + LT cycles to the adder-tree
//    sum (operand registers, product/XNOR register, LT tree levels), the
//    accumulator (1), the threshold search (2K + 1, none with noActivation),
//    then sf_mvau_outq offers a beat 2 cycles after it is written.
// Steady state: NF*SF cycles per vector, estimate().cycles per frame.
#include "ops/hw/schedule.h"
#include "ops/mvau/mvau_params.h"
#include "ops/thresholding/thresholding_rtl.h"

namespace sf::rtl {
namespace {

// sf_mvau's tree_lat: pipeline registers of an adder tree over n inputs with a
// register after every re-th level and after the last.
int64_t tree_lat(int64_t n, int re) {
  const int lv = hw::clog2(n);
  int64_t c = 0;
  for (int l = 1; l <= lv; ++l)
    if (l % re == 0 || l == lv) ++c;
  return c;
}

}  // namespace

hw::Schedule mvau_schedule(const Node& n, const Model& m) {
  const MvauAttrs a = mvau_attrs(n, "RTL");
  const int64_t vecs = hw::prod(hw::pos_ints(n, "numInputVectors", 0, {1}));
  // LT: the XNOR form counts groups of 6 bits first (one register) and adds
  // ceil(SIMD/6) counts; the MAC form adds SIMD products.
  const int64_t lt = a.xnor ? 1 + tree_lat((a.simd + 5) / 6, kMvauRegEvery) : tree_lat(a.simd, kMvauRegEvery);
  const int64_t d = 2 + lt;
  const int64_t lth = a.no_act ? 0 : 2 * threshold_search_stages(n, m, 2) + 1;
  const int64_t l = d + 1 + lth;  // issue -> output queue write

  hw::Schedule s;
  s.in_beats = {vecs * a.sf};
  s.out_beats = {vecs * a.nf};
  s.latency = l + 2;
  std::vector<int64_t> need((size_t)(vecs * a.nf)), gap((size_t)(vecs * a.nf), a.sf), in_gap((size_t)(vecs * a.sf), 1);
  for (int64_t v = 0; v < vecs; ++v) {
    for (int64_t f = 0; f < a.nf; ++f) need[(size_t)(v * a.nf + f)] = (v + 1) * a.sf;
    in_gap[(size_t)(v * a.sf)] = (a.nf - 1) * a.sf + 1;
  }
  s.need = {{need}};
  s.gap = {gap};
  s.in_gap = {in_gap};
  return s;
}

}  // namespace sf::rtl
