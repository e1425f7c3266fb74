// FMPadding: pads an NHWC stream spatially. Walks the output image
// (OH x OW pixels, CF = C/SIMD beats each); inside the original image it
// passes the input beat on, in the border it emits PAD (one SIMD-wide beat of
// the pad value, two's complement, or {0,1} for bipolar) without taking
// input. A frame's leading border waits until its first input beat is offered
// (valid, not taken), so no output runs ahead of a frame that never comes.
// One beat per cycle; the output register is an sf_skid, whose
// registered in_tready is all the input side sees of the consumer.
module sf_fmpadding #(
  parameter integer BITS  = 4,
  parameter integer SIMD  = 1,
  parameter integer CF    = 1,   // C / SIMD
  parameter integer OH    = 7,
  parameter integer OW    = 7,
  parameter integer PT    = 1,   // pad rows on top
  parameter integer PL    = 1,   // pad columns on the left
  parameter integer IH    = 5,
  parameter integer IW    = 5,
  parameter [SIMD*BITS-1:0] PAD = '0
) (
  input  wire                 clk,
  input  wire                 rst_n,
  input  wire [SIMD*BITS-1:0] in_tdata,
  input  wire                 in_tvalid,
  output wire                 in_tready,
  output wire [SIMD*BITS-1:0] out_tdata,
  output wire                 out_tvalid,
  input  wire                 out_tready
);
  localparam integer YW  = $clog2(OH + 1);
  localparam integer XW  = $clog2(OW + 1);
  localparam integer CFW = CF > 1 ? $clog2(CF) : 1;

  logic [YW-1:0] y;
  logic [XW-1:0] x;
  logic [CFW-1:0] cf;
  logic row_in, col_in;   // y, x inside the original image (registered)
  logic started;          // this frame has emitted a beat

  wire skid_ready;
  wire in_img = row_in && col_in;
  wire beat_valid = (in_img || !started) ? in_tvalid : 1'b1;
  wire fire = beat_valid && skid_ready;
  assign in_tready = in_img && skid_ready;

  wire last_cf = cf == CFW'(CF - 1);
  wire last_x  = x == XW'(OW - 1);
  wire last_y  = y == YW'(OH - 1);
  wire [XW-1:0] nx = last_x ? '0 : x + 1'b1;
  wire [YW-1:0] ny = last_y ? '0 : y + 1'b1;

  // With PT or PL = 0 a ">= 0" test below is constant; that is intended.
  /* verilator lint_off UNSIGNED */
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      y <= '0; x <= '0; cf <= '0;
      row_in <= PT == 0;
      col_in <= PL == 0;
      started <= 1'b0;
    end else if (fire) begin
      started <= !(last_cf && last_x && last_y);
      cf <= last_cf ? '0 : cf + 1'b1;
      if (last_cf) begin
        x <= nx;
        col_in <= nx >= XW'(PL) && nx < XW'(PL + IW);
        if (last_x) begin
          y <= ny;
          row_in <= ny >= YW'(PT) && ny < YW'(PT + IH);
        end
      end
    end
  end
  /* verilator lint_on UNSIGNED */

  sf_skid #(.W(SIMD * BITS)) u_out (
    .clk(clk), .rst_n(rst_n),
    .in_tdata(in_img ? in_tdata : PAD), .in_tvalid(beat_valid), .in_tready(skid_ready),
    .out_tdata(out_tdata), .out_tvalid(out_tvalid), .out_tready(out_tready));
endmodule
