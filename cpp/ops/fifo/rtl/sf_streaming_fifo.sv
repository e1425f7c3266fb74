// The StreamingFIFO layer: sf_fifo with the core-port contract only. The
// occupancy monitor stays inside (the stitched design instantiates sf_fifo
// directly and reads count/maxcount there).
module sf_streaming_fifo #(
  parameter integer W     = 8,
  parameter integer DEPTH = 2,
  parameter integer BRAM  = 0
) (
  input  wire         clk,
  input  wire         rst_n,
  input  wire [W-1:0] in_tdata,
  input  wire [0:0]   in_tvalid,
  output wire [0:0]   in_tready,
  output wire [W-1:0] out_tdata,
  output wire [0:0]   out_tvalid,
  input  wire [0:0]   out_tready
);
  localparam integer CW = $clog2(DEPTH + 1);
  /* verilator lint_off UNUSEDSIGNAL */  // the monitor is not read in a single layer
  wire [CW-1:0] count, maxcount;
  /* verilator lint_on UNUSEDSIGNAL */
  sf_fifo #(.W(W), .DEPTH(DEPTH), .BRAM(BRAM)) fifo (
    .clk(clk), .rst_n(rst_n),
    .in_tdata(in_tdata), .in_tvalid(in_tvalid), .in_tready(in_tready),
    .out_tdata(out_tdata), .out_tvalid(out_tvalid), .out_tready(out_tready),
    .count(count), .maxcount(maxcount));
endmodule
