// A HW layer's stream schedule: when it takes input beats and offers output
// beats, as a function of when its input beats arrive, with an always-ready
// sink. FIFO sizing (codegen/fifo_sizing.h) composes these over the whole
// graph instead of simulating the stitched RTL, which takes a Verilator build;
// each op's model is checked beat by beat against its RTL's handshake trace
// (tests/python/test_fifo_schedules.py).
//
// The model is a set of max-plus constraints, per frame and repeating from
// frame to frame (beat indices count from the frame's start):
//   out[q][k] >= out[q][k-1] + gap[q][k]                    (compute pace)
//   out[q][k] >= in[p][need[q][p][k] - 1] + latency           (data needed; 0 = none)
//   out[q][k] >= arrival[p][need_offer[q][p][k] - 1] + latency (an offer seen, not taken)
//   in[p][j]  >= in[p][j-1] + 1                               (one beat per cycle)
//   in[p][j]  >= arrival[p][j]                                (the beat is there)
//   in[p][j]  >= out[0][hold[p][j]] + hold_offset             (internal buffer full)
// and each event happens at the earliest cycle these allow. With joint_inputs
// every port takes beat j in the same cycle (AddStreams).
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace sf::hw {

constexpr int64_t kNoHold = std::numeric_limits<int64_t>::min();

struct Schedule {
  std::vector<int64_t> in_beats;   // per streamed input (node inputs that are not initializers)
  std::vector<int64_t> out_beats;  // per output
  // need[q][p][k]: beats of input p (from the frame's start) that output q's
  // beat k waits for; non-decreasing in k. An empty need[q][p] means none.
  std::vector<std::vector<std::vector<int64_t>>> need;
  // need_offer[q][p][k]: like need, but on the cycles input p's beats are
  // offered (valid seen), for RTL that starts on TVALID before it takes the
  // beat (FMPadding's leading border). Empty: none anywhere.
  std::vector<std::vector<std::vector<int64_t>>> need_offer;
  // gap[q][k]: least cycles between output q's beats k-1 and k (k = 0: after
  // the previous frame's last beat). Empty gap[q] means 1 throughout.
  std::vector<std::vector<int64_t>> gap;
  int64_t latency = 1;
  // hold[p][j]: input p's beat j waits for output 0's beat hold[p][j]
  // (counted from this frame's start; negative reaches into the previous
  // frame; kNoHold: no wait). Empty hold[p] means no wait at all.
  std::vector<std::vector<int64_t>> hold;
  int64_t hold_offset = 0;
  // in_gap[p][j]: least cycles between input p's beats j-1 and j (empty: 1).
  std::vector<std::vector<int64_t>> in_gap;
  bool joint_inputs = false;
};

// Handshake cycles of every beat over `frames` frames.
struct ScheduleTimes {
  std::vector<std::vector<int64_t>> in_take, out_take;
};

// Runs a schedule on given arrival cycles (one vector per input, at least
// frames * in_beats[p] long). Throws ModelError naming `node` when the
// schedule is malformed (sizes, a need or hold that can never be met).
ScheduleTimes run_schedule(const Schedule& s, int64_t frames, const std::vector<std::vector<int64_t>>& arrivals,
                           const std::string& node);

// Building blocks for the ops' models.
// One beat out per beat in, `latency` cycles later, at most `capacity` beats
// inside (input j waits for output j - capacity).
Schedule one_to_one(int64_t beats, int64_t latency, int64_t capacity);
// Element-rate change: `in_beats` beats in, `out_beats` out per frame, where
// output k needs the input beats that hold its elements (DWC-like; the frame
// is the same elements in the same order).
std::vector<int64_t> proportional_need(int64_t in_beats, int64_t out_beats);

}  // namespace sf::hw
