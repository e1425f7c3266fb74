// axi_mem.h: a header-only, cycle-based model of DDR behind the Zynq PS7's
// S_AXI_HP0 port, for Verilator testbenches (the IODMA tests and the
// full-system simulation). It depends on nothing Verilated: the testbench
// copies signals between the Verilated model and plain `sf::AxiPort` structs.
//
// What it models
// - One byte array of `size` bytes at AXI address `base` (e.g. 0x10000000).
// - Any number of AXI4 master ports (`add_port`), each with its own AR/R/AW/W/B
//   channels of 64-bit data (AXI_DW = 64, ARSIZE/AWSIZE = 3, INCR bursts of
//   1..256 beats). There are no IDs: each port's reads complete in order, and
//   so do its writes.
// - Seeded random latency per burst: a read burst's first beat is offered no
//   earlier than rd_lat_min..rd_lat_max cycles after its AR handshake; a write
//   burst's BVALID comes wr_lat_min..wr_lat_max cycles after its last W beat
//   was written to memory.
// - Seeded random gaps and backpressure: each cycle ARREADY, AWREADY, WREADY
//   are high with probability p_arready / p_awready / p_wready (and only while
//   the port has room: max_reads read bursts, max_writes write bursts,
//   wbuf_beats buffered W beats); a ready R beat / B response is offered with
//   probability p_rvalid / p_bvalid.
// - Shared bandwidth: across all ports at most one R beat is produced and at
//   most one W beat is written to memory per cycle, round robin over ports.
//   (Each port has a one-beat R output register and a W buffer, like the
//   interconnect in front of the HP port, so a port that stalls its R channel
//   does not stop the others.)
// - Protocol checks, which call `on_error` (default: print the message to
//   stderr and std::abort()): burst crossing a 4 KiB boundary, ARSIZE/AWSIZE
//   != 3, burst type other than INCR, address range outside the memory, WLAST
//   not on the last beat of its burst (or on an earlier one), VALID dropped or
//   the payload changed before its READY (check_stable). Messages name the
//   port, the channel, the cycle and the values.
// Addresses that are not 8-byte aligned are treated as AXI does for a full-
// width INCR burst: beat k covers the aligned word at (addr & ~7) + 8k.
//
// How to drive it (once per rising clock edge):
//
//   sf::AxiMemConfig cfg; cfg.seed = 7; cfg.p_rvalid = 0.7;
//   sf::AxiMem mem(0x10000000, 1 << 24, cfg);
//   int p = mem.add_port("idma0");          // ports before the first tick()
//   mem.write_bytes(0x10000000, src, n);    // host side: fill the buffer
//   for (;;) {
//     sf::AxiPort& a = mem.port(p);
//     // 1. memory -> DUT: a.arready, a.rdata/rresp/rlast/rvalid, a.awready,
//     //    a.wready, a.bresp/bvalid (set by the constructor/add_port and by the
//     //    previous tick()), then top->eval() with ap_clk low.
//     // 2. DUT -> memory: a.araddr/arlen/arsize/arburst/arvalid, a.rready,
//     //    a.awaddr/awlen/awsize/awburst/awvalid, a.wdata/wstrb/wlast/wvalid,
//     //    a.bready (the DUT's outputs as they are just before the edge).
//     mem.tick();                           // 3. sample the handshakes, advance one cycle
//     // 4. ap_clk high, top->eval(): the DUT sees the same handshakes.
//   }
//   mem.read_bytes(0x10000000, dst, n);     // host side: read the result
//
// The memory's outputs depend only on its own state (never combinationally on
// the master's VALIDs), so one eval per half cycle is enough; the master may
// make its READYs depend on the memory's VALIDs. A handshake is valid && ready
// as both are in the struct when tick() is called.
//
// Other API: `idle()` (nothing in flight on any port), `cycle()` (ticks so
// far), `stats(p)` (per-port counters: bursts, beats, the most read bursts in
// flight at once), `cfg` (public; latencies and probabilities may be changed
// between ticks), `data()`, `base()`, `size()`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace sf {

struct AxiMemConfig {
  uint32_t rd_lat_min = 20, rd_lat_max = 40;  // AR handshake -> first R beat offered (cycles)
  uint32_t wr_lat_min = 20, wr_lat_max = 40;  // last W beat written -> BVALID (cycles)
  double p_arready = 1.0;                     // per-cycle probabilities (1.0: no gaps)
  double p_rvalid = 1.0;
  double p_awready = 1.0;
  double p_wready = 1.0;
  double p_bvalid = 1.0;
  uint32_t max_reads = 16;    // read bursts in flight per port before ARREADY stays low
  uint32_t max_writes = 16;   // write bursts (accepted AW, B not yet taken) per port
  uint32_t wbuf_beats = 64;   // W beats a port holds before memory writes them
  uint64_t seed = 1;
  bool check_stable = true;   // VALID must stay high, payload unchanged, until READY
};

// The signals of one AXI4 port (64-bit data). Master -> memory fields are
// written by the testbench; memory -> master fields by tick().
struct AxiPort {
  // master -> memory
  uint64_t araddr = 0;
  uint32_t arlen = 0, arsize = 3, arburst = 1;
  bool arvalid = false;
  bool rready = false;
  uint64_t awaddr = 0;
  uint32_t awlen = 0, awsize = 3, awburst = 1;
  bool awvalid = false;
  uint64_t wdata = 0;
  uint32_t wstrb = 0;
  bool wlast = false, wvalid = false;
  bool bready = false;
  // memory -> master
  bool arready = false;
  uint64_t rdata = 0;
  uint32_t rresp = 0;
  bool rlast = false, rvalid = false;
  bool awready = false;
  bool wready = false;
  uint32_t bresp = 0;
  bool bvalid = false;
};

struct AxiPortStats {
  uint64_t ar = 0, r_beats = 0, aw = 0, w_beats = 0, b = 0;
  uint64_t max_reads_in_flight = 0;  // most read bursts accepted and not yet fully returned
  uint64_t first_ar = ~0ull, last_r = 0, first_aw = ~0ull, last_b = 0;  // cycles
};

class AxiMem {
 public:
  AxiMemConfig cfg;
  // Called on a protocol error with a one-line message; default: print and abort.
  std::function<void(const std::string&)> on_error;

  AxiMem(uint64_t base, uint64_t size, const AxiMemConfig& c = AxiMemConfig())
      : cfg(c), base_(base), mem_(size, 0), rng_(c.seed) {
    on_error = [](const std::string& m) {
      std::fprintf(stderr, "axi_mem protocol error: %s\n", m.c_str());
      std::fflush(stderr);
      std::abort();
    };
  }

  int add_port(const std::string& name = "") {
    ports_.emplace_back(new Port());
    Port& p = *ports_.back();
    p.name = name.empty() ? "port" + std::to_string(ports_.size() - 1) : name;
    set_readies(p);
    return (int)ports_.size() - 1;
  }
  int num_ports() const { return (int)ports_.size(); }
  AxiPort& port(int i) { return ports_.at((size_t)i)->sig; }
  const AxiPortStats& stats(int i) const { return ports_.at((size_t)i)->st; }

  uint64_t base() const { return base_; }
  uint64_t size() const { return mem_.size(); }
  uint8_t* data() { return mem_.data(); }
  uint64_t cycle() const { return cycle_; }

  void write_bytes(uint64_t addr, const void* src, uint64_t n) {
    host_range(addr, n, "write_bytes");
    std::memcpy(mem_.data() + (addr - base_), src, n);
  }
  void read_bytes(uint64_t addr, void* dst, uint64_t n) const {
    host_range(addr, n, "read_bytes");
    std::memcpy(dst, mem_.data() + (addr - base_), n);
  }

  // Nothing in flight on any port (no accepted burst unfinished, no beat or
  // response offered and not taken).
  bool idle() const {
    for (auto& pp : ports_) {
      const Port& p = *pp;
      if (!p.rq.empty() || !p.wq.empty() || !p.wbuf.empty() || !p.bq.empty() || p.sig.rvalid || p.sig.bvalid)
        return false;
    }
    return true;
  }

  // One rising clock edge: sample handshakes, move data, set next outputs.
  void tick() {
    const size_t np = ports_.size();
    for (auto& pp : ports_) handshakes(*pp);
    // One R beat per cycle across ports, round robin.
    for (size_t k = 0; k < np; ++k) {
      Port& p = *ports_[(r_rr_ + k) % np];
      if (p.sig.rvalid || p.rq.empty() || p.rq.front().ready > cycle_) continue;
      if (!chance(cfg.p_rvalid)) continue;
      ReadBurst& b = p.rq.front();
      const uint64_t a = (b.addr & ~7ull) + 8ull * b.beat;
      uint64_t w = 0;
      std::memcpy(&w, mem_.data() + (a - base_), 8);
      p.sig.rdata = w;
      p.sig.rresp = 0;
      p.sig.rlast = b.beat == b.len;
      p.sig.rvalid = true;
      if (++b.beat > b.len) p.rq.pop_front();
      r_rr_ = (r_rr_ + k + 1) % np;
      break;
    }
    // One W beat written per cycle across ports, round robin; a W beat waits
    // in its port's buffer until its burst's AW has been accepted.
    for (size_t k = 0; k < np; ++k) {
      Port& p = *ports_[(w_rr_ + k) % np];
      if (p.wbuf.empty() || p.wq.empty()) continue;
      WBeat wb = p.wbuf.front();
      p.wbuf.pop_front();
      WriteBurst& b = p.wq.front();
      const bool last = b.beat == b.len;
      if (wb.last != last)
        error(p, "W", "WLAST=" + std::to_string(wb.last) + " on beat " + std::to_string(b.beat) + " of a " +
                          std::to_string(b.len + 1) + "-beat burst at " + hex(b.addr));
      const uint64_t a = (b.addr & ~7ull) + 8ull * b.beat;
      for (int i = 0; i < 8; ++i)
        if ((wb.strb >> i) & 1) mem_[a - base_ + i] = (uint8_t)(wb.data >> (8 * i));
      ++b.beat;
      if (last) {
        p.bq.push_back(cycle_ + draw(cfg.wr_lat_min, cfg.wr_lat_max));
        p.wq.pop_front();
      }
      w_rr_ = (w_rr_ + k + 1) % np;
      break;
    }
    for (auto& pp : ports_) {
      Port& p = *pp;
      if (!p.sig.bvalid && !p.bq.empty() && p.bq.front() <= cycle_ && chance(cfg.p_bvalid)) {
        p.bq.pop_front();
        p.sig.bvalid = true;
        p.sig.bresp = 0;
      }
      set_readies(p);
    }
    ++cycle_;
  }

 private:
  struct ReadBurst { uint64_t addr; uint32_t len, beat; uint64_t ready; };
  struct WriteBurst { uint64_t addr; uint32_t len, beat; };
  struct WBeat { uint64_t data; uint32_t strb; bool last; };
  struct Port {
    std::string name;
    AxiPort sig;
    AxiPortStats st;
    std::deque<ReadBurst> rq;     // accepted, beats still to return
    std::deque<WriteBurst> wq;    // AW accepted, W beats still to write
    std::deque<WBeat> wbuf;       // W beats accepted, not yet written
    std::deque<uint64_t> bq;      // write bursts complete: cycle their B may be offered
    uint32_t writes = 0;          // write bursts accepted whose B was not yet taken
    // what was offered last cycle without a handshake (stability checks)
    bool ar_pend = false, aw_pend = false, w_pend = false;
    AxiPort prev;
  };

  uint64_t base_;
  std::vector<uint8_t> mem_;
  std::vector<std::unique_ptr<Port>> ports_;
  std::mt19937_64 rng_;
  uint64_t cycle_ = 0;
  size_t r_rr_ = 0, w_rr_ = 0;

  static std::string hex(uint64_t v) {
    char b[24];
    std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
    return b;
  }
  bool chance(double p) {
    if (p >= 1.0) return true;
    if (p <= 0.0) return false;
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p;
  }
  uint64_t draw(uint32_t lo, uint32_t hi) {
    if (hi <= lo) return lo;
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }
  void error(const Port& p, const char* ch, const std::string& what) {
    on_error(p.name + " " + ch + " at cycle " + std::to_string(cycle_) + ": " + what);
  }
  void host_range(uint64_t addr, uint64_t n, const char* what) const {
    if (addr < base_ || addr - base_ + n > mem_.size()) {
      std::fprintf(stderr, "axi_mem: %s of %llu bytes at %s is outside the memory [%s, %s)\n", what,
                   (unsigned long long)n, hex(addr).c_str(), hex(base_).c_str(), hex(base_ + mem_.size()).c_str());
      std::abort();
    }
  }
  void check_burst(const Port& p, const char* ch, uint64_t addr, uint32_t len, uint32_t size, uint32_t burst) {
    const std::string where = std::string(" (addr ") + hex(addr) + ", len " + std::to_string(len) + ")";
    if (size != 3) error(p, ch, "SIZE=" + std::to_string(size) + ", the 64-bit port needs 3 (8-byte beats)" + where);
    if (burst != 1) error(p, ch, "BURST=" + std::to_string(burst) + ", only INCR (1) is supported" + where);
    if (len > 255) error(p, ch, "LEN=" + std::to_string(len) + " > 255" + where);
    const uint64_t first = addr & ~7ull, end = first + 8ull * (len + 1);
    if ((first >> 12) != ((end - 1) >> 12))
      error(p, ch, "burst crosses a 4 KiB boundary: bytes " + hex(first) + ".." + hex(end - 1) + where);
    if (first < base_ || end - base_ > mem_.size())
      error(p, ch, "burst outside the memory [" + hex(base_) + ", " + hex(base_ + mem_.size()) + ")" + where);
  }
  void handshakes(Port& p) {
    AxiPort& s = p.sig;
    if (cfg.check_stable) {
      const AxiPort& o = p.prev;
      if (p.ar_pend && (!s.arvalid || s.araddr != o.araddr || s.arlen != o.arlen))
        error(p, "AR", "ARVALID dropped or ARADDR/ARLEN changed before ARREADY (was " + hex(o.araddr) + " len " +
                           std::to_string(o.arlen) + ")");
      if (p.aw_pend && (!s.awvalid || s.awaddr != o.awaddr || s.awlen != o.awlen))
        error(p, "AW", "AWVALID dropped or AWADDR/AWLEN changed before AWREADY (was " + hex(o.awaddr) + " len " +
                           std::to_string(o.awlen) + ")");
      if (p.w_pend && (!s.wvalid || s.wdata != o.wdata || s.wstrb != o.wstrb || s.wlast != o.wlast))
        error(p, "W", "WVALID dropped or WDATA/WSTRB/WLAST changed before WREADY");
    }
    if (s.arvalid && s.arready) {
      check_burst(p, "AR", s.araddr, s.arlen, s.arsize, s.arburst);
      p.rq.push_back({s.araddr, s.arlen, 0, cycle_ + draw(cfg.rd_lat_min, cfg.rd_lat_max)});
      ++p.st.ar;
      if (p.st.first_ar == ~0ull) p.st.first_ar = cycle_;
      if (p.rq.size() > p.st.max_reads_in_flight) p.st.max_reads_in_flight = p.rq.size();
    }
    if (s.rvalid && s.rready) {
      s.rvalid = false;
      s.rlast = false;
      ++p.st.r_beats;
      p.st.last_r = cycle_;
    }
    if (s.awvalid && s.awready) {
      check_burst(p, "AW", s.awaddr, s.awlen, s.awsize, s.awburst);
      p.wq.push_back({s.awaddr, s.awlen, 0});
      ++p.writes;
      ++p.st.aw;
      if (p.st.first_aw == ~0ull) p.st.first_aw = cycle_;
    }
    if (s.wvalid && s.wready) {
      p.wbuf.push_back({s.wdata, s.wstrb & 0xffu, s.wlast});
      ++p.st.w_beats;
    }
    if (s.bvalid && s.bready) {
      s.bvalid = false;
      --p.writes;
      ++p.st.b;
      p.st.last_b = cycle_;
    }
    // What is offered now without a handshake must still be offered next cycle.
    p.ar_pend = s.arvalid && !s.arready;
    p.aw_pend = s.awvalid && !s.awready;
    p.w_pend = s.wvalid && !s.wready;
    p.prev = s;
  }
  void set_readies(Port& p) {
    p.sig.arready = p.rq.size() < cfg.max_reads && chance(cfg.p_arready);
    p.sig.awready = p.writes < cfg.max_writes && chance(cfg.p_awready);
    p.sig.wready = p.wbuf.size() < cfg.wbuf_beats && chance(cfg.p_wready);
  }
};

}  // namespace sf
