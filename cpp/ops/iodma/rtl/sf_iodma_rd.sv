// Read IODMA: DDR (AXI4 master, 64-bit INCR bursts) -> AXI4-Stream of SW
// bits, started through an HLS-style AXI4-Lite register file (sf_axil_ctrl:
// 0x00 ap_ctrl, 0x10/0x14 buffer address, 0x1C batch count N).
//
// Memory layout (FINN's packed layout, the bytes of streamfold.driver.pack):
// a frame is FRAME_BEATS beats of SW/8 bytes, byte 0 of a beat in its least
// significant bits, frames back to back. FB = FRAME_BEATS*SW/8 bytes per frame.
// - WRAP = 0: the buffer holds N frames; each is streamed REPEAT times
//   before the next (N*REPEAT*FB bytes leave, N*FB are read once per repeat).
// - WRAP = 1 (FINN's "wrap" burst mode, external weights): the buffer holds one
//   frame of FB bytes, streamed N*REPEAT times.
// A weight stream (dma_plan kind "weights") needs WRAP = 1 whatever REPEAT is
// (REPEAT = 1 for a layer with one input vector per frame); inputs use WRAP = 0.
// WRAP's default is a literal (0) so that Vivado module references can set it.
// The base address must be 8-byte aligned (PYNQ buffers are page aligned): its
// low three bits are ignored. FB need not be a multiple of 8: the bytes of a
// word outside the frame(s) are read and dropped.
//
// Bursts: INCR, ARSIZE 3, at most MAX_BURST beats (16 keeps AXI3 HP ports
// happy), never across a 4 KiB boundary. A burst is issued only when the read
// data FIFO (DEPTH words) has room for all of it, so RREADY stays high and
// several bursts are in flight (up to DEPTH words / 32 bursts): with DEPTH =
// 128 the stream gets one beat per cycle (8 bytes/cycle for SW >= 64) under
// ~100 cycles of memory latency. Per burst a descriptor (length, first valid
// byte of its first word, end of its last word) goes into a small FIFO; the
// data side uses it to unpack the words in order.
//
// Width adaption: a byte gearbox of SW/8 + 8 bytes takes a word's valid bytes
// at its fill level (each byte picks one of the 8 word bytes) and shifts out
// SW/8 bytes per beat, so its cost grows linearly with SW.
//
// ap_done is raised when the last beat of the batch has been taken by the
// stream consumer. out_V_TDATA/TVALID, ARVALID/ARADDR/ARLEN are registers;
// RREADY is the data FIFO's registered not-full.
module sf_iodma_rd #(
  parameter integer SW          = 8,    // stream TDATA width, a multiple of 8
  parameter integer FRAME_BEATS = 1,    // stream beats per frame
  parameter integer REPEAT      = 1,    // times each frame is streamed per count
  parameter integer WRAP        = 0,    // 1: one frame in memory, streamed N*REPEAT times
  parameter integer AXI_DW      = 64,   // must be 64 (Zynq HP port)
  parameter integer AXI_AW      = 32,
  parameter integer MAX_BURST   = 16,   // 1..256
  parameter integer DEPTH       = 128   // read data FIFO words (bounds the words in flight)
) (
  input  wire              ap_clk,
  input  wire              ap_rst_n,
  input  wire [5:0]        s_axi_control_AWADDR,
  input  wire              s_axi_control_AWVALID,
  output wire              s_axi_control_AWREADY,
  input  wire [31:0]       s_axi_control_WDATA,
  input  wire [3:0]        s_axi_control_WSTRB,
  input  wire              s_axi_control_WVALID,
  output wire              s_axi_control_WREADY,
  output wire [1:0]        s_axi_control_BRESP,
  output wire              s_axi_control_BVALID,
  input  wire              s_axi_control_BREADY,
  input  wire [5:0]        s_axi_control_ARADDR,
  input  wire              s_axi_control_ARVALID,
  output wire              s_axi_control_ARREADY,
  output wire [31:0]       s_axi_control_RDATA,
  output wire [1:0]        s_axi_control_RRESP,
  output wire              s_axi_control_RVALID,
  input  wire              s_axi_control_RREADY,
  /* verilator lint_off SYMRSVDWORD */  // HLS's pin name
  output wire              interrupt,
  /* verilator lint_on SYMRSVDWORD */
  output wire [AXI_AW-1:0] m_axi_gmem0_ARADDR,
  output wire [7:0]        m_axi_gmem0_ARLEN,
  output wire [2:0]        m_axi_gmem0_ARSIZE,
  output wire [1:0]        m_axi_gmem0_ARBURST,
  output wire [3:0]        m_axi_gmem0_ARCACHE,
  output wire [2:0]        m_axi_gmem0_ARPROT,
  output wire              m_axi_gmem0_ARVALID,
  input  wire              m_axi_gmem0_ARREADY,
  input  wire [AXI_DW-1:0] m_axi_gmem0_RDATA,
  /* verilator lint_off UNUSEDSIGNAL */  // the beat count comes from our own descriptors; errors are not reported (as FINN's IODMA)
  input  wire [1:0]        m_axi_gmem0_RRESP,
  input  wire              m_axi_gmem0_RLAST,
  /* verilator lint_on UNUSEDSIGNAL */
  input  wire              m_axi_gmem0_RVALID,
  output wire              m_axi_gmem0_RREADY,
  output wire [SW-1:0]     out_V_TDATA,
  output wire              out_V_TVALID,
  input  wire              out_V_TREADY
);
  localparam integer SB    = SW / 8;              // bytes per beat
  localparam integer FB    = FRAME_BEATS * SB;    // bytes per frame
  localparam bit     ONESEG = (WRAP == 0) && (REPEAT == 1);  // the batch is one contiguous segment
  localparam integer WW    = AXI_AW - 3;          // word address bits
  localparam integer LW    = AXI_AW - 2;          // word counts
  localparam integer CRW   = $clog2(DEPTH + 1);
  localparam integer BUFB  = SB + 8;              // gearbox bytes
  localparam integer CW    = $clog2(BUFB + 8 + 1);
  localparam integer RW    = (REPEAT > 1) ? $clog2(REPEAT) : 1;
  localparam integer DESCW = 8 + 3 + 4 + 1;
  localparam [LW-1:0] MB   = LW'(MAX_BURST);

  generate
    if (AXI_DW != 64 || SW % 8 != 0 || SW < 8 || MAX_BURST < 1 || MAX_BURST > 256 || DEPTH < MAX_BURST
        || AXI_AW < 13) begin : g_bad_params
      sf_iodma_rd_needs_AXI_DW_64_SW_multiple_of_8_MAX_BURST_1_to_256_DEPTH_ge_MAX_BURST u_bad ();
    end
  endgenerate

  // ---- control -----------------------------------------------------------
  wire        start;
  logic       finish_q;
  /* verilator lint_off UNUSEDSIGNAL */  // bits above AXI_AW, and [2:0] (the base is 8-byte aligned)
  wire [63:0] buf_addr;
  /* verilator lint_on UNUSEDSIGNAL */
  wire [31:0] count;
  sf_axil_ctrl u_ctrl (
    .clk(ap_clk), .rst_n(ap_rst_n),
    .s_axi_AWADDR(s_axi_control_AWADDR), .s_axi_AWVALID(s_axi_control_AWVALID),
    .s_axi_AWREADY(s_axi_control_AWREADY), .s_axi_WDATA(s_axi_control_WDATA),
    .s_axi_WSTRB(s_axi_control_WSTRB), .s_axi_WVALID(s_axi_control_WVALID),
    .s_axi_WREADY(s_axi_control_WREADY), .s_axi_BRESP(s_axi_control_BRESP),
    .s_axi_BVALID(s_axi_control_BVALID), .s_axi_BREADY(s_axi_control_BREADY),
    .s_axi_ARADDR(s_axi_control_ARADDR), .s_axi_ARVALID(s_axi_control_ARVALID),
    .s_axi_ARREADY(s_axi_control_ARREADY), .s_axi_RDATA(s_axi_control_RDATA),
    .s_axi_RRESP(s_axi_control_RRESP), .s_axi_RVALID(s_axi_control_RVALID),
    .s_axi_RREADY(s_axi_control_RREADY), .interrupt(interrupt),
    .start(start), .finish(finish_q), .buf_addr(buf_addr), .count(count));

  // N * FB for the one-segment case, computed once per batch.
  wire              mul_done;
  wire [AXI_AW-1:0] total;
  sf_iodma_mulc #(.C(FB), .XW(32), .OW(AXI_AW)) u_mul (
    .clk(ap_clk), .rst_n(ap_rst_n), .go(start && ONESEG && count != 32'd0), .x(count),
    .done(mul_done), .y(total));

  // ---- address side --------------------------------------------------------
  logic [WW-1:0]     base_w;     // buffer base, in words
  logic [31:0]       n_q;        // batch count
  logic              a_active;   // bursts left to issue
  logic [WW-1:0]     a_wa;       // next burst's word address
  logic [LW-1:0]     a_rem;      // words left in this segment
  logic [AXI_AW-1:0] a_off;      // byte offset of this segment from the base
  logic              a_first;    // the next burst starts the segment
  logic [3:0]        a_hi;       // end byte (1..8) of the segment's last word
  logic [31:0]       a_n;        // segment = (frame a_n, repeat a_r)
  logic [RW-1:0]     a_r;
  logic [CRW-1:0]    credits;    // data FIFO words not yet claimed by a burst
  logic              arvalid_q;
  logic [AXI_AW-1:0] araddr_q;
  logic [7:0]        arlen_q;

  assign m_axi_gmem0_ARADDR  = araddr_q;
  assign m_axi_gmem0_ARLEN   = arlen_q;
  assign m_axi_gmem0_ARSIZE  = 3'd3;
  assign m_axi_gmem0_ARBURST = 2'b01;
  assign m_axi_gmem0_ARCACHE = 4'b0011;
  assign m_axi_gmem0_ARPROT  = 3'b000;
  assign m_axi_gmem0_ARVALID = arvalid_q;

  wire [9:0]    to4k_s = 10'd512 - {1'b0, a_wa[8:0]};        // words before the next 4 KiB boundary
  wire [LW-1:0] to4k   = LW'(to4k_s);
  wire [LW-1:0] blen0  = (a_rem < MB) ? a_rem : MB;
  wire [LW-1:0] blen   = (to4k < blen0) ? to4k : blen0;
  wire          seg_end  = blen == a_rem;
  wire          last_rep = (REPEAT == 1) || (a_r == RW'(REPEAT - 1));
  wire          last_seg = ONESEG || (last_rep && a_n == n_q - 32'd1);
  wire          desc_ready;
  wire          issue = a_active && (!arvalid_q || m_axi_gmem0_ARREADY) && desc_ready
                        && LW'(credits) >= blen;
  wire [2:0]    d_lo_new = a_first ? a_off[2:0] : 3'd0;
  wire [3:0]    d_hi_new = seg_end ? a_hi : 4'd8;
  wire [DESCW-1:0] desc_in = {8'(blen - 1'b1), d_lo_new, d_hi_new, seg_end && last_seg};

  // The next segment (frame a_n, or a_n + 1 after its last repeat).
  wire [AXI_AW-1:0] off_next = (WRAP != 0) ? '0 : (last_rep ? a_off + AXI_AW'(FB) : a_off);
  wire [2:0]        end_next = off_next[2:0] + 3'(FB);
  function automatic [LW-1:0] seg_words(input [2:0] lo);    // words covering lo + FB bytes
    seg_words = LW'((LW'(lo) + LW'(FB) + LW'(7)) >> 3);
  endfunction

  // ---- data side ----------------------------------------------------------
  wire [DESCW-1:0] desc;
  wire             d_valid;
  wire [7:0]       d_len = desc[15:8];
  wire [2:0]       d_lo  = desc[7:5];
  wire [3:0]       d_hi  = desc[4:1];
  wire             d_fin = desc[0];
  logic [7:0]      d_cnt;          // word of the current burst
  wire [63:0]      rword;
  wire             w_valid;
  logic            take;           // the gearbox takes a word this cycle
  wire             d_lastw = d_cnt == d_len;

  sf_fifo #(.W(DESCW), .DEPTH(32), .BRAM(0)) u_desc (
    .clk(ap_clk), .rst_n(ap_rst_n), .in_tdata(desc_in), .in_tvalid(issue), .in_tready(desc_ready),
    .out_tdata(desc), .out_tvalid(d_valid), .out_tready(take && d_lastw),
    /* verilator lint_off PINCONNECTEMPTY */ .count(), .maxcount() /* verilator lint_on PINCONNECTEMPTY */);
  sf_fifo #(.W(64), .DEPTH(DEPTH), .BRAM(DEPTH >= 64 ? 1 : 0)) u_data (
    .clk(ap_clk), .rst_n(ap_rst_n), .in_tdata(m_axi_gmem0_RDATA), .in_tvalid(m_axi_gmem0_RVALID),
    .in_tready(m_axi_gmem0_RREADY), .out_tdata(rword), .out_tvalid(w_valid), .out_tready(take),
    /* verilator lint_off PINCONNECTEMPTY */ .count(), .maxcount() /* verilator lint_on PINCONNECTEMPTY */);

  // ---- gearbox --------------------------------------------------------------
  logic [BUFB*8-1:0] gb, gb_n, gb1;
  logic [CW-1:0]     cnt, cnt1, cnt_n;
  logic              ovalid;
  wire               out_fire = ovalid && out_V_TREADY;
  wire  [2:0]        lo = (d_cnt == 8'd0) ? d_lo : 3'd0;
  wire  [3:0]        hi = d_lastw ? d_hi : 4'd8;
  wire  [7:0]        rbytes [0:7];

  assign out_V_TDATA  = gb[SW-1:0];
  assign out_V_TVALID = ovalid;

  always_comb begin
    cnt1  = out_fire ? cnt - CW'(SB) : cnt;
    take  = d_valid && w_valid && cnt1 <= CW'(SB);
    gb1   = out_fire ? gb >> (SB * 8) : gb;
    cnt_n = take ? cnt1 + CW'(hi) - CW'(lo) : cnt1;
  end

  genvar gi;
  generate
    for (gi = 0; gi < 8; gi = gi + 1) begin : g_rb
      assign rbytes[gi] = rword[8*gi +: 8];
    end
    // Byte gi of the gearbox takes word byte (gi - cnt1 + lo) mod 8 when it
    // lies in the 8 bytes starting at the fill level.
    for (gi = 0; gi < BUFB; gi = gi + 1) begin : g_gb
      wire [CW-1:0] d   = CW'(gi) - cnt1;
      wire          hit = take && CW'(gi) >= cnt1 && d < CW'(8);
      wire [2:0]    sel = d[2:0] + lo;
      assign gb_n[8*gi +: 8] = hit ? rbytes[sel] : gb1[8*gi +: 8];
    end
  endgenerate

  // ---- sequencing -----------------------------------------------------------
  logic data_done;   // the last word of the batch was taken
  wire  dd = data_done || (take && d_lastw && d_fin);

  always_ff @(posedge ap_clk) begin
    gb <= gb_n;
    if (!ap_rst_n) begin
      a_active <= 1'b0; arvalid_q <= 1'b0; credits <= CRW'(DEPTH); d_cnt <= 8'd0;
      cnt <= '0; ovalid <= 1'b0; data_done <= 1'b0; finish_q <= 1'b0;
      base_w <= '0; n_q <= 32'd0; a_wa <= '0; a_rem <= '0; a_off <= '0; a_first <= 1'b0;
      a_hi <= 4'd8; a_n <= 32'd0; a_r <= '0; araddr_q <= '0; arlen_q <= 8'd0;
    end else begin
      finish_q <= 1'b0;
      if (start) begin
        base_w <= buf_addr[AXI_AW-1:3];
        n_q    <= count;
        a_off  <= '0; a_n <= 32'd0; a_r <= '0; a_first <= 1'b1;
        a_wa   <= buf_addr[AXI_AW-1:3];
        if (count == 32'd0) finish_q <= 1'b1;   // nothing to move
        else if (!ONESEG) begin
          a_active <= 1'b1;
          a_rem    <= seg_words(3'd0);
          a_hi     <= (3'(FB) == 3'd0) ? 4'd8 : {1'b0, 3'(FB)};
        end
      end
      if (ONESEG && mul_done) begin
        a_active <= 1'b1;
        a_rem    <= LW'(({1'b0, total} + (AXI_AW + 1)'(7)) >> 3);
        a_hi     <= (total[2:0] == 3'd0) ? 4'd8 : {1'b0, total[2:0]};
      end

      if (issue) begin
        arvalid_q <= 1'b1;
        araddr_q  <= {a_wa, 3'b000};
        arlen_q   <= 8'(blen - 1'b1);
        if (!seg_end) begin
          a_wa <= a_wa + WW'(blen); a_rem <= a_rem - blen; a_first <= 1'b0;
        end else if (last_seg) begin
          a_active <= 1'b0;
        end else begin
          if (last_rep) begin a_r <= '0; a_n <= a_n + 32'd1; end
          else a_r <= a_r + 1'b1;
          a_off   <= off_next;
          a_wa    <= base_w + WW'(off_next >> 3);
          a_rem   <= seg_words(off_next[2:0]);
          a_hi    <= (end_next == 3'd0) ? 4'd8 : {1'b0, end_next};
          a_first <= 1'b1;
        end
      end else if (arvalid_q && m_axi_gmem0_ARREADY) begin
        arvalid_q <= 1'b0;
      end
      credits <= credits - (issue ? CRW'(blen) : '0) + CRW'(take);

      if (take) d_cnt <= d_lastw ? 8'd0 : d_cnt + 8'd1;
      cnt    <= cnt_n;
      ovalid <= cnt_n >= CW'(SB);
      if (dd && cnt_n == '0) begin
        data_done <= 1'b0;
        finish_q  <= 1'b1;
      end else begin
        data_done <= dd;
      end
    end
  end
endmodule
