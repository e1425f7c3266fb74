// StreamingConcat: channel-wise concatenation of N channels-last streams of
// W-bit beats (SIMD elements). For every pixel it passes FOLDS[i] beats of
// input i, for i = 0..N-1 in turn (FOLDS[i] = ChannelsPerStream[i] / SIMD,
// 32 bits per entry, entry 0 in the LSBs). Only the selected input sees
// in_tready; the output goes through a skid buffer (registered ready), so one
// beat per cycle when nothing stalls.
module sf_concat #(
  parameter integer        N     = 2,
  parameter integer        W     = 8,
  parameter [N*32-1:0]     FOLDS = {32'd1, 32'd1},
  parameter integer        FMAX  = 1              // the largest FOLDS entry
) (
  input  wire            clk,
  input  wire            rst_n,
  input  wire [N*W-1:0]  in_tdata,
  input  wire [N-1:0]    in_tvalid,
  output wire [N-1:0]    in_tready,
  output wire [W-1:0]    out_tdata,
  output wire [0:0]      out_tvalid,
  input  wire [0:0]      out_tready
);
  localparam integer SW = N > 1 ? $clog2(N) : 1;
  localparam integer FW = FMAX > 1 ? $clog2(FMAX) : 1;
  logic [SW-1:0] sel;
  logic [FW-1:0] fold;
  wire room;
  wire [W-1:0] data = in_tdata[sel*W +: W];
  wire valid = in_tvalid[sel];
  wire fire = valid && room;
  wire [31:0] folds_sel = FOLDS[sel*32 +: 32];
  wire last_fold = 32'(fold) == folds_sel - 32'd1;

  for (genvar i = 0; i < N; i++) begin : g_rdy
    assign in_tready[i] = room && sel == SW'(i);
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      sel  <= '0;
      fold <= '0;
    end else if (fire) begin
      if (last_fold) begin
        fold <= '0;
        sel  <= sel == SW'(N - 1) ? '0 : sel + SW'(1);
      end else begin
        fold <= fold + FW'(1);
      end
    end
  end

  sf_skid #(.W(W)) skid (
    .clk(clk), .rst_n(rst_n),
    .in_tdata(data), .in_tvalid(fire), .in_tready(room),
    .out_tdata(out_tdata), .out_tvalid(out_tvalid[0]), .out_tready(out_tready[0]));
endmodule
