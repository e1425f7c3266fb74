// StreamingMaxPool: non-overlapping KH x KW max pooling of an NHWC stream
// (IH x IW pixels, CF = C/PE beats of PE lanes each), one input beat per
// cycle. OH/OW are the output dims (floor, or ceil for CeilMode: the edge
// windows are clipped). Input rows/columns past OH*KH / OW*KW are dropped.
//
// A row buffer holds the running maximum of each (output column, channel
// group) of the output row being pooled (OW*CF words; CF words when KH = 1,
// since a window then closes within its row). Stage 0 takes the input beat and
// reads the buffer; stage 1 merges (max, or the beat itself on a window's
// first pixel), writes the buffer back and, on a window's last pixel, hands
// the result to an sf_skid. A read of the word stage 1 writes in the same
// cycle is forwarded. in_tready depends on stage 1 and the skid's registered
// in_tready only.
module sf_streaming_maxpool #(
  parameter integer BITS   = 4,
  parameter integer PE     = 1,
  parameter integer CF     = 1,   // C / PE
  parameter integer IH     = 4,
  parameter integer IW     = 4,
  parameter integer KH     = 2,
  parameter integer KW     = 2,
  parameter integer OH     = 2,
  parameter integer OW     = 2,
  parameter integer SIGNED = 0,
  parameter         RAM_STYLE = "distributed"
) (
  input  wire               clk,
  input  wire               rst_n,
  input  wire [PE*BITS-1:0] in_tdata,
  input  wire               in_tvalid,
  output wire               in_tready,
  output wire [PE*BITS-1:0] out_tdata,
  output wire               out_tvalid,
  input  wire               out_tready
);
  localparam integer DW_   = PE * BITS;
  localparam integer DEPTH = (KH > 1 ? OW : 1) * CF;
  localparam integer AW    = DEPTH > 1 ? $clog2(DEPTH) : 1;
  localparam integer YW    = $clog2(IH + 1);
  localparam integer XW    = $clog2(IW + 1);
  localparam integer CFW   = CF > 1 ? $clog2(CF) : 1;
  localparam integer KHW   = $clog2(KH + 1);
  localparam integer KWW   = $clog2(KW + 1);
  localparam integer YUSE  = OH * KH < IH ? OH * KH : IH;   // rows that reach a window
  localparam integer XUSE  = OW * KW < IW ? OW * KW : IW;
  localparam [AW-1:0] OX_STEP = KH > 1 ? AW'(CF) : '0;

  // ---------------- stage 0: input position ----------------
  logic [YW-1:0] y;
  logic [XW-1:0] x;
  logic [CFW-1:0] cf;
  logic [KHW-1:0] ky;
  logic [KWW-1:0] kx;
  logic [AW-1:0] oxbase;
  logic drop_row, drop_col;
  wire accept = in_tvalid && in_tready;
  wire last_cf = cf == CFW'(CF - 1);
  wire last_x  = x == XW'(IW - 1);
  wire last_y  = y == YW'(IH - 1);
  wire kx_end  = kx == KWW'(KW - 1);
  wire ky_end  = ky == KHW'(KH - 1);
  wire [AW-1:0] addr0 = oxbase + AW'(cf);
  wire first0 = ky == '0 && kx == '0;
  wire last0  = (ky_end || last_y) && (kx_end || last_x);
  wire drop0  = drop_row || drop_col;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      y <= '0; x <= '0; cf <= '0; ky <= '0; kx <= '0; oxbase <= '0;
      drop_row <= 1'b0; drop_col <= 1'b0;
    end else if (accept && last_cf) begin
      cf <= '0;
      if (last_x) begin
        x <= '0; kx <= '0; oxbase <= '0; drop_col <= 1'b0;
        if (last_y) begin
          y <= '0; ky <= '0; drop_row <= 1'b0;
        end else begin
          y <= y + 1'b1;
          ky <= ky_end ? '0 : ky + 1'b1;
          // Row y+1 starts output row (y+1)/KH; it is dropped past OH*KH.
          if (ky_end && y + 1'b1 >= YW'(YUSE)) drop_row <= 1'b1;
        end
      end else begin
        x <= x + 1'b1;
        kx <= kx_end ? '0 : kx + 1'b1;
        if (kx_end) begin
          oxbase <= oxbase + OX_STEP;
          if (x + 1'b1 >= XW'(XUSE)) drop_col <= 1'b1;
        end
      end
    end else if (accept) begin
      cf <= cf + 1'b1;
    end
  end

  // ---------------- stage 1: merge ----------------
  logic v1, first1, last1, drop1, fwd1;
  logic [AW-1:0] addr1;
  logic [DW_-1:0] d1, mprev;
  wire [DW_-1:0] rdata, m;
  wire skid_ready;
  wire fire1 = v1 && (drop1 || !last1 || skid_ready);
  assign in_tready = !v1 || fire1;
  wire [DW_-1:0] opnd = fwd1 ? mprev : rdata;

  genvar i;
  generate
    for (i = 0; i < PE; i = i + 1) begin : g_lane
      wire [BITS-1:0] a = d1[i*BITS +: BITS], b = opnd[i*BITS +: BITS];
      wire a_gt = SIGNED != 0 ? $signed(a) > $signed(b) : a > b;
      assign m[i*BITS +: BITS] = (first1 || a_gt) ? a : b;
    end
  endgenerate

  always_ff @(posedge clk) begin
    if (!rst_n) v1 <= 1'b0;
    else if (in_tready) v1 <= in_tvalid;
  end
  always_ff @(posedge clk) begin
    if (accept) begin
      d1 <= in_tdata;
      addr1 <= addr0;
      first1 <= first0;
      last1 <= last0;
      drop1 <= drop0;
      fwd1 <= fire1 && !drop1 && addr1 == addr0;
    end
    if (fire1) mprev <= m;
  end

  sf_ram_sdp #(.W(DW_), .DEPTH(DEPTH), .STYLE(RAM_STYLE), .AW(AW)) u_buf (
    .clk(clk),
    .wr_en(fire1 && !drop1), .wr_addr(addr1), .wr_data(m),
    .rd_en(accept), .rd_addr(addr0), .rd_data(rdata));

  sf_skid #(.W(DW_)) u_out (
    .clk(clk), .rst_n(rst_n),
    .in_tdata(m), .in_tvalid(v1 && last1 && !drop1), .in_tready(skid_ready),
    .out_tdata(out_tdata), .out_tvalid(out_tvalid), .out_tready(out_tready));
endmodule
