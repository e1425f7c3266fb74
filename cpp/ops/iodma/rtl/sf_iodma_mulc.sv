// y = x * C for a constant C, by shift-and-add over C's bits, one bit per
// cycle ($clog2(C + 1) cycles after `go`, then `done` for one cycle). The
// IODMAs need N * bytes-per-frame once per batch; this costs one OW-bit adder
// instead of a multiplier (which Yosys would map to DSP48E1s).
module sf_iodma_mulc #(
  parameter integer C  = 1,   // >= 1
  parameter integer XW = 32,
  parameter integer OW = 32   // the product is truncated to OW bits
) (
  input  wire          clk,
  input  wire          rst_n,
  input  wire          go,
  input  wire [XW-1:0] x,
  output wire          done,
  output wire [OW-1:0] y
);
  localparam integer CB = $clog2(C + 1);  // bits of C
  localparam [CB-1:0] CV = CB'(C);

  logic [OW-1:0] acc, xs;
  logic [CB-1:0] cs;                        // C's bits not yet added, LSB next
  logic          run, done_q;

  assign done = done_q;
  assign y    = acc;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      run <= 1'b0; done_q <= 1'b0; cs <= '0; acc <= '0; xs <= '0;
    end else begin
      done_q <= 1'b0;
      if (go) begin
        run <= 1'b1; cs <= CV; acc <= '0; xs <= OW'(x);
      end else if (run) begin
        if (cs[0]) acc <= acc + xs;
        xs <= xs << 1;
        cs <= cs >> 1;
        if ((cs >> 1) == '0) begin run <= 1'b0; done_q <= 1'b1; end
      end
    end
  end
endmodule
