// Stream data-width converter (gearbox): IW-bit beats in, OW-bit beats out,
// bit 0 of the stream first. The buffer works in chunks of G = gcd(IW, OW)
// bits and holds CAP = NI + NO + min(NI, NO) - 1 chunks (NI = IW/G,
// NO = OW/G): the least that keeps the narrow side moving one beat per cycle
// while in_tready is computed from registers only. So the wide side's beats
// follow each other without a bubble, and a frame takes (frame bits) /
// min(IW, OW) cycles. When one width divides the other, CAP = NI + NO and the
// input lands at one of two (wide input) or NO/NI+1 (narrow input) places.
// The frame length must be a multiple of both widths (the op guarantees it).
module sf_dwc #(
  parameter integer IW = 8,
  parameter integer OW = 8,
  parameter integer G  = 8    // gcd(IW, OW), from the emitter
) (
  input  wire          clk,
  input  wire          rst_n,
  input  wire [IW-1:0] in_tdata,
  input  wire [0:0]    in_tvalid,
  output wire [0:0]    in_tready,
  output wire [OW-1:0] out_tdata,
  output wire [0:0]    out_tvalid,
  input  wire [0:0]    out_tready
);
  localparam integer NI  = IW / G;
  localparam integer NO  = OW / G;
  localparam integer CAP = NI + NO + (NI < NO ? NI : NO) - 1;
  localparam integer CW  = $clog2(CAP + 1);
  localparam integer LAST_POS = CAP - NI;   // the highest place an input beat lands at

  logic [G-1:0]  buf_q [0:CAP-1];            // chunk 0 is the oldest
  logic [CW-1:0] cnt;                        // chunks held
  logic [OW-1:0] out_q;
  logic          out_v, in_ready_q;

  wire take = !out_v || out_tready[0];
  wire pop  = take && cnt >= CW'(NO);
  wire push = in_tvalid[0] && in_ready_q;
  wire [CW-1:0] base = pop ? cnt - CW'(NO) : cnt;        // where this cycle's input lands
  wire [CW-1:0] cnt_d = base + (push ? CW'(NI) : CW'(0));

  assign in_tready  = in_ready_q;
  assign out_tvalid = out_v;
  assign out_tdata  = out_q;

  for (genvar j = 0; j < CAP; j++) begin : g_slot
    logic [G-1:0] nxt;
    always_comb begin
      if (pop && j + NO < CAP) nxt = buf_q[(j + NO) % CAP];
      else nxt = buf_q[j];
      for (int p = 0; p <= LAST_POS; p++) begin
        if (push && base == CW'(p) && j >= p && j < p + NI) nxt = in_tdata[((j - p) % NI)*G +: G];
      end
    end
    always_ff @(posedge clk) buf_q[j] <= nxt;
  end

  for (genvar k = 0; k < NO; k++) begin : g_out
    always_ff @(posedge clk) begin
      if (pop) out_q[k*G +: G] <= buf_q[k];
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      cnt        <= '0;
      out_v      <= 1'b0;
      in_ready_q <= 1'b0;
    end else begin
      cnt        <= cnt_d;
      if (take) out_v <= pop;
      in_ready_q <= cnt_d <= CW'(CAP - NI);
    end
  end
endmodule
