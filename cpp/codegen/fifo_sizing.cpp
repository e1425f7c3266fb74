#include "codegen/fifo_sizing.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "exec/executor.h"
#include "passes/folding/hw_cost.h"

namespace sf::rtl {

namespace {

// The harness's source pacing (rtlsim/harness.cpp): one credit per beat,
// `rate` credits earned per cycle.
std::vector<int64_t> paced(int64_t beats, double rate) {
  std::vector<int64_t> v((size_t)beats);
  double credit = 1.0;
  int64_t cycle = 0;
  for (int64_t j = 0; j < beats; ++cycle) {
    if (rate < 1.0 && credit < 1.0) credit += rate;
    if (rate >= 1.0 || credit >= 1.0) {
      if (rate < 1.0) credit -= 1.0;
      v[(size_t)j++] = cycle;
    }
  }
  return v;
}

// Most beats held between a writer's and a reader's handshake cycles.
int64_t max_held(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  int64_t best = 0, held = 0;
  size_t i = 0, o = 0;
  while (i < in.size()) {
    const int64_t t = o < out.size() ? std::min(in[i], out[o]) : in[i];
    while (i < in.size() && in[i] == t) ++i, ++held;
    while (o < out.size() && out[o] == t) ++o, --held;
    best = std::max(best, held);
  }
  return best;
}

}  // namespace

hw::Schedule node_schedule(const Model& m, const std::string& node) {
  folding::validate_node(m, node);
  const Node& n = m.graph.nodes[(size_t)m.graph.find_node(node)];
  const OpDef& d = OpRegistry::instance().get(n);
  if (!d.schedule)
    throw ModelError(fmt::format("node '{}': {} has no stream schedule model for FIFO sizing", n.name, n.op_type),
                     "set auto_fifo_strategy to largefifo_rtlsim, which simulates the stitched RTL instead");
  return d.schedule(n, m);
}

FifoCharacterization characterize_fifos(const Model& m, int64_t frames, double in_rate) {
  const Graph& g = m.graph;
  if (frames < 1) throw StreamfoldError("characterize_fifos: frames must be at least 1", "pass frames >= 1");
  if (!(in_rate > 0.0)) throw StreamfoldError("characterize_fifos: in_rate must be positive", "pass 0 < in_rate <= 1");
  FifoCharacterization r;
  std::map<std::string, std::vector<int64_t>> offered;  // tensor -> writer's handshake cycles
  std::map<std::string, int64_t> ready_after;           // tensor -> cycles from offer to readable
  std::map<std::string, std::vector<int64_t>> taken;    // tensor -> reader's handshake cycles
  std::set<std::string> graph_in;
  for (const ValueInfo* vi : g.runtime_inputs()) graph_in.insert(vi->name);
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>> fifos;
  // The writer's handshake cycles of tensor t, which node n reads: a graph
  // input is written by the paced source, anything else by a node before n.
  auto written = [&](const Node& n, const std::string& t, int64_t beats) -> const std::vector<int64_t>& {
    auto it = offered.find(t);
    if (it != offered.end()) return it->second;
    if (!graph_in.count(t))
      throw ModelError(fmt::format("node '{}': input {} has no writer", n.name, t), "check the graph");
    return offered[t] = paced(frames * beats, in_rate);
  };

  for (int idx : topological_order(g)) {
    const Node& n = g.nodes[(size_t)idx];
    if (!folding::is_hw_node(n))
      throw ModelError(fmt::format("node '{}' ({}) is not a HW layer", n.name, n.op_type),
                       "size the FIFOs of the dataflow child (after step_create_dataflow_partition)");
    std::vector<std::string> ins;
    for (const std::string& t : n.inputs)
      if (!t.empty() && !g.get_initializer(t)) ins.push_back(t);
    const hw::Schedule s = node_schedule(m, n.name);
    if (n.op_type == "StreamingFIFO") {
      const std::string& a = ins.at(0);
      // Unbounded: the FIFO takes every beat when offered.
      taken[a] = written(n, a, s.in_beats[0]);
      offered[n.outputs.at(0)] = offered[a];
      ready_after[n.outputs.at(0)] = ready_after[a] + s.latency;  // sf_fifo's (StreamingFIFO's model)
      fifos.push_back({n.name, {a, n.outputs.at(0)}});
      continue;
    }
    if (s.in_beats.size() != ins.size() || s.out_beats.size() != n.outputs.size())
      throw ModelError(fmt::format("node '{}': its schedule model has {} inputs and {} outputs, the node {} and {}",
                                   n.name, s.in_beats.size(), s.out_beats.size(), ins.size(), n.outputs.size()),
                       "this is a bug in the op's schedule model");
    std::vector<std::vector<int64_t>> arrivals;
    for (size_t p = 0; p < ins.size(); ++p) {
      const std::string& t = ins[p];
      written(n, t, s.in_beats[p]);
      if ((int64_t)offered[t].size() != frames * s.in_beats[p])
        throw ModelError(fmt::format("node '{}': input {} carries {} beats per frame, the node expects {}", n.name,
                                     t, offered[t].size() / (size_t)frames, s.in_beats[p]),
                         "insert a StreamingDataWidthConverter (InsertDWC) where widths differ");
      std::vector<int64_t> a = offered[t];
      const int64_t d = ready_after.count(t) ? ready_after[t] : 0;
      for (auto& x : a) x += d;
      arrivals.push_back(std::move(a));
    }
    hw::ScheduleTimes st = hw::run_schedule(s, frames, arrivals, n.name);
    for (size_t p = 0; p < ins.size(); ++p) taken[ins[p]] = std::move(st.in_take[p]);
    for (size_t q = 0; q < n.outputs.size(); ++q) offered[n.outputs[q]] = std::move(st.out_take[q]);
  }
  for (const ValueInfo& vo : g.outputs) {
    // The sink is always ready.
    auto it = offered.find(vo.name);
    if (it == offered.end()) continue;
    std::vector<int64_t> a = it->second;
    const int64_t d = ready_after.count(vo.name) ? ready_after[vo.name] : 0;
    for (auto& x : a) x += d;
    if (!a.empty()) r.cycles = std::max(r.cycles, a.back() + 1);
    taken[vo.name] = std::move(a);
  }
  for (const auto& [name, io] : fifos) {
    const auto& in = taken[io.first];
    auto it = taken.find(io.second);
    if (it == taken.end())
      throw ModelError(fmt::format("FIFO '{}' has no reader", name), "check the graph");
    r.max_occupancy[name] = max_held(in, it->second);
  }
  return r;
}

}  // namespace sf::rtl
