// Pool (FINN's Pool_Batch) over the windows a depthwise sliding-window
// generator unrolls: per output pixel, CF = C/PE channel groups, each KK
// consecutive beats (the kernel taps) of PE lanes. FUNC 0: max; 1: sum
// (AccPool); 2: sum, then an arithmetic right shift by SHIFT (QuantAvgPool,
// floor division by 2^SHIFT). The result of a group leaves with its last tap,
// through an sf_skid; one input beat per cycle. Lanes are BITS wide (two's
// complement when SIGNED, {0,1} = -1/+1 when BIPOLAR); results OBITS wide
// (a BIPOLAR result, OBIPOLAR, as {0,1}).
module sf_pool #(
  parameter integer BITS    = 4,
  parameter integer OBITS   = 4,
  parameter integer PE      = 1,
  parameter integer KK      = 4,
  parameter integer FUNC    = 0,
  parameter integer SHIFT   = 0,
  parameter integer SIGNED  = 0,
  parameter integer BIPOLAR = 0,
  parameter integer OBIPOLAR = 0   // the result travels as {0,1} = -1/+1
) (
  input  wire                clk,
  input  wire                rst_n,
  input  wire [PE*BITS-1:0]  in_tdata,
  input  wire                in_tvalid,
  output wire                in_tready,
  output wire [PE*OBITS-1:0] out_tdata,
  output wire                out_tvalid,
  input  wire                out_tready
);
  // Sum width: the input value as a signed number, plus the growth of KK terms.
  localparam integer VW   = BIPOLAR != 0 ? 2 : BITS + 1;
  localparam integer ACCW = VW + $clog2(KK + 1);
  localparam integer TW   = KK > 1 ? $clog2(KK) : 1;

  logic [TW-1:0] t;
  wire first = t == '0;
  wire last  = t == TW'(KK - 1);
  wire skid_ready;
  assign in_tready = skid_ready || !last;
  wire accept = in_tvalid && in_tready;

  always_ff @(posedge clk) begin
    if (!rst_n) t <= '0;
    else if (accept) t <= last ? '0 : t + 1'b1;
  end

  wire [PE*OBITS-1:0] res;
  genvar i;
  generate
    for (i = 0; i < PE; i = i + 1) begin : g_lane
      wire [BITS-1:0] raw = in_tdata[i*BITS +: BITS];
      wire signed [ACCW-1:0] v;
      if (BIPOLAR != 0) begin : g_bip
        assign v = raw[0] ? ACCW'(1) : -ACCW'(1);
      end else if (SIGNED != 0) begin : g_s
        assign v = ACCW'($signed(raw));
      end else begin : g_u
        assign v = ACCW'({1'b0, raw});
      end
      logic signed [ACCW-1:0] acc;
      wire signed [ACCW-1:0] nxt;
      if (FUNC == 0) begin : g_max
        assign nxt = (first || v > acc) ? v : acc;
      end else begin : g_sum
        assign nxt = (first ? '0 : acc) + v;
      end
      always_ff @(posedge clk) begin
        if (accept) acc <= nxt;
      end
      // The output type holds every result, so the bits above OBITS are only
      // its sign extension.
      /* verilator lint_off UNUSEDSIGNAL */
      wire signed [ACCW-1:0] shifted = nxt >>> SHIFT;
      /* verilator lint_on UNUSEDSIGNAL */
      if (OBIPOLAR != 0) begin : g_obip
        assign res[i*OBITS +: OBITS] = OBITS'(shifted > 0);
      end else if (OBITS <= ACCW) begin : g_narrow
        assign res[i*OBITS +: OBITS] = shifted[OBITS-1:0];
      end else begin : g_wide
        assign res[i*OBITS +: OBITS] = OBITS'(shifted);
      end
    end
  endgenerate

  sf_skid #(.W(PE * OBITS)) u_out (
    .clk(clk), .rst_n(rst_n),
    .in_tdata(res), .in_tvalid(in_tvalid && last), .in_tready(skid_ready),
    .out_tdata(out_tdata), .out_tvalid(out_tvalid), .out_tready(out_tready));
endmodule
