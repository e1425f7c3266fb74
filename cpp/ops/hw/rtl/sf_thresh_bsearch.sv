// Multi-threshold activation as a binary-search pipeline, PE lanes:
//   out[p] = OBIAS + #{ t in row(in_row, p) : t <= in[p] }
// with each row's thresholds sorted ascending and padded to 2^K - 1 entries
// (padding: a value that no input reaches). Stage k (k = 0..K-1) decides bit
// K-1-k of the count with one comparison per lane against a threshold from
// its own small ROM, so the cost grows with K = log2(steps + 1), not with steps.
//   PE       lanes; IW input width, ISIGNED 1: inputs are two's complement
//   TW       threshold width (signed; the emitter clamps thresholds to the
//            input range widened by one, [min, max + 1]: TW = IW + 1 for
//            signed inputs, IW + 2 for unsigned ones)
//   K        stages (1..9), ROWS threshold rows per lane (1: shared)
//   OW       output width, OBIAS added to the count (ActVal; 0 for BIPOLAR,
//            whose {0,1} encoding is the count itself)
//   FILE_PREFIX  stage k, lane p reads {FILE_PREFIX, "_s<k>_p<ppp>.dat"}
//            (p in three decimal digits): ROWS * 2^k words of TW bits, word
//            row * 2^k + j = threshold index j * 2^(K-k) + 2^(K-k-1) - 1 of the row.
//   BLOCK_MASK  bit k set: stage k's ROMs are (* ram_style = "block" *)
// Latency: 2*K + 1 cycles (ROM read, compare per stage; output add). No
// enable, no backpressure: flow control is the caller's (output credits).
module sf_thresh_bsearch #(
  parameter integer PE = 1,
  parameter integer IW = 8,
  parameter integer ISIGNED = 1,
  parameter integer TW = IW + 1,
  parameter integer K = 1,
  parameter integer ROWS = 1,
  parameter integer OW = 1,
  parameter integer OBIAS = 0,
  parameter         FILE_PREFIX = "thr",
  parameter integer BLOCK_MASK = 0,
  parameter integer RW = (ROWS > 1) ? $clog2(ROWS) : 1
) (
  input  wire             clk,
  input  wire             rst_n,
  input  wire             in_valid,
  input  wire [RW-1:0]    in_row,
  input  wire [PE*IW-1:0] in_data,
  output logic            out_valid,
  output logic [PE*OW-1:0] out_data
);
  function automatic [7:0] dig(input integer d);
    dig = 8'd48 + 8'(d % 10);
  endfunction

  // Per stage boundary s (0..K): valid, row, value and count prefix of each lane.
  logic            v_s   [K+1];
  logic [RW-1:0]   row_s [K+1];
  logic [IW-1:0]   val_s [K+1][PE];
  logic [K-1:0]    idx_s [K+1][PE];  // low s bits hold the decided count bits

  assign v_s[0] = in_valid;
  assign row_s[0] = in_row;

  genvar k, p;
  generate
    for (p = 0; p < PE; p++) begin : g_in
      assign val_s[0][p] = in_data[p*IW +: IW];
      assign idx_s[0][p] = '0;
    end
    for (k = 0; k < K; k++) begin : g_stage
      localparam integer DEPTH = ROWS << k;
      localparam integer AW = (DEPTH > 1) ? $clog2(DEPTH) : 1;
      // Cycle A: ROM read; carry the lane state one register along.
      logic          va_q;
      logic [RW-1:0] rowa_q;
      always_ff @(posedge clk) begin
        if (!rst_n) va_q <= 1'b0;
        else va_q <= v_s[k];
        rowa_q <= row_s[k];
      end
      // Cycle B: compare; append the decided bit.
      logic          vb_q;
      logic [RW-1:0] rowb_q;
      always_ff @(posedge clk) begin
        if (!rst_n) vb_q <= 1'b0;
        else vb_q <= va_q;
        rowb_q <= rowa_q;
      end
      assign v_s[k+1] = vb_q;
      assign row_s[k+1] = rowb_q;
      for (p = 0; p < PE; p++) begin : g_lane
        localparam FILE = {FILE_PREFIX, "_s", dig(k), "_p", dig(p / 100), dig(p / 10), dig(p), ".dat"};
        wire [AW-1:0] addr;
        if (k == 0) begin : g_a0
          assign addr = AW'(row_s[k]);
        end else begin : g_ak
          assign addr = AW'({row_s[k], idx_s[k][p][k-1:0]});
        end
        wire [TW-1:0] t;
        sf_rom #(.DEPTH(DEPTH), .WIDTH(TW), .FILE(FILE), .BLOCK((BLOCK_MASK >> k) & 1), .AW(AW)) u_rom (
          .clk(clk), .addr(addr), .rdata(t));
        logic [IW-1:0] vala_q, valb_q;
        /* verilator lint_off UNUSEDSIGNAL */
        logic [K-1:0]  idxa_q;  // its top bit is shifted out
        /* verilator lint_on UNUSEDSIGNAL */
        logic [K-1:0]  idxb_q;
        always_ff @(posedge clk) begin
          vala_q <= val_s[k][p];
          idxa_q <= idx_s[k][p];
        end
        wire signed [TW:0] tv = (TW+1)'($signed(t));
        wire signed [TW:0] xv = (ISIGNED != 0) ? (TW+1)'($signed(vala_q)) : (TW+1)'({1'b0, vala_q});
        wire ge = (tv <= xv);
        always_ff @(posedge clk) valb_q <= vala_q;
        if (K == 1) begin : g_i1
          always_ff @(posedge clk) idxb_q <= ge;
          /* verilator lint_off UNUSEDSIGNAL */
          wire unused_idx = idxa_q[0];  // nothing decided before stage 0
          /* verilator lint_on UNUSEDSIGNAL */
        end else begin : g_ik
          always_ff @(posedge clk) idxb_q <= {idxa_q[K-2:0], ge};
        end
        assign val_s[k+1][p] = valb_q;
        assign idx_s[k+1][p] = idxb_q;
      end
    end
  endgenerate

  // Output: OBIAS + count, registered.
  always_ff @(posedge clk) begin
    if (!rst_n) out_valid <= 1'b0;
    else out_valid <= v_s[K];
  end
  generate
    for (p = 0; p < PE; p++) begin : g_out
      always_ff @(posedge clk) out_data[p*OW +: OW] <= OW'(OBIAS) + OW'(idx_s[K][p]);
    end
  endgenerate
endmodule
