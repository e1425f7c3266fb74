// Output queue with credits for a fixed-latency pipeline (used by sf_mvau and
// sf_thresholding). The producer reserves a slot when it *issues* work that
// will yield one output beat L cycles later (`reserve`), and may issue only
// while `can_reserve` (a register) is set; the pipeline itself never stalls,
// and in_tready of the layer does not depend on out_tready. Reserved slots are
// freed when a beat leaves on the AXI-Stream output.
//   W      beat width; DEPTH  slots (a power of two >= 2), LUTRAM storage
// out_tvalid / out_tdata are registers. A beat written at cycle t can leave at
// t + 2. Full throughput needs DEPTH >= (pipeline latency + 3) / (cycles
// between outputs) + 2.
module sf_mvau_outq #(
  parameter integer W = 8,
  parameter integer DEPTH = 16
) (
  input  wire         clk,
  input  wire         rst_n,
  input  wire         reserve,      // one slot taken (issue of an output-producing step)
  output logic        can_reserve,  // registered: fewer than DEPTH slots taken
  input  wire         wr_en,        // pipeline output (always has a reserved slot)
  input  wire [W-1:0] wr_data,
  output wire [W-1:0] out_tdata,
  output wire         out_tvalid,
  input  wire         out_tready
);
  localparam integer AW = (DEPTH > 2) ? $clog2(DEPTH) : 1;

  (* ram_style = "distributed" *) logic [W-1:0] mem [DEPTH];
  logic [AW-1:0] wr_ptr, rd_ptr;
  logic [AW:0]   count;      // beats in mem
  logic [AW+1:0] reserved;   // slots in flight + in mem + in the output register
  logic          ovalid_q;
  logic [W-1:0]  odata_q;

  assign out_tvalid = ovalid_q;
  assign out_tdata  = odata_q;

  wire pop  = out_tvalid && out_tready;
  wire load = (count != 0) && (!ovalid_q || out_tready);

  always_ff @(posedge clk) begin
    if (wr_en) mem[wr_ptr] <= wr_data;
  end
  always_ff @(posedge clk) begin
    if (load) odata_q <= mem[rd_ptr];
  end

  wire [AW+1:0] reserved_next = reserved + (AW+2)'(reserve) - (AW+2)'(pop);
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      wr_ptr <= '0;
      rd_ptr <= '0;
      count <= '0;
      reserved <= '0;
      can_reserve <= 1'b0;
      ovalid_q <= 1'b0;
    end else begin
      if (wr_en) wr_ptr <= (AW == $clog2(DEPTH)) ? wr_ptr + 1'b1 : ~wr_ptr;
      if (load) rd_ptr <= (AW == $clog2(DEPTH)) ? rd_ptr + 1'b1 : ~rd_ptr;
      count <= count + (AW+1)'(wr_en) - (AW+1)'(load);
      reserved <= reserved_next;
      can_reserve <= reserved_next < (AW+2)'(DEPTH);
      if (load) ovalid_q <= 1'b1;
      else if (out_tready) ovalid_q <= 1'b0;
    end
  end
endmodule
