// Drives axi_mem.h directly with one bad AXI master action per case and prints
// what on_error reported (tests/python/test_rtl_iodma.py::test_axi_mem_catches).
// Usage: axi_mem_checks CASE   (prints the error line, or "no error")
#include <cstdio>
#include <cstring>
#include <string>

#include "axi_mem.h"

int main(int argc, char** argv) {
  const std::string c = argc > 1 ? argv[1] : "";
  sf::AxiMem m(0x1000, 0x4000);
  std::string err;
  m.on_error = [&](const std::string& e) { if (err.empty()) err = e; };
  sf::AxiPort& a = m.port(m.add_port("dma"));
  auto burst_rd = [&](uint64_t addr, uint32_t len, uint32_t size) {
    a.araddr = addr; a.arlen = len; a.arsize = size; a.arvalid = true;
    while (!a.arready) m.tick();
    m.tick();
    a.arvalid = false;
  };
  if (c == "ok") {  // a legal read and write: no error, data arrives
    burst_rd(0x1ff8 - 0x7f8, 255, 3);
    a.rready = true;
    for (int i = 0; i < 2000; ++i) m.tick();
    a.awaddr = 0x2000; a.awlen = 1; a.awvalid = true; a.wvalid = true; a.wdata = 1; a.wstrb = 0xff; a.wlast = false;
    m.tick(); a.awvalid = false; a.wlast = true; m.tick(); a.wvalid = false; a.bready = true;
    for (int i = 0; i < 200; ++i) m.tick();
    if (!m.idle() || m.stats(0).r_beats != 256 || m.stats(0).b != 1) err = "ok case did not complete";
  } else if (c == "cross4k") {
    burst_rd(0x1f80, 16, 3);  // 17 beats from 0x1f80 end at 0x2007
  } else if (c == "size") {
    burst_rd(0x1000, 0, 2);
  } else if (c == "outside") {
    burst_rd(0x5000, 0, 3);   // memory ends at 0x5000
  } else if (c == "wlast") {
    a.awaddr = 0x1000; a.awlen = 3; a.awvalid = true;
    a.wvalid = true; a.wdata = 0; a.wstrb = 0xff; a.wlast = true;  // WLAST on beat 0 of 4
    for (int i = 0; i < 5; ++i) { m.tick(); a.awvalid = false; }
  } else if (c == "drop") {  // ARVALID withdrawn before ARREADY
    m.cfg.p_arready = 0.0;
    m.tick();
    a.araddr = 0x1000; a.arlen = 0; a.arvalid = true;
    m.tick();
    a.arvalid = false;
    m.tick();
  }
  std::printf("%s\n", err.empty() ? "no error" : err.c_str());
  return 0;
}
