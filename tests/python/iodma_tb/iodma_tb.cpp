// Testbench for sf_iodma_rd / sf_iodma_wr (tests/python/test_rtl_iodma.py).
// The Verilated top is sf_iodma_tb_top: both DMAs side by side, on two master
// ports of one axi_mem.h DDR model. Everything goes through the real AXI-Lite
// registers: write 0x10/0x14 (address), 0x1C (N), 0x00 = 1, poll 0x00 for
// ap_done, as FINN's driver does.
//
// Usage: sim key=value ...
//   mode=rd|wr|loop|regs  rd: memory -> stream sink; wr: stream source -> memory;
//                     loop: rd's stream feeds wr's (random gating between them);
//                     regs: rd with the interrupt registers and auto_restart (see run_regs)
//   sb=B fb=BEATS     bytes per beat, beats per frame (must match the build)
//   n=N jobs=J        batch count; the job is run J times back to back
//   rd_base=A wr_base=A  buffer addresses (AXI); mem_base=A mem_size=S
//   img=FILE          bytes written to memory at rd_base before the first job (rd, loop)
//   src=FILE          stream beats for wr (N*fb beats of sb bytes)
//   out=FILE          rd: every stream beat received; wr/loop: memory dump
//   dump_base=A dump_len=L   the memory range dumped into out= (wr, loop)
//   fill=V            byte the memory is filled with first (so writes outside show)
//   rlat=LO,HI wlat=LO,HI p_ar= p_r= p_aw= p_w= p_b=   memory model settings
//   stall=P gap=P     probability per cycle of rd's TREADY low / wr's TVALID held back
//   seed=S timeout=C  (cycles without any progress = deadlock, exit 3)
//   stats=FILE        JSON: cycles, per-job start/done cycles, stream beat times, AXI counters
// Exit: 0 ok, 2 usage, 3 deadlock/timeout, 4 stream protocol error or register check failed.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "Vtop.h"
#include "axi_mem.h"
#include "verilated.h"
#include "vl_bits.h"

namespace {

using sf_vl::get_bits;
using sf_vl::put_bits;

std::map<std::string, std::string> args;
std::string arg(const std::string& k, const std::string& dflt = "") {
  auto it = args.find(k);
  return it == args.end() ? dflt : it->second;
}
uint64_t num(const std::string& k, uint64_t dflt) {
  auto s = arg(k);
  return s.empty() ? dflt : std::strtoull(s.c_str(), nullptr, 0);
}
double real(const std::string& k, double dflt) {
  auto s = arg(k);
  return s.empty() ? dflt : std::atof(s.c_str());
}
std::vector<uint8_t> slurp(const std::string& path) {
  std::vector<uint8_t> v;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) { std::fprintf(stderr, "cannot open %s\n", path.c_str()); std::exit(2); }
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) v.insert(v.end(), buf, buf + n);
  std::fclose(f);
  return v;
}

std::unique_ptr<Vtop> top;
std::unique_ptr<sf::AxiMem> mem;
int prd = 0, pwr = 0;
uint64_t cyc = 0, last_progress = 0, timeout_c = 100000;
std::mt19937_64 rng;
double p_stall = 0, p_gap = 0;
int sb = 1;
std::string mode;
std::string fail_msg;
int fail_code = 0;

// stream state
std::vector<uint8_t> src, got;       // wr source beats, rd received beats
size_t src_pos = 0;                  // next wr beat
bool src_hold = false;               // wr TVALID asserted, waiting for TREADY
std::vector<uint64_t> rd_times, wr_times;  // cycles of stream handshakes
bool rd_prev_pend = false;
std::vector<uint8_t> rd_prev_data;
std::vector<uint8_t> loop_buf;       // loop mode: beats rd produced, wr not yet took
size_t loop_pos = 0;

void fail(int code, const std::string& m) {
  if (!fail_code) { fail_code = code; fail_msg = m; }
}

// Lite master signals for both DMAs (index 0: rd, 1: wr).
struct Lite {
  uint32_t awaddr = 0, wdata = 0, araddr = 0;
  bool awvalid = false, wvalid = false, bready = false, arvalid = false, rready = false;
};
Lite lite[2];

void drive_inputs() {
  sf::AxiPort& r = mem->port(prd);
  sf::AxiPort& w = mem->port(pwr);
  top->rd_m_ARREADY = r.arready;
  top->rd_m_RDATA = r.rdata;
  top->rd_m_RRESP = r.rresp;
  top->rd_m_RLAST = r.rlast;
  top->rd_m_RVALID = r.rvalid;
  top->wr_m_AWREADY = w.awready;
  top->wr_m_WREADY = w.wready;
  top->wr_m_BRESP = w.bresp;
  top->wr_m_BVALID = w.bvalid;
#define LITE_IN(P, L)                                                                                   \
  top->P##_ctrl_AWADDR = L.awaddr; top->P##_ctrl_AWVALID = L.awvalid; top->P##_ctrl_WDATA = L.wdata;  \
  top->P##_ctrl_WSTRB = 0xf; top->P##_ctrl_WVALID = L.wvalid; top->P##_ctrl_BREADY = L.bready;         \
  top->P##_ctrl_ARADDR = L.araddr; top->P##_ctrl_ARVALID = L.arvalid; top->P##_ctrl_RREADY = L.rready;
  LITE_IN(rd, lite[0])
  LITE_IN(wr, lite[1])
  // Streams.
  if (mode == "rd" || mode == "regs") {
    top->rd_out_TREADY = !(std::uniform_real_distribution<double>(0, 1)(rng) < p_stall);
    top->wr_in_TVALID = 0;
  } else if (mode == "wr") {
    top->rd_out_TREADY = 0;
    if (!src_hold && src_pos * sb < src.size() && !(std::uniform_real_distribution<double>(0, 1)(rng) < p_gap))
      src_hold = true;
    top->wr_in_TVALID = src_hold;
    if (src_hold) put_bits(top->wr_in_TDATA, &src[src_pos * sb], sb);
  } else {  // loop: a gate that opens at random joins rd's output to wr's input
    const bool gate = !(std::uniform_real_distribution<double>(0, 1)(rng) < p_stall);
    top->rd_out_TREADY = gate && top->wr_in_TREADY;
    top->wr_in_TVALID = gate && top->rd_out_TVALID;
    top->wr_in_TDATA = top->rd_out_TDATA;
  }
}

void step() {
  top->ap_clk = 0;
  drive_inputs();
  top->eval();
  if (mode == "loop") {  // the gate uses rd's and wr's outputs: settle once more
    drive_inputs();
    top->eval();
  }
  // DUT -> memory
  sf::AxiPort& r = mem->port(prd);
  sf::AxiPort& w = mem->port(pwr);
  r.araddr = top->rd_m_ARADDR; r.arlen = top->rd_m_ARLEN; r.arsize = top->rd_m_ARSIZE;
  r.arburst = top->rd_m_ARBURST; r.arvalid = top->rd_m_ARVALID; r.rready = top->rd_m_RREADY;
  w.awaddr = top->wr_m_AWADDR; w.awlen = top->wr_m_AWLEN; w.awsize = top->wr_m_AWSIZE;
  w.awburst = top->wr_m_AWBURST; w.awvalid = top->wr_m_AWVALID; w.wdata = top->wr_m_WDATA;
  w.wstrb = top->wr_m_WSTRB; w.wlast = top->wr_m_WLAST; w.wvalid = top->wr_m_WVALID; w.bready = top->wr_m_BREADY;
  if ((r.arvalid && r.arready) || (r.rvalid && r.rready) || (w.awvalid && w.awready) || (w.wvalid && w.wready) ||
      (w.bvalid && w.bready))
    last_progress = cyc;
  // rd stream: protocol (data stable while pending) and capture
  std::vector<uint8_t> d(sb);
  if (top->rd_out_TVALID) get_bits(top->rd_out_TDATA, d.data(), sb);
  if (rd_prev_pend && (!top->rd_out_TVALID || d != rd_prev_data))
    fail(4, "rd: out_V_TVALID dropped or TDATA changed before TREADY at cycle " + std::to_string(cyc));
  const bool rd_fire = top->rd_out_TVALID && top->rd_out_TREADY;
  rd_prev_pend = top->rd_out_TVALID && !top->rd_out_TREADY;
  rd_prev_data = d;
  if (rd_fire) {
    rd_times.push_back(cyc);
    if (mode == "rd" || mode == "regs") got.insert(got.end(), d.begin(), d.end());
    last_progress = cyc;
  }
  if (top->wr_in_TVALID && top->wr_in_TREADY) {
    wr_times.push_back(cyc);
    if (mode == "wr") { ++src_pos; src_hold = false; }
    last_progress = cyc;
  }
  mem->tick();
  top->ap_clk = 1;
  top->eval();
  ++cyc;
  if (cyc - last_progress > timeout_c) {
    fail(3, "nothing moved for " + std::to_string(timeout_c) + " cycles at cycle " + std::to_string(cyc) +
                " (rd beats " + std::to_string(rd_times.size()) + ", wr beats " + std::to_string(wr_times.size()) +
                ", memory idle " + std::to_string(mem->idle()) + ")");
  }
}

#define LITE_OUT(P, F) (k == 0 ? (uint32_t)top->rd_ctrl_##F : (uint32_t)top->wr_ctrl_##F)

void lite_write(int k, uint32_t a, uint32_t v) {
  Lite& L = lite[k];
  L.awaddr = a; L.wdata = v; L.awvalid = true; L.wvalid = true; L.bready = false;
  while (!fail_code && (L.awvalid || L.wvalid)) {
    top->ap_clk = 0; drive_inputs(); top->eval();
    const bool aw = L.awvalid && LITE_OUT(k, AWREADY), wv = L.wvalid && LITE_OUT(k, WREADY);
    step();
    if (aw) L.awvalid = false;
    if (wv) L.wvalid = false;
  }
  L.bready = true;
  for (;;) {
    if (fail_code) return;
    top->ap_clk = 0; drive_inputs(); top->eval();
    const bool b = LITE_OUT(k, BVALID);
    step();
    if (b) break;
  }
  L.bready = false;
  last_progress = cyc;
}

uint32_t lite_read(int k, uint32_t a) {
  Lite& L = lite[k];
  L.araddr = a; L.arvalid = true; L.rready = true;
  uint32_t v = 0;
  for (;;) {
    if (fail_code) return 0;
    top->ap_clk = 0; drive_inputs(); top->eval();
    const bool ar = L.arvalid && LITE_OUT(k, ARREADY);
    const bool rv = LITE_OUT(k, RVALID);
    if (rv) v = LITE_OUT(k, RDATA);
    step();
    if (ar) L.arvalid = false;
    if (rv) break;
  }
  L.rready = false;
  return v;
}

// The interrupt path (IER/GIE/ISR, the interrupt pin) and auto_restart, on
// the read DMA: one job with interrupts enabled, then auto_restart until at
// least three more jobs ran, then auto_restart cleared (one more job may
// start: ap_start stays set while auto_restart is). Returns the jobs run.
int run_regs(uint64_t base, uint64_t n, uint64_t job_beats) {
  auto chk = [](bool ok, const std::string& m) { if (!ok) fail(4, "regs: " + m); };
  lite_write(0, 0x10, (uint32_t)base);
  lite_write(0, 0x1C, (uint32_t)n);
  lite_write(0, 0x08, 1);  // IER: done
  lite_write(0, 0x04, 1);  // GIE
  chk(!top->rd_irq, "interrupt high before any job");
  lite_write(0, 0x00, 1);
  while (!fail_code && !(lite_read(0, 0x0C) & 1)) {}
  chk(top->rd_irq, "ISR.done set but the interrupt pin is low");
  lite_write(0, 0x0C, 1);  // toggle-on-write clears it
  chk(lite_read(0, 0x0C) == 0 && !top->rd_irq, "ISR write of 1 did not clear the done interrupt");
  chk((lite_read(0, 0x00) & 0x2) != 0, "ap_done not set after the job");
  lite_write(0, 0x04, 0);
  lite_write(0, 0x00, 0x81);  // ap_start with auto_restart
  chk((lite_read(0, 0x00) & 0x80) != 0, "auto_restart does not read back");
  while (!fail_code && rd_times.size() < 4 * job_beats) step();
  lite_write(0, 0x00, 0x00);
  for (;;) {
    if (fail_code) break;
    const uint32_t st = lite_read(0, 0x00);
    if ((st & 0x4) && !(st & 0x1)) break;  // idle, nothing pending
  }
  chk(rd_times.size() % job_beats == 0, "a job under auto_restart was cut short");
  // ISR follows IER whatever GIE is; the pin needs GIE.
  chk((lite_read(0, 0x0C) & 1) && !top->rd_irq, "after the auto-restarted jobs: ISR.done clear or the pin high");
  return (int)(rd_times.size() / job_beats);
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto eq = a.find('=');
    if (eq == std::string::npos) continue;  // +verilator+ options
    args[a.substr(0, eq)] = a.substr(eq + 1);
  }
  std::unique_ptr<VerilatedContext> ctx(new VerilatedContext);
  ctx->commandArgs(argc, argv);
  mode = arg("mode", "rd");
  sb = (int)num("sb", 1);
  const uint64_t fb = num("fb", 1), n = num("n", 1), jobs = num("jobs", 1);
  const uint64_t mem_base = num("mem_base", 0x10000000), mem_size = num("mem_size", 1 << 20);
  const uint64_t rd_base = num("rd_base", mem_base), wr_base = num("wr_base", mem_base);
  timeout_c = num("timeout", 100000);
  p_stall = real("stall", 0);
  p_gap = real("gap", 0);
  rng.seed(num("seed", 1) * 7919 + 17);

  sf::AxiMemConfig cfg;
  cfg.seed = num("seed", 1);
  auto lat = [&](const std::string& k, uint32_t& lo, uint32_t& hi) {
    auto s = arg(k);
    if (s.empty()) return;
    auto c = s.find(',');
    lo = (uint32_t)std::strtoul(s.substr(0, c).c_str(), nullptr, 0);
    hi = c == std::string::npos ? lo : (uint32_t)std::strtoul(s.substr(c + 1).c_str(), nullptr, 0);
  };
  lat("rlat", cfg.rd_lat_min, cfg.rd_lat_max);
  lat("wlat", cfg.wr_lat_min, cfg.wr_lat_max);
  cfg.p_arready = real("p_ar", 1);
  cfg.p_rvalid = real("p_r", 1);
  cfg.p_awready = real("p_aw", 1);
  cfg.p_wready = real("p_w", 1);
  cfg.p_bvalid = real("p_b", 1);
  mem.reset(new sf::AxiMem(mem_base, mem_size, cfg));
  const std::string stats_path = arg("stats");
  mem->on_error = [&](const std::string& m) { fail(4, "axi_mem: " + m); };
  prd = mem->add_port("rd");
  pwr = mem->add_port("wr");
  std::memset(mem->data(), (int)num("fill", 0xa5), mem_size);
  if (!arg("img").empty()) {
    auto img = slurp(arg("img"));
    mem->write_bytes(rd_base, img.data(), img.size());
  }
  if (!arg("src").empty()) src = slurp(arg("src"));

  top.reset(new Vtop(ctx.get()));
  top->ap_rst_n = 0;
  for (int i = 0; i < 8; ++i) step();
  top->ap_rst_n = 1;
  step();

  std::vector<int> ks;
  if (mode == "rd" || mode == "loop") ks.push_back(0);
  if (mode == "wr" || mode == "loop") ks.push_back(1);
  std::vector<uint64_t> t_start, t_done;
  int regs_jobs = 0;
  if (mode == "regs") regs_jobs = run_regs(rd_base, n, n * fb * num("repeat", 1));
  for (uint64_t j = 0; j < jobs && !fail_code && mode != "regs"; ++j) {
    if (mode == "wr") src_pos = 0;
    // As FINN's driver: the output DMA first, then the input.
    for (int i = (int)ks.size() - 1; i >= 0; --i) {
      const int k = ks[(size_t)i];
      const uint32_t st = lite_read(k, 0x00);
      if (!(st & 0x4) || (st & 0x1)) fail(4, "DMA " + std::to_string(k) + " not idle before start: 0x00 = " + std::to_string(st));
      const uint64_t a = k == 0 ? rd_base : wr_base;
      lite_write(k, 0x10, (uint32_t)a);
      lite_write(k, 0x14, (uint32_t)(a >> 32));
      lite_write(k, 0x1C, (uint32_t)n);
      if (lite_read(k, 0x10) != (uint32_t)a || lite_read(k, 0x1C) != (uint32_t)n)
        fail(4, "DMA " + std::to_string(k) + ": address/count registers do not read back");
      lite_write(k, 0x00, 1);
    }
    t_start.push_back(cyc);
    // Poll ap_done of every DMA started (the output one last, as the driver).
    for (int k : ks) {
      for (;;) {
        if (fail_code) break;
        const uint32_t st = lite_read(k, 0x00);
        if (st & 0x2) {
          // clear on read: a second read shows done low and idle high
          const uint32_t st2 = lite_read(k, 0x00);
          if ((st2 & 0x2) || !(st2 & 0x4))
            fail(4, "DMA " + std::to_string(k) + ": after ap_done was read, 0x00 = " + std::to_string(st2));
          break;
        }
        if (cyc - last_progress > timeout_c) {
          fail(3, "DMA " + std::to_string(k) + " never raised ap_done (0x00 = " + std::to_string(st) + "), rd beats " +
                      std::to_string(rd_times.size()) + ", wr beats " + std::to_string(wr_times.size()));
          break;
        }
      }
    }
    t_done.push_back(cyc);
  }
  // A little more time: nothing may move after done.
  const size_t rdb = rd_times.size(), wrb = wr_times.size();
  for (int i = 0; i < 200 && !fail_code; ++i) step();
  if (!fail_code && (rd_times.size() != rdb || wr_times.size() != wrb || !mem->idle()))
    fail(4, "stream beats or memory traffic after ap_done");

  if (!arg("out").empty()) {
    FILE* f = std::fopen(arg("out").c_str(), "wb");
    if (mode == "rd" || mode == "regs") {
      std::fwrite(got.data(), 1, got.size(), f);
    } else {
      const uint64_t db = num("dump_base", wr_base), dl = num("dump_len", 0);
      std::vector<uint8_t> buf(dl);
      mem->read_bytes(db, buf.data(), dl);
      std::fwrite(buf.data(), 1, dl, f);
    }
    std::fclose(f);
  }
  if (!stats_path.empty()) {
    FILE* f = std::fopen(stats_path.c_str(), "w");
    auto list = [&](const std::vector<uint64_t>& v) {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
      return s + "]";
    };
    auto first_last = [&](const std::vector<uint64_t>& v) {
      return v.empty() ? std::string("[0,0]") : "[" + std::to_string(v.front()) + "," + std::to_string(v.back()) + "]";
    };
    const auto& rs = mem->stats(prd);
    const auto& ws = mem->stats(pwr);
    std::string esc;
    for (char c : fail_msg) esc += (c == '"' || c == '\\') ? ' ' : c;
    std::fprintf(f,
                 "{\"cycles\": %llu, \"start\": %s, \"done\": %s, \"rd_beats\": %zu, \"wr_beats\": %zu, "
                 "\"rd_first_last\": %s, \"wr_first_last\": %s, \"ar\": %llu, \"r_beats\": %llu, "
                 "\"max_reads_in_flight\": %llu, \"aw\": %llu, \"w_beats\": %llu, \"b\": %llu, "
                 "\"regs_jobs\": %d, \"error\": \"%s\", \"code\": %d}\n",
                 (unsigned long long)cyc, list(t_start).c_str(), list(t_done).c_str(), rd_times.size(),
                 wr_times.size(), first_last(rd_times).c_str(), first_last(wr_times).c_str(),
                 (unsigned long long)rs.ar, (unsigned long long)rs.r_beats,
                 (unsigned long long)rs.max_reads_in_flight, (unsigned long long)ws.aw,
                 (unsigned long long)ws.w_beats, (unsigned long long)ws.b, regs_jobs, esc.c_str(), fail_code);
    std::fclose(f);
  }
  if (fail_code) std::fprintf(stderr, "%s\n", fail_msg.c_str());
  top->final();
  top.reset();
  return fail_code;
}
