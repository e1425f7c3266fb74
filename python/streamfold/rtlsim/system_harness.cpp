// The board around sf_system (the accelerator with its IODMAs), driven by the
// PYNQ driver's calls over a pipe (streamfold.driver.sim):
// - the ARM's register accesses become real AXI-lite transactions on the
//   addressed DMA's s_axi_control port (M_AXI_GP0 + interconnect);
// - DDR behind S_AXI_HP0 is axi_mem.h: one memory, every DMA master on its
//   own port, random latencies, one R and one W beat per cycle in total.
//
// Commands (one line each, from stdin; each answers one line on stdout):
//   W k off val   AXI-lite write to DMA k            -> "ok"
//   R k off       AXI-lite read                      -> "<value> <quiet>"
//   S n           run n clock cycles                 -> "ok"
//   C             clock cycles so far                -> "<cycles>"
//   M addr n      then n raw bytes: host -> DDR      -> "ok"
//   D addr n      DDR -> host                        -> "ok", then n raw bytes
//   T             per-DMA AXI counters, JSON         -> "{...}"
//   Q             quit
// <quiet> is the number of cycles since the last AXI data beat on any DMA, so
// that the driver side can tell a hung accelerator from a slow one. Every
// register access costs at least `mmio` cycles of simulated time: the ARM's
// Python loop is that slow on the board (a few microseconds per access).
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "axi_mem.h"
#include "verilated.h"
#include "Vsys.h"

// Pointers to one DMA's top-level pins (null where the DMA lacks the channel).
struct AxilPort {
  CData *AWADDR = nullptr, *AWVALID = nullptr, *AWREADY = nullptr;
  IData* WDATA = nullptr;
  CData *WSTRB = nullptr, *WVALID = nullptr, *WREADY = nullptr, *BRESP = nullptr, *BVALID = nullptr,
        *BREADY = nullptr, *ARADDR = nullptr, *ARVALID = nullptr, *ARREADY = nullptr;
  IData* RDATA = nullptr;
  CData *RRESP = nullptr, *RVALID = nullptr, *RREADY = nullptr;
};
struct AxiPins {
  int is_write = 0;
  IData* ARADDR = nullptr;
  CData *ARLEN = nullptr, *ARSIZE = nullptr, *ARBURST = nullptr, *ARCACHE = nullptr, *ARPROT = nullptr,
        *ARVALID = nullptr, *ARREADY = nullptr;
  QData* RDATA = nullptr;
  CData *RRESP = nullptr, *RLAST = nullptr, *RVALID = nullptr, *RREADY = nullptr;
  IData* AWADDR = nullptr;
  CData *AWLEN = nullptr, *AWSIZE = nullptr, *AWBURST = nullptr, *AWCACHE = nullptr, *AWPROT = nullptr,
        *AWVALID = nullptr, *AWREADY = nullptr;
  QData* WDATA = nullptr;
  CData *WSTRB = nullptr, *WLAST = nullptr, *WVALID = nullptr, *WREADY = nullptr, *BRESP = nullptr,
        *BVALID = nullptr, *BREADY = nullptr;
};

#include "sf_sys_ports.h"

namespace {

std::unique_ptr<VerilatedContext> ctx;
std::unique_ptr<Vsys> top;
std::unique_ptr<sf::AxiMem> mem;
AxilPort axil[SF_NDMA > 0 ? SF_NDMA : 1];
AxiPins pins[SF_NDMA > 0 ? SF_NDMA : 1];
int mport[SF_NDMA > 0 ? SF_NDMA : 1];
uint64_t cycles = 0, last_beat = 0;

void fail(const std::string& m) {
  std::fprintf(stderr, "system simulation: %s\n", m.c_str());
  std::fflush(stderr);
  std::exit(3);
}

// Memory outputs -> DUT inputs (what the memory drives this cycle).
void mem_to_dut() {
  for (int k = 0; k < SF_NDMA; ++k) {
    const sf::AxiPort& a = mem->port(mport[k]);
    AxiPins& p = pins[k];
    if (!p.is_write) {
      *p.ARREADY = a.arready;
      *p.RDATA = a.rdata;
      *p.RRESP = (CData)a.rresp;
      *p.RLAST = a.rlast;
      *p.RVALID = a.rvalid;
    } else {
      *p.AWREADY = a.awready;
      *p.WREADY = a.wready;
      *p.BRESP = (CData)a.bresp;
      *p.BVALID = a.bvalid;
    }
  }
}

// DUT outputs -> memory inputs (sampled just before the edge).
void dut_to_mem() {
  for (int k = 0; k < SF_NDMA; ++k) {
    sf::AxiPort& a = mem->port(mport[k]);
    const AxiPins& p = pins[k];
    if (!p.is_write) {
      a.araddr = *p.ARADDR;
      a.arlen = *p.ARLEN;
      a.arsize = *p.ARSIZE;
      a.arburst = *p.ARBURST;
      a.arvalid = *p.ARVALID;
      a.rready = *p.RREADY;
      if (a.rvalid && a.rready) last_beat = cycles;
    } else {
      a.awaddr = *p.AWADDR;
      a.awlen = *p.AWLEN;
      a.awsize = *p.AWSIZE;
      a.awburst = *p.AWBURST;
      a.awvalid = *p.AWVALID;
      a.wdata = *p.WDATA;
      a.wstrb = *p.WSTRB;
      a.wlast = *p.WLAST;
      a.wvalid = *p.WVALID;
      a.bready = *p.BREADY;
      if (a.wvalid && a.wready) last_beat = cycles;
    }
  }
}

// One clock cycle. `pre_edge` runs after the low-phase eval, when every
// combinational output has settled: handshakes are judged there.
template <class F>
void cycle(F&& pre_edge) {
  mem_to_dut();
  top->ap_clk = 0;
  top->eval();
  dut_to_mem();
  pre_edge();
  mem->tick();
  top->ap_clk = 1;
  top->eval();
  ++cycles;
}
void cycle() {
  cycle([] {});
}

constexpr uint64_t kAxilTimeout = 100000;

void axil_write(int k, uint32_t off, uint32_t val) {
  AxilPort& l = axil[k];
  bool aw = true, w = true, b = false;
  *l.AWADDR = (CData)off;
  *l.WDATA = val;
  *l.WSTRB = 0xF;
  for (uint64_t t = 0;; ++t) {
    *l.AWVALID = aw;
    *l.WVALID = w;
    *l.BREADY = 1;
    bool aw_hs = false, w_hs = false, b_hs = false;
    cycle([&] {
      aw_hs = aw && *l.AWREADY;
      w_hs = w && *l.WREADY;
      b_hs = *l.BVALID;
    });
    if (aw_hs) aw = false;
    if (w_hs) w = false;
    if (b_hs) b = true;
    if (b && !aw && !w) break;
    if (t > kAxilTimeout) fail("AXI-lite write to DMA " + std::to_string(k) + " got no response");
  }
  *l.AWVALID = 0;
  *l.WVALID = 0;
  *l.BREADY = 0;
}

uint32_t axil_read(int k, uint32_t off) {
  AxilPort& l = axil[k];
  bool ar = true;
  uint32_t v = 0;
  *l.ARADDR = (CData)off;
  for (uint64_t t = 0;; ++t) {
    *l.ARVALID = ar;
    *l.RREADY = 1;
    bool ar_hs = false, r_hs = false;
    cycle([&] {
      ar_hs = ar && *l.ARREADY;
      if (*l.RVALID) {  // only after the AR handshake (AXI)
        r_hs = true;
        v = *l.RDATA;
      }
    });
    if (ar_hs) ar = false;
    if (r_hs) break;
    if (t > kAxilTimeout) fail("AXI-lite read from DMA " + std::to_string(k) + " got no response");
  }
  *l.ARVALID = 0;
  *l.RREADY = 0;
  return v;
}

void run_to(uint64_t until) {
  while (cycles < until) cycle();
}

bool read_exact(void* dst, size_t n) { return std::fread(dst, 1, n, stdin) == n; }

}  // namespace

int main(int argc, char** argv) {
  uint64_t base = 0x10000000ull, size = 256ull << 20, mmio = 300;
  sf::AxiMemConfig cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto eq = a.find('=');
    if (eq == std::string::npos) continue;
    std::string k = a.substr(0, eq), v = a.substr(eq + 1);
    if (k == "base") base = std::strtoull(v.c_str(), nullptr, 0);
    else if (k == "size") size = std::strtoull(v.c_str(), nullptr, 0);
    else if (k == "mmio") mmio = std::strtoull(v.c_str(), nullptr, 0);
    else if (k == "seed") cfg.seed = std::strtoull(v.c_str(), nullptr, 0);
    else if (k == "rd_lat_min") cfg.rd_lat_min = (uint32_t)std::atoi(v.c_str());
    else if (k == "rd_lat_max") cfg.rd_lat_max = (uint32_t)std::atoi(v.c_str());
    else if (k == "wr_lat_min") cfg.wr_lat_min = (uint32_t)std::atoi(v.c_str());
    else if (k == "wr_lat_max") cfg.wr_lat_max = (uint32_t)std::atoi(v.c_str());
    else if (k == "p_ready") cfg.p_arready = cfg.p_awready = cfg.p_wready = std::atof(v.c_str());
    else if (k == "p_valid") cfg.p_rvalid = cfg.p_bvalid = std::atof(v.c_str());
  }
  ctx.reset(new VerilatedContext);
  top.reset(new Vsys(ctx.get()));
  mem.reset(new sf::AxiMem(base, size, cfg));
  mem->on_error = [](const std::string& m) { fail("AXI protocol error: " + m); };
  sf_bind(top.get(), axil, pins);
  for (int k = 0; k < SF_NDMA; ++k) mport[k] = mem->add_port("dma" + std::to_string(k));
  // Reset: ap_rst_n low for 16 cycles, AXI-lite master idle.
  for (int k = 0; k < SF_NDMA; ++k) {
    *axil[k].AWVALID = *axil[k].WVALID = *axil[k].BREADY = *axil[k].ARVALID = *axil[k].RREADY = 0;
  }
  top->ap_rst_n = 0;
  for (int i = 0; i < 16; ++i) cycle();
  top->ap_rst_n = 1;
  cycle();
  char line[256];
  std::vector<uint8_t> buf;
  while (std::fgets(line, sizeof line, stdin)) {
    char c = line[0];
    if (c == 'W') {
      int k;
      unsigned off;
      unsigned long long val;
      if (std::sscanf(line + 1, "%d %u %llu", &k, &off, &val) != 3 || k < 0 || k >= SF_NDMA) fail("bad W command");
      const uint64_t t0 = cycles;
      axil_write(k, off, (uint32_t)val);
      run_to(t0 + mmio);
      std::printf("ok\n");
    } else if (c == 'R') {
      int k;
      unsigned off;
      if (std::sscanf(line + 1, "%d %u", &k, &off) != 2 || k < 0 || k >= SF_NDMA) fail("bad R command");
      const uint64_t t0 = cycles;
      uint32_t v = axil_read(k, off);
      run_to(t0 + mmio);
      std::printf("%u %" PRIu64 "\n", v, cycles - last_beat);
    } else if (c == 'S') {
      unsigned long long n;
      if (std::sscanf(line + 1, "%llu", &n) != 1) fail("bad S command");
      run_to(cycles + n);
      std::printf("ok\n");
    } else if (c == 'C') {
      std::printf("%" PRIu64 "\n", cycles);
    } else if (c == 'M' || c == 'D') {
      unsigned long long addr, n;
      if (std::sscanf(line + 1, "%llu %llu", &addr, &n) != 2) fail("bad M/D command");
      if (addr < base || addr + n > base + size) fail("buffer outside the simulated DDR");
      buf.resize(n);
      if (c == 'M') {
        if (!read_exact(buf.data(), n)) fail("short buffer write");
        mem->write_bytes(addr, buf.data(), n);
        std::printf("ok\n");
      } else {
        mem->read_bytes(addr, buf.data(), n);
        std::printf("ok\n");
        std::fwrite(buf.data(), 1, n, stdout);
      }
    } else if (c == 'T') {
      std::printf("{\"cycles\": %" PRIu64 ", \"ports\": [", cycles);
      for (int k = 0; k < SF_NDMA; ++k) {
        const sf::AxiPortStats& s = mem->stats(mport[k]);
        std::printf("%s{\"ar\": %" PRIu64 ", \"r_beats\": %" PRIu64 ", \"aw\": %" PRIu64 ", \"w_beats\": %" PRIu64
                    ", \"b\": %" PRIu64 "}",
                    k ? ", " : "", s.ar, s.r_beats, s.aw, s.w_beats, s.b);
      }
      std::printf("]}\n");
    } else if (c == 'Q') {
      break;
    } else {
      fail(std::string("unknown command ") + line);
    }
    std::fflush(stdout);
  }
  top->final();
  return 0;
}
