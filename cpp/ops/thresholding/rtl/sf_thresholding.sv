// FINN's Thresholding layer: PE channels per beat (element p of beat f is
// channel (f mod NF)*PE + p), out = OBIAS + #{t in thr[c] : t <= x}.
// The comparison is sf_thresh_bsearch (one stage per output bit, each stage's
// thresholds in its own small ROM), so 255 thresholds cost 8 comparators per
// PE. One beat per cycle (II = 1); the pipeline never stalls and is flow
// controlled by credits in the output queue (sf_mvau_outq), so in_tready is a
// register and does not depend on out_tready.
//   PE, NF = NumChannels / PE
//   IBITS, ISIGNED   input width and signedness (integer inputs)
//   K, TROWS (NF, or 1 for shared thresholds), TW, OBITS, OBIAS,
//   THR_PREFIX, THR_BLOCK_MASK   see sf_thresh_bsearch
module sf_thresholding #(
  parameter integer PE = 1,
  parameter integer NF = 1,
  parameter integer IBITS = 8,
  parameter integer ISIGNED = 1,
  parameter integer K = 1,
  parameter integer TROWS = 1,
  parameter integer TW = IBITS + 1,
  parameter integer OBITS = 1,
  parameter integer OBIAS = 0,
  parameter         THR_PREFIX = "thr",
  parameter integer THR_BLOCK_MASK = 0
) (
  input  wire                 clk,
  input  wire                 rst_n,
  input  wire [PE*IBITS-1:0]  in_tdata,
  input  wire [0:0]           in_tvalid,
  output wire [0:0]           in_tready,
  output wire [PE*OBITS-1:0]  out_tdata,
  output wire [0:0]           out_tvalid,
  input  wire [0:0]           out_tready
);
  localparam integer NFW = (NF > 1) ? $clog2(NF) : 1;
  localparam integer TRW = (TROWS > 1) ? $clog2(TROWS) : 1;
  localparam integer L = 1 + 2 * K + 1;                   // issue -> output queue write
  localparam integer OQ_DEPTH = 1 << $clog2(L + 5);

  logic can_reserve;
  assign in_tready = can_reserve;
  wire step = in_tvalid[0] && can_reserve;

  logic [NFW-1:0]      nf_cnt;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [NFW-1:0]      row_q;  // unused with shared thresholds (TROWS = 1)
  /* verilator lint_on UNUSEDSIGNAL */
  logic                v_q;
  logic [PE*IBITS-1:0] x_q;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      nf_cnt <= '0;
      v_q <= 1'b0;
    end else begin
      v_q <= step;
      if (step) nf_cnt <= (nf_cnt == NFW'(NF - 1)) ? '0 : nf_cnt + 1'b1;
    end
    x_q <= in_tdata;
    row_q <= nf_cnt;
  end

  wire                wr_en;
  wire [PE*OBITS-1:0] wr_data;
  wire [TRW-1:0] row = TRW'(row_q);  // shared thresholds (TROWS = 1): the fold index is unused
  sf_thresh_bsearch #(.PE(PE), .IW(IBITS), .ISIGNED(ISIGNED), .TW(TW), .K(K), .ROWS(TROWS), .OW(OBITS),
                      .OBIAS(OBIAS), .FILE_PREFIX(THR_PREFIX), .BLOCK_MASK(THR_BLOCK_MASK), .RW(TRW)) u_thr (
    .clk(clk), .rst_n(rst_n), .in_valid(v_q), .in_row(row), .in_data(x_q),
    .out_valid(wr_en), .out_data(wr_data));

  sf_mvau_outq #(.W(PE*OBITS), .DEPTH(OQ_DEPTH)) u_outq (
    .clk(clk), .rst_n(rst_n), .reserve(step), .can_reserve(can_reserve),
    .wr_en(wr_en), .wr_data(wr_data), .out_tdata(out_tdata), .out_tvalid(out_tvalid[0]),
    .out_tready(out_tready[0]));
endmodule
