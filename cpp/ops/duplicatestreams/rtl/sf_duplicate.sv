// DuplicateStreams: every input beat goes to all NO outputs, each output with
// its own registered beat and valid, so one stalled output does not hold the
// others back by more than one beat. A beat that finds output j still full
// waits in the shared spare register (pending bit j) and the input pauses
// until every pending copy has moved on; in_tready is a register. One beat
// per cycle when no output stalls; no output gets a beat twice or misses one.
module sf_duplicate #(
  parameter integer W  = 8,
  parameter integer NO = 2
) (
  input  wire           clk,
  input  wire           rst_n,
  input  wire [W-1:0]   in_tdata,
  input  wire [0:0]     in_tvalid,
  output wire [0:0]     in_tready,
  output wire [NO*W-1:0] out_tdata,
  output wire [NO-1:0]  out_tvalid,
  input  wire [NO-1:0]  out_tready
);
  logic [W-1:0]  spare_q;
  logic [NO-1:0] pend_q, valid_q;
  logic          in_ready_q;

  wire           push = in_tvalid[0] && in_ready_q;
  wire [NO-1:0]  free = ~valid_q | out_tready;     // output register j can load this cycle
  wire [NO-1:0]  pend_d = (pend_q & ~free) | (push ? ~free : '0);

  assign in_tready  = in_ready_q;
  assign out_tvalid = valid_q;

  // The spare only ever holds a beat while the input is paused.
  always_ff @(posedge clk) begin
    if (push) spare_q <= in_tdata;
  end

  for (genvar j = 0; j < NO; j++) begin : g_out
    logic [W-1:0] data_q;
    assign out_tdata[j*W +: W] = data_q;
    always_ff @(posedge clk) begin
      if (free[j]) data_q <= pend_q[j] ? spare_q : in_tdata;
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      pend_q     <= '0;
      valid_q    <= '0;
      in_ready_q <= 1'b0;
    end else begin
      pend_q     <= pend_d;
      valid_q    <= (valid_q & ~free) | (free & (pend_q | (push ? {NO{1'b1}} : '0)));
      in_ready_q <= pend_d == '0;
    end
  end
endmodule
