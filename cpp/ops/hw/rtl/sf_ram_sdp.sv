// Simple dual-port RAM: one write port, one synchronous read port (one cycle
// of latency, the read register holds while rd_en is low), both on clk. A read
// of the address being written in the same cycle returns the old word. STYLE
// "block" or "distributed" becomes the ram_style attribute (one generate
// branch each, since an attribute value cannot be a parameter everywhere).
module sf_ram_sdp #(
  parameter integer W     = 8,
  parameter integer DEPTH = 16,
  parameter         STYLE = "distributed",
  parameter integer AW    = DEPTH > 1 ? $clog2(DEPTH) : 1
) (
  input  wire          clk,
  input  wire          wr_en,
  input  wire [AW-1:0] wr_addr,
  input  wire [W-1:0]  wr_data,
  input  wire          rd_en,
  input  wire [AW-1:0] rd_addr,
  output wire [W-1:0]  rd_data
);
  logic [W-1:0] q;
  assign rd_data = q;
  generate
    if (STYLE == "block") begin : g_block
      (* ram_style = "block" *) logic [W-1:0] mem [0:DEPTH-1];
      always_ff @(posedge clk) begin
        if (wr_en) mem[wr_addr] <= wr_data;
      end
      always_ff @(posedge clk) begin
        if (rd_en) q <= mem[rd_addr];
      end
    end else begin : g_dist
      (* ram_style = "distributed" *) logic [W-1:0] mem [0:DEPTH-1];
      always_ff @(posedge clk) begin
        if (wr_en) mem[wr_addr] <= wr_data;
      end
      always_ff @(posedge clk) begin
        if (rd_en) q <= mem[rd_addr];
      end
    end
  endgenerate
endmodule
