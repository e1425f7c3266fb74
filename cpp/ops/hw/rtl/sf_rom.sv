// Read-only memory with a registered read port, initialised by $readmemh.
// Always enabled (the streamfold compute pipelines never stall; they are flow
// controlled by output credits), so Yosys maps it to a RAMB18/36 with its
// output register, or to LUTs / LUTRAM.
//   DEPTH  words (>= 1), WIDTH bits each
//   FILE   relative $readmemh file name (one hex word per line)
//   BLOCK  1: (* ram_style/rom_style = "block" *), 0: distributed (LUTs;
//          Yosys: ram_style "logic")
// Latency 1: rdata holds mem[addr] of the previous cycle.
module sf_rom #(
  parameter integer DEPTH = 1,
  parameter integer WIDTH = 1,
  parameter         FILE  = "",
  parameter integer BLOCK = 0,
  parameter integer AW    = (DEPTH > 1) ? $clog2(DEPTH) : 1
) (
  input  wire             clk,
  input  wire [AW-1:0]    addr,
  output logic [WIDTH-1:0] rdata
);
  generate
    if (DEPTH == 1) begin : g_const
      // One word: a constant register (no address).
      logic [WIDTH-1:0] mem [1];
      initial $readmemh(FILE, mem);
      always_ff @(posedge clk) rdata <= mem[0];
      /* verilator lint_off UNUSEDSIGNAL */
      wire unused_addr = |addr;  // no address bits to decode
      /* verilator lint_on UNUSEDSIGNAL */
    end else if (BLOCK != 0) begin : g_block
      (* ram_style = "block", rom_style = "block" *) logic [WIDTH-1:0] mem [DEPTH];
      initial $readmemh(FILE, mem);
      always_ff @(posedge clk) rdata <= mem[addr];
    end else begin : g_dist
      // A distributed ROM is LUT logic. Yosys 0.23 has no ROM mapping to
      // LUTRAM and fails on rom/ram_style "distributed", so it gets "logic".
`ifdef YOSYS
      (* ram_style = "logic" *) logic [WIDTH-1:0] mem [DEPTH];
`else
      (* rom_style = "distributed" *) logic [WIDTH-1:0] mem [DEPTH];
`endif
      initial $readmemh(FILE, mem);
      always_ff @(posedge clk) rdata <= mem[addr];
    end
  endgenerate
endmodule
