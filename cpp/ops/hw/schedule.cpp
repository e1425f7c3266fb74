#include "ops/hw/schedule.h"

#include <fmt/format.h>

#include <algorithm>

#include "ir/errors.h"

namespace sf::hw {

namespace {

[[noreturn]] void bad(const std::string& node, const std::string& msg) {
  throw ModelError(fmt::format("node '{}': stream schedule model: {}", node, msg),
                   "this is a bug in the op's schedule model (ops/<op>/); size this design with "
                   "auto_fifo_strategy=largefifo_rtlsim meanwhile");
}

void check_shape(const Schedule& s, int64_t frames, const std::vector<std::vector<int64_t>>& arrivals,
                 const std::string& node) {
  const size_t ni = s.in_beats.size(), no = s.out_beats.size();
  if (no == 0) bad(node, "no output");
  if (arrivals.size() != ni) bad(node, fmt::format("{} arrival lists for {} inputs", arrivals.size(), ni));
  if (s.need.size() != no) bad(node, "need[] must have one entry per output");
  for (size_t q = 0; q < no; ++q) {
    if (s.need[q].size() != ni) bad(node, fmt::format("need[{}] must have one entry per input", q));
    for (size_t p = 0; p < ni; ++p) {
      const auto& v = s.need[q][p];
      if (v.empty()) continue;
      if ((int64_t)v.size() != s.out_beats[q]) bad(node, fmt::format("need[{}][{}] has {} entries, not {}", q, p,
                                                                     v.size(), s.out_beats[q]));
      for (size_t k = 0; k < v.size(); ++k)
        if (v[k] < 0 || v[k] > s.in_beats[p] || (k && v[k] < v[k - 1]))
          bad(node, fmt::format("need[{}][{}][{}] = {} is out of order or range", q, p, k, v[k]));
    }
  }
  if (!s.need_offer.empty()) {
    if (s.need_offer.size() != no) bad(node, "need_offer[] must be empty or have one entry per output");
    for (size_t q = 0; q < no; ++q) {
      if (s.need_offer[q].size() != ni) bad(node, fmt::format("need_offer[{}] must have one entry per input", q));
      for (size_t p = 0; p < ni; ++p) {
        const auto& v = s.need_offer[q][p];
        if (v.empty()) continue;
        if ((int64_t)v.size() != s.out_beats[q]) bad(node, fmt::format("need_offer[{}][{}] has the wrong length", q, p));
        for (size_t k = 0; k < v.size(); ++k)
          if (v[k] < 0 || v[k] > s.in_beats[p])
            bad(node, fmt::format("need_offer[{}][{}][{}] = {} is out of range", q, p, k, v[k]));
      }
    }
  }
  if (!s.gap.empty() && s.gap.size() != no) bad(node, "gap[] must be empty or have one entry per output");
  for (size_t q = 0; q < s.gap.size(); ++q)
    if (!s.gap[q].empty() && (int64_t)s.gap[q].size() != s.out_beats[q]) bad(node, "gap[q] has the wrong length");
  if (!s.hold.empty() && s.hold.size() != ni) bad(node, "hold[] must be empty or have one entry per input");
  for (size_t p = 0; p < s.hold.size(); ++p)
    if (!s.hold[p].empty() && (int64_t)s.hold[p].size() != s.in_beats[p]) bad(node, "hold[p] has the wrong length");
  if (!s.in_gap.empty() && s.in_gap.size() != ni) bad(node, "in_gap[] must be empty or have one entry per input");
  for (size_t p = 0; p < s.in_gap.size(); ++p)
    if (!s.in_gap[p].empty() && (int64_t)s.in_gap[p].size() != s.in_beats[p]) bad(node, "in_gap[p] has the wrong length");
  for (size_t p = 0; p < ni; ++p)
    if ((int64_t)arrivals[p].size() < frames * s.in_beats[p])
      bad(node, fmt::format("input {} has {} arrivals for {} frames of {} beats", p, arrivals[p].size(), frames,
                            s.in_beats[p]));
  if (s.joint_inputs)
    for (size_t p = 1; p < ni; ++p)
      if (s.in_beats[p] != s.in_beats[0]) bad(node, "joint inputs must have equal beat counts");
}

}  // namespace

ScheduleTimes run_schedule(const Schedule& s, int64_t frames, const std::vector<std::vector<int64_t>>& arrivals,
                           const std::string& node) {
  check_shape(s, frames, arrivals, node);
  const size_t ni = s.in_beats.size(), no = s.out_beats.size();
  constexpr int64_t kNever = std::numeric_limits<int64_t>::min() / 4;
  ScheduleTimes t;
  t.in_take.assign(ni, {});
  t.out_take.assign(no, {});
  std::vector<int64_t> itot(ni), otot(no);
  for (size_t p = 0; p < ni; ++p) {
    itot[p] = frames * s.in_beats[p];
    t.in_take[p].reserve((size_t)itot[p]);
  }
  for (size_t q = 0; q < no; ++q) {
    otot[q] = frames * s.out_beats[q];
    t.out_take[q].reserve((size_t)otot[q]);
  }
  const int64_t o0 = s.out_beats[0];
  // When input p's next beat may be taken, or false if it waits on an output
  // not yet scheduled.
  auto input_ready = [&](size_t p, int64_t& at) {
    const int64_t j = (int64_t)t.in_take[p].size();
    const int64_t f = j / s.in_beats[p], jj = j % s.in_beats[p];
    int64_t v = arrivals[p][(size_t)j];
    if (j > 0) {
      const int64_t g = (!s.in_gap.empty() && !s.in_gap[p].empty()) ? s.in_gap[p][(size_t)jj] : 1;
      v = std::max(v, t.in_take[p].back() + g);
    }
    if (!s.hold.empty() && !s.hold[p].empty() && s.hold[p][(size_t)jj] != kNoHold) {
      const int64_t idx = f * o0 + s.hold[p][(size_t)jj];
      if (idx >= 0) {
        if (idx >= (int64_t)t.out_take[0].size()) return false;
        v = std::max(v, t.out_take[0][(size_t)idx] + s.hold_offset);
      }
    }
    at = v;
    return true;
  };
  bool more = true;
  while (more) {
    bool progress = false;
    more = false;
    if (s.joint_inputs && ni > 0) {
      while ((int64_t)t.in_take[0].size() < itot[0]) {
        int64_t at = kNever, v = 0;
        bool ok = true;
        for (size_t p = 0; p < ni && ok; ++p) {
          ok = input_ready(p, v);
          at = std::max(at, v);
        }
        if (!ok) break;
        for (size_t p = 0; p < ni; ++p) t.in_take[p].push_back(at);
        progress = true;
      }
    } else {
      for (size_t p = 0; p < ni; ++p) {
        int64_t at = 0;
        while ((int64_t)t.in_take[p].size() < itot[p] && input_ready(p, at)) {
          t.in_take[p].push_back(at);
          progress = true;
        }
      }
    }
    for (size_t q = 0; q < no; ++q) {
      while ((int64_t)t.out_take[q].size() < otot[q]) {
        const int64_t k = (int64_t)t.out_take[q].size();
        const int64_t f = k / s.out_beats[q], kk = k % s.out_beats[q];
        int64_t at = kNever;
        bool ok = true;
        for (size_t p = 0; p < ni && ok; ++p) {
          if (s.need[q][p].empty()) continue;
          const int64_t nd = s.need[q][p][(size_t)kk];
          if (nd == 0) continue;
          const int64_t idx = f * s.in_beats[p] + nd - 1;
          if (idx >= (int64_t)t.in_take[p].size()) {
            ok = false;
          } else {
            at = std::max(at, t.in_take[p][(size_t)idx] + s.latency);
          }
        }
        if (!ok) break;
        if (!s.need_offer.empty())
          for (size_t p = 0; p < ni; ++p) {
            const auto& v = s.need_offer[q][p];
            if (v.empty() || v[(size_t)kk] == 0) continue;
            at = std::max(at, arrivals[p][(size_t)(f * s.in_beats[p] + v[(size_t)kk] - 1)] + s.latency);
          }
        const int64_t g = (!s.gap.empty() && !s.gap[q].empty()) ? s.gap[q][(size_t)kk] : 1;
        if (k > 0) at = std::max(at, t.out_take[q].back() + g);
        at = std::max<int64_t>(at, 0);
        t.out_take[q].push_back(at);
        progress = true;
      }
    }
    for (size_t p = 0; p < ni; ++p) more = more || (int64_t)t.in_take[p].size() < itot[p];
    for (size_t q = 0; q < no; ++q) more = more || (int64_t)t.out_take[q].size() < otot[q];
    if (more && !progress) {
      std::string where;
      for (size_t p = 0; p < ni; ++p) where += fmt::format(" in{}: {}/{}", p, t.in_take[p].size(), itot[p]);
      for (size_t q = 0; q < no; ++q) where += fmt::format(" out{}: {}/{}", q, t.out_take[q].size(), otot[q]);
      bad(node, "an output waits for an input that waits for that output (" + where.substr(1) + ")");
    }
  }
  return t;
}

Schedule one_to_one(int64_t beats, int64_t latency, int64_t capacity) {
  Schedule s;
  s.in_beats = {beats};
  s.out_beats = {beats};
  s.need = {{std::vector<int64_t>((size_t)beats)}};
  for (int64_t k = 0; k < beats; ++k) s.need[0][0][(size_t)k] = k + 1;
  s.latency = latency;
  if (capacity > 0) {
    s.hold = {std::vector<int64_t>((size_t)beats)};
    for (int64_t j = 0; j < beats; ++j) s.hold[0][(size_t)j] = j - capacity;
  }
  return s;
}

std::vector<int64_t> proportional_need(int64_t in_beats, int64_t out_beats) {
  std::vector<int64_t> v((size_t)out_beats);
  for (int64_t k = 0; k < out_beats; ++k) v[(size_t)k] = ((k + 1) * in_beats + out_beats - 1) / out_beats;
  return v;
}

}  // namespace sf::hw
