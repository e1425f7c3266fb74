// Sliding-window generator (ConvolutionInputGenerator) for NHWC streams.
//
// Input: IFH x IFW pixels, each CF = C/SIMD beats of SIMD elements. Output:
// per output pixel (oy, ox) the KH x KW window (stride SH/SW, dilation
// DH/DW), in beats ordered (ky, kx, cf) or, with DEPTHWISE=1, (cf, ky, kx).
//
// Storage: a circular line buffer of RB input rows (the emitter passes
// RB = min(IFH, (KH-1)*DH+1 + SH): the rows of one window plus the SH rows the
// next window row needs), never the whole image. A 1-D window along the width
// is run by the emitter as a column (IFW=1, KW=1), so rows are single pixels.
// The writer fills rows as they arrive; the reader emits one output row of
// windows (OFW*KH*KW*CF beats) once the KH dilated rows it needs are
// complete, one beat per cycle. Two row counters couple them:
//   avail  = rows written minus the reader's base row, at issue time: the
//            reader may issue while avail >= SPAN;
//   occ    = rows written minus the base row still being read, updated when
//            the last read of an output row has actually left the RAM's
//            address register: the writer may fill while occ < RB.
// After an output row the base advances by SH rows, after the frame's last
// by JF = IFH - (OFH-1)*SH (to the next frame's row 0), so frames follow each
// other without a gap in the protocol.
//
// Pipeline: issue (address counters) -> A (RAM address register) -> B (RAM
// read register) -> sf_skid. A and B advance together when B is empty or the
// skid takes B; the skid's in_tready is a register, so out_tready never
// reaches in_tready or the RAM enables combinationally.
module sf_swg #(
  parameter integer BITS      = 4,
  parameter integer SIMD      = 1,
  parameter integer CF        = 1,   // C / SIMD
  parameter integer IFH       = 5,
  parameter integer IFW       = 5,
  parameter integer OFH       = 3,
  parameter integer OFW       = 3,
  parameter integer KH        = 3,
  parameter integer KW        = 3,
  parameter integer SH        = 1,
  parameter integer SW        = 1,
  parameter integer DH        = 1,
  parameter integer DW        = 1,
  parameter integer DEPTHWISE = 0,
  parameter integer RB        = 4,   // rows in the line buffer
  parameter         RAM_STYLE = "distributed"
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
  localparam integer DWID  = SIMD * BITS;
  localparam integer ROWW  = IFW * CF;            // words per buffered row
  localparam integer TOT   = RB * ROWW;           // words in the buffer
  localparam integer SPAN  = (KH - 1) * DH + 1;   // rows one window covers
  localparam integer JF    = IFH - (OFH - 1) * SH;
  localparam integer AW    = TOT > 1 ? $clog2(TOT) : 1;
  localparam integer AWX   = AW + 1;              // room for base + step before the wrap
  localparam integer CW    = $clog2(RB + IFH + 1) + 2;  // signed row counters
  localparam integer CFW   = CF > 1 ? $clog2(CF) : 1;
  localparam integer KHW   = KH > 1 ? $clog2(KH) : 1;
  localparam integer KWW   = KW > 1 ? $clog2(KW) : 1;
  localparam integer OXW   = OFW > 1 ? $clog2(OFW) : 1;
  localparam integer OYW   = OFH > 1 ? $clog2(OFH) : 1;
  localparam integer RPW   = $clog2(ROWW + 1);
  localparam [AWX-1:0] TOT_X     = AWX'(TOT);
  localparam [AWX-1:0] ROW_STEP  = AWX'(ROWW);
  localparam [AWX-1:0] DH_STEP   = AWX'(DH * ROWW);
  localparam [AWX-1:0] SH_STEP   = AWX'(SH * ROWW);
  localparam [AWX-1:0] JF_STEP   = AWX'(JF * ROWW);
  localparam [AW-1:0]  SW_STEP   = AW'(SW * CF);
  localparam [AW-1:0]  DW_STEP   = AW'(DW * CF);
  localparam signed [CW-1:0] RB_S   = CW'(RB);
  localparam signed [CW-1:0] SPAN_S = CW'(SPAN);
  localparam signed [CW-1:0] SH_S   = CW'(SH);
  localparam signed [CW-1:0] JF_S   = CW'(JF);

  function automatic [AW-1:0] wrap(input [AWX-1:0] x);
    wrap = AW'(x >= TOT_X ? x - TOT_X : x);
  endfunction

  // ---------------- writer ----------------
  logic [RPW-1:0] wpos;       // word within the row being written
  logic [AW-1:0]  wrow;       // buffer offset of that row
  logic signed [CW-1:0] avail, occ;
  wire wr_fire = in_tvalid && in_tready;
  wire wr_row_done = wr_fire && (wpos == RPW'(ROWW - 1));
  assign in_tready = occ < RB_S;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      wpos <= '0;
      wrow <= '0;
    end else if (wr_fire) begin
      if (wr_row_done) begin
        wpos <= '0;
        wrow <= wrap({1'b0, wrow} + ROW_STEP);
      end else begin
        wpos <= wpos + 1'b1;
      end
    end
  end

  // ---------------- reader (issue stage) ----------------
  logic [CFW-1:0] cf;
  logic [KWW-1:0] kx;
  logic [KHW-1:0] ky;
  logic [OXW-1:0] ox;
  logic [OYW-1:0] oy;
  logic [AW-1:0]  colbase, colk;     // ox*SW*CF, colbase + kx*DW*CF
  logic [AW-1:0]  base, rowk;        // buffer offset of the window's top row, of row ky
  logic vA, vB, lastA, lastfA;
  logic [AW-1:0] addrA;
  wire skid_ready;
  wire adv = !vB || skid_ready;                // A and B move
  wire issue = adv && (avail >= SPAN_S);

  wire last_cf = cf == CFW'(CF - 1);
  wire last_kx = kx == KWW'(KW - 1);
  wire last_ky = ky == KHW'(KH - 1);
  wire last_ox = ox == OXW'(OFW - 1);
  wire last_oy = oy == OYW'(OFH - 1);
  wire kx_step = DEPTHWISE != 0 ? 1'b1 : last_cf;
  wire ky_step = kx_step && last_kx;
  wire cf_step = DEPTHWISE != 0 ? (last_kx && last_ky) : 1'b1;
  wire ox_step = last_cf && last_kx && last_ky;
  wire oy_step = ox_step && last_ox;            // last beat of an output row
  wire [AW-1:0] next_colbase = last_ox ? '0 : colbase + SW_STEP;
  wire [AW-1:0] next_base = wrap({1'b0, base} + (last_oy ? JF_STEP : SH_STEP));

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      cf <= '0; kx <= '0; ky <= '0; ox <= '0; oy <= '0;
      colbase <= '0; colk <= '0; base <= '0; rowk <= '0;
    end else if (issue) begin
      if (cf_step) cf <= last_cf ? '0 : cf + 1'b1;
      if (kx_step) begin
        kx <= last_kx ? '0 : kx + 1'b1;
        if (!last_kx) colk <= colk + DW_STEP;
        else colk <= ox_step ? next_colbase : colbase;
      end
      if (ky_step) begin
        ky <= last_ky ? '0 : ky + 1'b1;
        if (!last_ky) rowk <= wrap({1'b0, rowk} + DH_STEP);
        else rowk <= oy_step ? next_base : base;
      end
      if (ox_step) begin
        ox <= last_ox ? '0 : ox + 1'b1;
        colbase <= next_colbase;
      end
      if (oy_step) begin
        oy <= last_oy ? '0 : oy + 1'b1;
        base <= next_base;
      end
    end
  end

  // ---------------- row accounting ----------------
  wire free_now = adv && vA && lastA;          // last read of a row leaves A
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      avail <= '0;
      occ   <= '0;
    end else begin
      avail <= avail + (wr_row_done ? CW'(1) : CW'(0))
                     - (issue && oy_step ? (last_oy ? JF_S : SH_S) : CW'(0));
      occ   <= occ + (wr_row_done ? CW'(1) : CW'(0))
                   - (free_now ? (lastfA ? JF_S : SH_S) : CW'(0));
    end
  end

  // ---------------- A, RAM, B ----------------
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      vA <= 1'b0;
      vB <= 1'b0;
    end else if (adv) begin
      vA <= issue;
      vB <= vA;
    end
  end
  always_ff @(posedge clk) begin
    if (adv) begin
      addrA  <= rowk + colk + AW'(cf);
      lastA  <= oy_step;
      lastfA <= last_oy;
    end
  end

  wire [DWID-1:0] rdata;
  sf_ram_sdp #(.W(DWID), .DEPTH(TOT), .STYLE(RAM_STYLE), .AW(AW)) u_ram (
    .clk(clk),
    .wr_en(wr_fire), .wr_addr(wrow + AW'(wpos)), .wr_data(in_tdata),
    .rd_en(adv), .rd_addr(addrA), .rd_data(rdata));

  sf_skid #(.W(DWID)) u_out (
    .clk(clk), .rst_n(rst_n),
    .in_tdata(rdata), .in_tvalid(vB), .in_tready(skid_ready),
    .out_tdata(out_tdata), .out_tvalid(out_tvalid), .out_tready(out_tready));
endmodule
