// streamfold's Verilator harness: drives the AXI-Stream ports of one design
// (a layer or the stitched accelerator) from packed beat files, collects the
// output beats, and counts cycles. It is compiled once per design (the design's
// ports come from the generated sf_ports.h) and cached by content hash.
//
// Usage: sim key=value ...
//   in<i>=FILE        packed input beats of stream i (tdata bytes per beat, little-endian)
//   out<j>=FILE       where the output beats of stream j go
//   in_beats<i>=N     beats in that input file
//   out_beats<j>=N    beats expected on output j
//   out_frame<j>=N    beats per frame on output j (frame completion times)
//   rate=R rate<i>=R  input beats per cycle (all inputs / input i; weight streams run at 1)
//   gap=P stall=P     probability that an input beat is held back / an output is not ready, per cycle
//   seed=S            seed of the gap and stall draws
//   timeout=C         cycles without any handshake that count as a deadlock
//   stats=FILE        JSON with cycles, frame completion cycles, deadlock diagnosis
//   start=C           offer no input beat before cycle C (trace runs use a few
//                     cycles, so registered readies have left reset)
//   trace=FILE        JSON with every beat's cycles: when each input beat was offered
//                     and taken, when each output beat was taken (the FIFO-sizing
//                     schedule models are checked against these)
// Exit status: 0 ok, 2 usage or file error, 3 deadlock, 4 protocol error.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sf_ports.h"
#include "verilated.h"
#include "vl_bits.h"

namespace {

using sf_vl::get_bits;
using sf_vl::put_bits;

[[noreturn]] void fail(int code, const std::string& msg) {
  std::fprintf(stderr, "sim: %s\n", msg.c_str());
  std::exit(code);
}

std::vector<uint8_t> read_file(const std::string& p) {
  FILE* f = std::fopen(p.c_str(), "rb");
  if (!f) fail(2, "cannot open " + p);
  std::vector<uint8_t> v;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) v.insert(v.end(), buf, buf + n);
  std::fclose(f);
  return v;
}

}  // namespace

#include "sf_ports_impl.h"

int main(int argc, char** argv) {
  std::map<std::string, std::string> kv;
  for (int i = 1; i < argc; ++i) {
    const char* eq = std::strchr(argv[i], '=');
    if (!eq) continue;  // Verilator plusargs pass through
    kv[std::string(argv[i], (size_t)(eq - argv[i]))] = eq + 1;
  }
  auto num = [&](const std::string& k, double d) { return kv.count(k) ? std::atof(kv[k].c_str()) : d; };
  const double gap = num("gap", 0.0), stall = num("stall", 0.0);
  // Input rate limit (beats per cycle per input stream): FIFO sizing feeds
  // the design at its bottleneck rate, as the real system settles to.
  const double rate = num("rate", 1.0);
  const uint64_t timeout = (uint64_t)num("timeout", 100000);
  const uint64_t start = (uint64_t)num("start", 0);
  std::mt19937_64 rng((uint64_t)num("seed", 1));
  std::uniform_real_distribution<double> u(0.0, 1.0);

  struct In {
    std::vector<uint8_t> data;
    uint64_t beats = 0, next = 0;
    bool offered = false;
    double credit = 1.0, rate = 1.0;
    std::vector<uint64_t> offer_at, take_at;
  };
  struct Out {
    std::vector<uint8_t> data;
    uint64_t beats = 0, got = 0, frame = 0;
    std::vector<uint64_t> frame_done, take_at;
  };
  std::vector<In> ins(SF_NI);
  std::vector<Out> outs(SF_NO);
  for (int i = 0; i < SF_NI; ++i) {
    const std::string k = "in" + std::to_string(i);
    if (!kv.count(k)) fail(2, "missing " + k + "=FILE");
    ins[i].data = read_file(kv[k]);
    ins[i].beats = (uint64_t)num("in_beats" + std::to_string(i), 0);
    ins[i].rate = num("rate" + std::to_string(i), rate);
    if (ins[i].data.size() != ins[i].beats * (uint64_t)SF_IN_BYTES[i])
      fail(2, "input " + std::to_string(i) + ": file size does not match in_beats x tdata bytes");
  }
  for (int j = 0; j < SF_NO; ++j) {
    outs[j].beats = (uint64_t)num("out_beats" + std::to_string(j), 0);
    outs[j].frame = (uint64_t)num("out_frame" + std::to_string(j), (double)outs[j].beats);
    outs[j].data.assign(outs[j].beats * (uint64_t)SF_OUT_BYTES[j], 0);
  }
  for (const char* f : SF_MEM_FILES) {
    if (!f[0]) continue;
    FILE* h = std::fopen(f, "rb");
    if (!h) fail(2, std::string("memory init file missing: ") + f + " (run the simulation in the layer folder)");
    std::fclose(h);
  }

  auto ctx = std::make_unique<VerilatedContext>();
  ctx->commandArgs(argc, argv);
  auto top = std::make_unique<SF_TOP>(ctx.get());
  top->ap_clk = 0;
  top->ap_rst_n = 0;
  for (int i = 0; i < SF_NI; ++i) sf_in_valid(top.get(), i, false);
  for (int j = 0; j < SF_NO; ++j) sf_out_ready(top.get(), j, false);
  for (int c = 0; c < 8; ++c) {
    top->ap_clk = 1;
    top->eval();
    top->ap_clk = 0;
    top->eval();
  }
  top->ap_rst_n = 1;
  top->eval();

  uint64_t cycle = 0, idle = 0, first_in = UINT64_MAX;
  const bool tracing = kv.count("trace") > 0;
  std::string protocol_error;
  auto all_out = [&]() {
    for (auto& o : outs)
      if (o.got < o.beats) return false;
    return true;
  };
  // After the last expected beat, keep running a little to catch extra beats.
  uint64_t drain = 0;
  while (true) {
    const bool done = all_out();
    if (done && ++drain > 64) break;
    // Drive: inputs hold a beat once offered (AXI-Stream rule); outputs' ready is free.
    for (int i = 0; i < SF_NI; ++i) {
      In& in = ins[i];
      if (in.rate < 1.0 && in.credit < 1.0) in.credit += in.rate;
      if (!in.offered && in.next < in.beats && cycle >= start && (in.rate >= 1.0 || in.credit >= 1.0) && (gap <= 0 || u(rng) >= gap)) {
        if (in.rate < 1.0) in.credit -= 1.0;
        sf_in_data(top.get(), i, in.data.data() + in.next * SF_IN_BYTES[i]);
        in.offered = true;
        if (tracing) in.offer_at.push_back(cycle);
        if (first_in == UINT64_MAX) first_in = cycle;
      }
      sf_in_valid(top.get(), i, in.offered);
    }
    for (int j = 0; j < SF_NO; ++j) sf_out_ready(top.get(), j, stall <= 0 || u(rng) >= stall);
    top->eval();
    bool moved = false;
    for (int i = 0; i < SF_NI; ++i)
      if (ins[i].offered && sf_in_ready(top.get(), i)) {
        ins[i].offered = false;
        ++ins[i].next;
        if (tracing) ins[i].take_at.push_back(cycle);
        moved = true;
      }
    for (int j = 0; j < SF_NO; ++j)
      if (sf_out_valid(top.get(), j) && sf_out_ready_get(top.get(), j)) {
        Out& o = outs[j];
        if (o.got >= o.beats) {
          protocol_error = "output " + std::string(SF_OUT_NAMES[j]) + " produced more beats than expected";
        } else {
          sf_out_data(top.get(), j, o.data.data() + o.got * SF_OUT_BYTES[j]);
          ++o.got;
          if (tracing) o.take_at.push_back(cycle);
          if (o.frame && o.got % o.frame == 0) o.frame_done.push_back(cycle + 1);
        }
        moved = true;
      }
    top->ap_clk = 1;
    top->eval();
    top->ap_clk = 0;
    top->eval();
    ++cycle;
    if (!protocol_error.empty()) break;
    idle = moved ? 0 : idle + 1;
    if (!done && idle > timeout) break;
  }
  const bool deadlock = protocol_error.empty() && !all_out();
  std::string why;
  if (deadlock) {
    for (int i = 0; i < SF_NI; ++i)
      if (ins[i].next < ins[i].beats)
        why += std::string(why.empty() ? "" : "; ") + SF_IN_NAMES[i] + ": beat " + std::to_string(ins[i].next) +
               " of " + std::to_string(ins[i].beats) + " not accepted (TREADY low)";
    for (int j = 0; j < SF_NO; ++j)
      if (outs[j].got < outs[j].beats)
        why += std::string(why.empty() ? "" : "; ") + SF_OUT_NAMES[j] + ": " + std::to_string(outs[j].got) + " of " +
               std::to_string(outs[j].beats) + " beats received (TVALID low)";
  }
  for (int j = 0; j < SF_NO; ++j) {
    const std::string k = "out" + std::to_string(j);
    if (!kv.count(k)) continue;
    FILE* f = std::fopen(kv[k].c_str(), "wb");
    if (!f) fail(2, "cannot write " + kv[k]);
    std::fwrite(outs[j].data.data(), 1, outs[j].data.size(), f);
    std::fclose(f);
  }
  if (kv.count("stats")) {
    FILE* f = std::fopen(kv["stats"].c_str(), "w");
    if (!f) fail(2, "cannot write " + kv["stats"]);
    std::fprintf(f, "{\"sim_cycles\": %llu, \"first_in\": %llu, \"deadlock\": %s, \"why\": \"%s\", \"protocol_error\": \"%s\"",
                 (unsigned long long)cycle, (unsigned long long)(first_in == UINT64_MAX ? 0 : first_in),
                 deadlock ? "true" : "false",
                 why.c_str(), protocol_error.c_str());
    std::fprintf(f, ", \"in_consumed\": [");
    for (int i = 0; i < SF_NI; ++i) std::fprintf(f, "%s%llu", i ? ", " : "", (unsigned long long)ins[i].next);
    std::fprintf(f, "], \"frame_done\": [");
    for (int j = 0; j < SF_NO; ++j) {
      std::fprintf(f, "%s[", j ? ", " : "");
      for (size_t k = 0; k < outs[j].frame_done.size(); ++k)
        std::fprintf(f, "%s%llu", k ? ", " : "", (unsigned long long)outs[j].frame_done[k]);
      std::fprintf(f, "]");
    }
    std::fprintf(f, "], \"monitors\": {");
    for (int k = 0; k < SF_NMON; ++k)
      std::fprintf(f, "%s\"%s\": %llu", k ? ", " : "", SF_MON_NAMES[k], (unsigned long long)sf_mon(top.get(), k));
    std::fprintf(f, "}}\n");
    std::fclose(f);
  }
  if (tracing) {
    FILE* f = std::fopen(kv["trace"].c_str(), "w");
    if (!f) fail(2, "cannot write " + kv["trace"]);
    auto list = [f](const std::vector<uint64_t>& v) {
      std::fprintf(f, "[");
      for (size_t k = 0; k < v.size(); ++k) std::fprintf(f, "%s%llu", k ? "," : "", (unsigned long long)v[k]);
      std::fprintf(f, "]");
    };
    std::fprintf(f, "{\"in_offer\": [");
    for (int i = 0; i < SF_NI; ++i) std::fprintf(f, "%s", i ? ", " : ""), list(ins[i].offer_at);
    std::fprintf(f, "], \"in_take\": [");
    for (int i = 0; i < SF_NI; ++i) std::fprintf(f, "%s", i ? ", " : ""), list(ins[i].take_at);
    std::fprintf(f, "], \"out_take\": [");
    for (int j = 0; j < SF_NO; ++j) std::fprintf(f, "%s", j ? ", " : ""), list(outs[j].take_at);
    std::fprintf(f, "]}\n");
    std::fclose(f);
  }
  top->final();
  if (!protocol_error.empty()) return 4;
  return deadlock ? 3 : 0;
}
