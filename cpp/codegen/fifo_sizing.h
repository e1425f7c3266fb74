// FIFO sizing without simulation (auto_fifo_strategy "characterize"): every
// HW layer's stream schedule (ops/hw/schedule.h) runs in topological order
// with every FIFO unbounded, the source paced at `in_rate` beats per cycle
// and the sink always ready. A FIFO's depth is then the most beats it held;
// with at least that many slots no layer ever waits on a full FIFO, so the
// bounded design keeps the unbounded one's timing. Fork/join paths come out
// right because a join's inputs are timed by both branches' schedules.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "ir/graph.h"
#include "ops/hw/schedule.h"

namespace sf::rtl {

// A node's schedule (validated first). ModelError naming the node when its
// op has no schedule model.
hw::Schedule node_schedule(const Model& m, const std::string& node);

struct FifoCharacterization {
  std::map<std::string, int64_t> max_occupancy;  // per StreamingFIFO node
  int64_t cycles = 0;                            // until the last output beat of the last frame
};

FifoCharacterization characterize_fifos(const Model& m, int64_t frames, double in_rate);

}  // namespace sf::rtl
