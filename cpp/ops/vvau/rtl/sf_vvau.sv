// FINN's VVAU (vector-vector-activation unit), the depthwise convolution
// after a depthwise SWG: sf_vvau_mac (PE channels x SIMD kernel taps per beat,
// see there for the stream and weight layouts) and, unless NO_ACT, the
// multi-threshold activation sf_thresholding on the accumulator stream (one
// beat of PE accumulators per channel fold, so its channel counter and
// threshold rows line up with the MAC's output beats).
//   AW, ASIGNED   accumulator width and signedness
//   OBITS         output element width; with NO_ACT the accumulator is
//                 sign- (ASIGNED) or zero-extended, or truncated, to it
//   K, TROWS, TW, OBIAS, THR_PREFIX, THR_BLOCK_MASK   see sf_thresh_bsearch
//   EXT_W         1: mem_mode external, the weights arrive as input stream 1
//                 (in_tdata[ICW +: PE*SIMD*WW]), see sf_vvau_mac; ICW is the
//                 core width of one input stream (derived; do not set)
module sf_vvau #(
  parameter integer PE = 1,
  parameter integer SIMD = 1,
  parameter integer NF = 1,
  parameter integer SF = 1,
  parameter integer IW = 4,
  parameter integer WW = 4,
  parameter integer IKIND = 0,
  parameter integer WKIND = 1,
  parameter integer AW = 16,
  parameter integer ASIGNED = 1,
  parameter integer USE_DSP = 0,
  parameter WEIGHT_FILE = "weights.dat",
  parameter RAM_STYLE = "distributed",
  parameter integer NO_ACT = 1,
  parameter integer OBITS = 16,
  // The activation's parameters go unused with NO_ACT.
  /* verilator lint_off UNUSEDPARAM */
  parameter integer K = 1,
  parameter integer TROWS = 1,
  parameter integer TW = AW + 1,
  parameter integer OBIAS = 0,
  parameter THR_PREFIX = "thr",
  parameter integer THR_BLOCK_MASK = 0,
  /* verilator lint_on UNUSEDPARAM */
  parameter integer EXT_W = 0,
  parameter integer ICW = (EXT_W != 0 && WW > IW) ? PE*SIMD*WW : PE*SIMD*IW
) (
  input  wire                  clk,
  input  wire                  rst_n,
  input  wire [(EXT_W+1)*ICW-1:0] in_tdata,
  input  wire [EXT_W:0]        in_tvalid,
  output wire [EXT_W:0]        in_tready,
  output wire [PE*OBITS-1:0]   out_tdata,
  output wire [0:0]            out_tvalid,
  input  wire [0:0]            out_tready
);
  wire [PE*AW-1:0] acc_tdata;
  wire acc_tvalid, acc_tready;
  wire [PE*SIMD*WW-1:0] w_tdata;
  wire w_tvalid, w_tready;
  generate
    if (EXT_W != 0) begin : g_wext
      assign w_tdata = in_tdata[ICW +: PE*SIMD*WW];
      assign w_tvalid = in_tvalid[EXT_W];
      assign in_tready[EXT_W] = w_tready;
      if (ICW > PE*SIMD*IW || ICW > PE*SIMD*WW) begin : g_pad
        /* verilator lint_off UNUSEDSIGNAL */
        wire unused_pad = ^in_tdata;  // zero padding of the narrower stream
        /* verilator lint_on UNUSEDSIGNAL */
      end
    end else begin : g_wrom
      assign w_tdata = '0;
      assign w_tvalid = 1'b0;
      /* verilator lint_off UNUSEDSIGNAL */
      wire unused_wr = w_tready;
      /* verilator lint_on UNUSEDSIGNAL */
    end
  endgenerate

  sf_vvau_mac #(.PE(PE), .SIMD(SIMD), .NF(NF), .SF(SF), .IW(IW), .WW(WW), .IKIND(IKIND), .WKIND(WKIND),
                .AW(AW), .USE_DSP(USE_DSP), .WEIGHT_FILE(WEIGHT_FILE), .RAM_STYLE(RAM_STYLE),
                .EXT_W(EXT_W)) u_mac (
    .clk(clk), .rst_n(rst_n),
    .in_tdata(in_tdata[PE*SIMD*IW-1:0]), .in_tvalid(in_tvalid[0]), .in_tready(in_tready[0]),
    .w_tdata(w_tdata), .w_tvalid(w_tvalid), .w_tready(w_tready),
    .out_tdata(acc_tdata), .out_tvalid(acc_tvalid), .out_tready(acc_tready));

  generate
    if (NO_ACT != 0) begin : g_noact
      genvar p;
      for (p = 0; p < PE; p = p + 1) begin : g_lane
        wire [AW-1:0] a = acc_tdata[p*AW +: AW];
        if (OBITS > AW) begin : g_ext
          assign out_tdata[p*OBITS +: OBITS] = {{(OBITS - AW){ASIGNED != 0 ? a[AW-1] : 1'b0}}, a};
        end else begin : g_trunc
          assign out_tdata[p*OBITS +: OBITS] = a[OBITS-1:0];
          if (OBITS < AW) begin : g_unused
            /* verilator lint_off UNUSEDSIGNAL */
            wire unused_hi = |a[AW-1:OBITS];  // the output type holds every accumulator value
            /* verilator lint_on UNUSEDSIGNAL */
          end
        end
      end
      assign out_tvalid[0] = acc_tvalid;
      assign acc_tready = out_tready[0];
    end else begin : g_act
      wire [0:0] thr_in_tready;
      sf_thresholding #(.PE(PE), .NF(NF), .IBITS(AW), .ISIGNED(ASIGNED), .K(K), .TROWS(TROWS), .TW(TW),
                        .OBITS(OBITS), .OBIAS(OBIAS), .THR_PREFIX(THR_PREFIX),
                        .THR_BLOCK_MASK(THR_BLOCK_MASK)) u_act (
        .clk(clk), .rst_n(rst_n),
        .in_tdata(acc_tdata), .in_tvalid(acc_tvalid), .in_tready(thr_in_tready),
        .out_tdata(out_tdata), .out_tvalid(out_tvalid), .out_tready(out_tready));
      assign acc_tready = thr_in_tready[0];
    end
  endgenerate
endmodule
