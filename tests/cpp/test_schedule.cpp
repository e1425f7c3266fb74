// The stream schedule model (ops/hw/schedule.h): each constraint moves the
// events it should, malformed schedules are typed errors naming the node.
#include <gtest/gtest.h>

#include "ops/hw/schedule.h"
#include "ir/errors.h"

using sf::hw::one_to_one;
using sf::hw::run_schedule;
using sf::hw::Schedule;

namespace {

std::vector<int64_t> iota(int64_t n, int64_t from = 0, int64_t step = 1) {
  std::vector<int64_t> v((size_t)n);
  for (int64_t i = 0; i < n; ++i) v[(size_t)i] = from + i * step;
  return v;
}

}  // namespace

TEST(Schedule, OneToOneFollowsArrivalsPlusLatency) {
  const Schedule s = one_to_one(4, 3, 0);
  const auto t = run_schedule(s, 2, {{0, 1, 5, 6, 7, 20, 21, 22}}, "n");
  EXPECT_EQ(t.in_take[0], (std::vector<int64_t>{0, 1, 5, 6, 7, 20, 21, 22}));
  EXPECT_EQ(t.out_take[0], (std::vector<int64_t>{3, 4, 8, 9, 10, 23, 24, 25}));
}

TEST(Schedule, GapPacesOutputsAndHoldThrottlesInputs) {
  // Two inputs per output, each output two cycles of work after the previous,
  // and room for only two inputs ahead of the outputs.
  Schedule s;
  s.in_beats = {4};
  s.out_beats = {2};
  s.need = {{{2, 4}}};
  s.gap = {{5, 5}};
  s.latency = 1;
  s.hold = {{sf::hw::kNoHold, sf::hw::kNoHold, 0, 0}};
  s.hold_offset = 1;
  const auto t = run_schedule(s, 2, {iota(8)}, "n");
  // frame 0: in 0,1 -> out 2; in 2,3 wait for out 0 (+1) -> 3,4; out 1 = max(4+1, 2+5) = 7
  EXPECT_EQ(t.out_take[0][0], 2);
  EXPECT_EQ(t.in_take[0][2], 3);
  EXPECT_EQ(t.out_take[0][1], 7);
  // frame 1 starts at once (no hold on its first two beats), its third beat
  // waits for frame 1's first output.
  EXPECT_EQ(t.in_take[0][4], 5);
  EXPECT_EQ(t.out_take[0][2], 12);
  EXPECT_EQ(t.in_take[0][6], 13);
}

TEST(Schedule, HoldReachesIntoThePreviousFrame) {
  Schedule s = one_to_one(3, 2, 0);
  s.hold = {{-1, sf::hw::kNoHold, sf::hw::kNoHold}};  // a frame starts once the last one's output left
  const auto t = run_schedule(s, 2, {iota(6)}, "n");
  EXPECT_EQ(t.in_take[0][0], 0);  // no previous frame
  EXPECT_EQ(t.out_take[0][2], 4);
  EXPECT_EQ(t.in_take[0][3], 4);
}

TEST(Schedule, JointInputsMoveTogether) {
  Schedule s;
  s.in_beats = {3, 3};
  s.out_beats = {3};
  s.need = {{{1, 2, 3}, {1, 2, 3}}};
  s.latency = 1;
  s.joint_inputs = true;
  const auto t = run_schedule(s, 1, {{0, 1, 2}, {4, 4, 9}}, "n");
  EXPECT_EQ(t.in_take[0], (std::vector<int64_t>{4, 5, 9}));
  EXPECT_EQ(t.in_take[1], t.in_take[0]);
  EXPECT_EQ(t.out_take[0], (std::vector<int64_t>{5, 6, 10}));
}

TEST(Schedule, OutputsWithoutNeedsFollowThePreviousOutput) {
  // Padding-like: output 0 and 3 need nothing, the others one input each.
  Schedule s;
  s.in_beats = {2};
  s.out_beats = {4};
  s.need = {{{0, 1, 2, 2}}};
  s.latency = 2;
  const auto t = run_schedule(s, 2, {{10, 11, 30, 31}}, "n");
  EXPECT_EQ(t.out_take[0], (std::vector<int64_t>{0, 12, 13, 14, 15, 32, 33, 34}));
}

TEST(Schedule, CircularWaitIsATypedErrorNamingTheNode) {
  Schedule s = one_to_one(2, 1, 0);
  s.hold = {{1, 1}};  // input 0 waits for output 1, which needs input 1
  try {
    run_schedule(s, 1, {iota(2)}, "MVAU_7");
    FAIL() << "no error";
  } catch (const sf::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("MVAU_7"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("waits"), std::string::npos);
  }
}

TEST(Schedule, MalformedSchedulesAreTypedErrors) {
  Schedule s = one_to_one(3, 1, 0);
  s.need[0][0][1] = 0;  // not monotone
  EXPECT_THROW(run_schedule(s, 1, {iota(3)}, "n"), sf::ModelError);
  s = one_to_one(3, 1, 0);
  EXPECT_THROW(run_schedule(s, 2, {iota(3)}, "n"), sf::ModelError);  // too few arrivals
  s.gap = {{1}};
  EXPECT_THROW(run_schedule(s, 1, {iota(3)}, "n"), sf::ModelError);  // wrong length
}
