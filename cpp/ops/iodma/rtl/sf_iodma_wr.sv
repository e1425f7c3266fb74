// Write IODMA: AXI4-Stream of SW bits -> DDR (AXI4 master, 64-bit INCR
// bursts), started through an HLS-style AXI4-Lite register file
// (sf_axil_ctrl: 0x00 ap_ctrl, 0x10/0x14 buffer address, 0x1C batch count N).
//
// Memory layout (FINN's packed layout, what streamfold.driver.unpack reads):
// N frames of FRAME_BEATS beats of SW/8 bytes, byte 0 of a beat in its least
// significant bits, back to back from the base address: N*FB bytes, FB =
// FRAME_BEATS*SW/8. The base address must be 8-byte aligned (its low three
// bits are ignored). When N*FB is not a multiple of 8 the last word is
// written with WSTRB covering only its valid bytes: nothing outside the N*FB
// bytes is touched.
//
// Width adaption: a byte gearbox of SW/8 + 8 bytes appends each beat at its
// fill level (below 8 when a beat is taken, so each byte picks one of 8 beat
// bytes) and hands out 8-byte words into the write FIFO (DEPTH words of data +
// strobes). A burst's AW is issued only when all its words are in the FIFO,
// so W never waits for the stream. Bursts: INCR, AWSIZE 3, at most MAX_BURST
// beats, never across a 4 KiB boundary; up to 16 bursts between AW and B.
//
// ap_done is raised after the B response of the last burst. BREADY is always
// high; BRESP is not checked (as FINN's IODMA). AW*/W* outputs are registers;
// in0_V_TREADY is a function of registers only (the gearbox fill level and
// the write FIFO's registered not-full), never of in0_V_TVALID.
module sf_iodma_wr #(
  parameter integer SW          = 8,
  parameter integer FRAME_BEATS = 1,
  parameter integer AXI_DW      = 64,   // must be 64 (Zynq HP port)
  parameter integer AXI_AW      = 32,
  parameter integer MAX_BURST   = 16,   // 1..256
  parameter integer DEPTH       = 64    // write FIFO words (>= MAX_BURST)
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
  output wire [AXI_AW-1:0] m_axi_gmem0_AWADDR,
  output wire [7:0]        m_axi_gmem0_AWLEN,
  output wire [2:0]        m_axi_gmem0_AWSIZE,
  output wire [1:0]        m_axi_gmem0_AWBURST,
  output wire [3:0]        m_axi_gmem0_AWCACHE,
  output wire [2:0]        m_axi_gmem0_AWPROT,
  output wire              m_axi_gmem0_AWVALID,
  input  wire              m_axi_gmem0_AWREADY,
  output wire [AXI_DW-1:0] m_axi_gmem0_WDATA,
  output wire [AXI_DW/8-1:0] m_axi_gmem0_WSTRB,
  output wire              m_axi_gmem0_WLAST,
  output wire              m_axi_gmem0_WVALID,
  input  wire              m_axi_gmem0_WREADY,
  /* verilator lint_off UNUSEDSIGNAL */  // write errors are not reported (as FINN's IODMA)
  input  wire [1:0]        m_axi_gmem0_BRESP,
  /* verilator lint_on UNUSEDSIGNAL */
  input  wire              m_axi_gmem0_BVALID,
  output wire              m_axi_gmem0_BREADY,
  input  wire [SW-1:0]     in0_V_TDATA,
  input  wire              in0_V_TVALID,
  output wire              in0_V_TREADY
);
  localparam integer SB    = SW / 8;
  localparam integer FB    = FRAME_BEATS * SB;
  localparam integer WW    = AXI_AW - 3;
  localparam integer LW    = AXI_AW - 2;
  localparam integer BUFB  = SB + 8;
  localparam integer CW    = $clog2(BUFB + 17);  // holds 16 (compared with)
  localparam integer FBW   = $clog2(FRAME_BEATS + 1);
  localparam integer AVW   = $clog2(DEPTH + 2);
  localparam integer OBW   = 5;                 // bursts between AW and B: up to 16
  localparam [LW-1:0] MB   = LW'(MAX_BURST);

  generate
    if (AXI_DW != 64 || SW % 8 != 0 || SW < 8 || MAX_BURST < 1 || MAX_BURST > 256 || DEPTH < MAX_BURST
        || AXI_AW < 13) begin : g_bad_params
      sf_iodma_wr_needs_AXI_DW_64_SW_multiple_of_8_MAX_BURST_1_to_256_DEPTH_ge_MAX_BURST u_bad ();
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

  wire              mul_done;
  wire [AXI_AW-1:0] total;     // N * FB bytes
  sf_iodma_mulc #(.C(FB), .XW(32), .OW(AXI_AW)) u_mul (
    .clk(ap_clk), .rst_n(ap_rst_n), .go(start && count != 32'd0), .x(count), .done(mul_done), .y(total));

  // ---- stream side: gearbox ---------------------------------------------
  logic              in_active;    // beats of the batch still to come
  logic [31:0]       fr_left;      // frames still to come (the current included)
  logic [FBW-1:0]    beat;         // beat within the frame
  logic              in_done;      // every beat taken: flush the partial word
  logic [BUFB*8-1:0] gb, gb1, gb_n;
  logic [CW-1:0]     cnt, cnt1, cnt_n;
  wire               wf_ready;     // write FIFO not full (registered inside)
  wire               wf_valid_out;
  // A word leaves when 8 bytes are held, or the last partial word at the end.
  wire               word_ok = cnt >= CW'(8) || (in_done && cnt != '0);
  wire               wpush   = word_ok && wf_ready;
  wire [7:0]         wstrb_n = (cnt >= CW'(8)) ? 8'hff : 8'((9'd1 << cnt) - 9'd1);
  // Take a beat only where its first byte lands below 8 (see the header).
  wire               ready   = in_active && (cnt < CW'(8) || (cnt < CW'(16) && wf_ready));
  wire               fire    = ready && in0_V_TVALID;
  wire [7:0]         ibytes [0:SB-1];

  assign in0_V_TREADY = ready;

  always_comb begin
    cnt1  = wpush ? ((cnt >= CW'(8)) ? cnt - CW'(8) : '0) : cnt;
    gb1   = wpush ? gb >> 64 : gb;
    cnt_n = fire ? cnt1 + CW'(SB) : cnt1;
  end

  genvar gi, gp;
  generate
    for (gi = 0; gi < SB; gi = gi + 1) begin : g_ib
      assign ibytes[gi] = in0_V_TDATA[8*gi +: 8];
    end
    // Gearbox byte gi takes beat byte gi - p, for the fill level p = cnt1 < 8.
    for (gi = 0; gi < BUFB; gi = gi + 1) begin : g_gb
      wire [7:0] cand [0:7];
      wire [7:0] has;
      for (gp = 0; gp < 8; gp = gp + 1) begin : g_p
        if (gi - gp >= 0 && gi - gp < SB) begin : g_in
          assign cand[gp] = ibytes[gi - gp];
          assign has[gp]  = 1'b1;
        end else begin : g_out
          assign cand[gp] = 8'd0;
          assign has[gp]  = 1'b0;
        end
      end
      wire [2:0] p = cnt1[2:0];
      assign gb_n[8*gi +: 8] = (fire && has[p]) ? cand[p] : gb1[8*gi +: 8];
    end
  endgenerate

  // ---- write FIFO -> W channel ---------------------------------------------
  wire [71:0] wf_out;
  wire        len_valid;
  wire [7:0]  len_out;
  logic       wvalid_q, wlast_q;
  logic [63:0] wdata_q;
  logic [7:0] wstrb_q, w_cnt;
  wire        wload = (!wvalid_q || m_axi_gmem0_WREADY) && wf_valid_out && len_valid;
  wire        wlast_n = w_cnt == len_out;

  sf_fifo #(.W(72), .DEPTH(DEPTH), .BRAM(DEPTH >= 64 ? 1 : 0)) u_wf (
    .clk(ap_clk), .rst_n(ap_rst_n), .in_tdata({wstrb_n, gb[63:0]}), .in_tvalid(word_ok), .in_tready(wf_ready),
    .out_tdata(wf_out), .out_tvalid(wf_valid_out), .out_tready(wload),
    /* verilator lint_off PINCONNECTEMPTY */ .count(), .maxcount() /* verilator lint_on PINCONNECTEMPTY */);

  assign m_axi_gmem0_WDATA  = wdata_q;
  assign m_axi_gmem0_WSTRB  = wstrb_q;
  assign m_axi_gmem0_WLAST  = wlast_q;
  assign m_axi_gmem0_WVALID = wvalid_q;
  assign m_axi_gmem0_BREADY = 1'b1;

  // ---- AW channel ----------------------------------------------------------
  logic [WW-1:0]  a_wa;
  logic [LW-1:0]  a_rem;      // words still without a burst
  logic [AVW-1:0] avail;      // words in the FIFO not yet claimed by a burst
  logic [OBW-1:0] outst;      // bursts issued whose B has not come
  logic           awvalid_q;
  logic [AXI_AW-1:0] awaddr_q;
  logic [7:0]     awlen_q;
  logic           running;
  wire            len_ready;

  assign m_axi_gmem0_AWADDR  = awaddr_q;
  assign m_axi_gmem0_AWLEN   = awlen_q;
  assign m_axi_gmem0_AWSIZE  = 3'd3;
  assign m_axi_gmem0_AWBURST = 2'b01;
  assign m_axi_gmem0_AWCACHE = 4'b0011;
  assign m_axi_gmem0_AWPROT  = 3'b000;
  assign m_axi_gmem0_AWVALID = awvalid_q;

  wire [9:0]    to4k_s = 10'd512 - {1'b0, a_wa[8:0]};
  wire [LW-1:0] to4k   = LW'(to4k_s);
  wire [LW-1:0] blen0  = (a_rem < MB) ? a_rem : MB;
  wire [LW-1:0] blen   = (to4k < blen0) ? to4k : blen0;
  wire          b_fire = m_axi_gmem0_BVALID;
  wire          issue  = a_rem != '0 && (!awvalid_q || m_axi_gmem0_AWREADY) && len_ready
                         && outst < OBW'(16) && LW'(avail) >= blen;

  sf_fifo #(.W(8), .DEPTH(16), .BRAM(0)) u_len (
    .clk(ap_clk), .rst_n(ap_rst_n), .in_tdata(8'(blen - 1'b1)), .in_tvalid(issue), .in_tready(len_ready),
    .out_tdata(len_out), .out_tvalid(len_valid), .out_tready(wload && wlast_n),
    /* verilator lint_off PINCONNECTEMPTY */ .count(), .maxcount() /* verilator lint_on PINCONNECTEMPTY */);

  always_ff @(posedge ap_clk) begin
    gb <= gb_n;
    if (wload) begin
      wdata_q <= wf_out[63:0];
      wstrb_q <= wf_out[71:64];
      wlast_q <= wlast_n;
    end
    if (!ap_rst_n) begin
      in_active <= 1'b0; in_done <= 1'b0; fr_left <= 32'd0; beat <= '0; cnt <= '0;
      wvalid_q <= 1'b0; w_cnt <= 8'd0; a_wa <= '0; a_rem <= '0; avail <= '0; outst <= '0;
      awvalid_q <= 1'b0; awaddr_q <= '0; awlen_q <= 8'd0; running <= 1'b0; finish_q <= 1'b0;
    end else begin
      finish_q <= 1'b0;
      if (start) begin
        a_wa    <= buf_addr[AXI_AW-1:3];
        fr_left <= count;
        beat    <= '0;
        if (count == 32'd0) finish_q <= 1'b1;
      end
      if (mul_done) begin
        a_rem     <= LW'(({1'b0, total} + (AXI_AW + 1)'(7)) >> 3);
        in_active <= 1'b1;
        running   <= 1'b1;
      end
      if (fire) begin
        if (beat == FBW'(FRAME_BEATS - 1)) begin
          beat    <= '0;
          fr_left <= fr_left - 32'd1;
          if (fr_left == 32'd1) begin in_active <= 1'b0; in_done <= 1'b1; end
        end else begin
          beat <= beat + 1'b1;
        end
      end
      cnt <= cnt_n;
      if (in_done && cnt_n == '0) in_done <= 1'b0;   // flushed

      avail <= avail + AVW'(wpush) - (issue ? AVW'(blen) : '0);
      if (issue) begin
        awvalid_q <= 1'b1;
        awaddr_q  <= {a_wa, 3'b000};
        awlen_q   <= 8'(blen - 1'b1);
        a_wa      <= a_wa + WW'(blen);
        a_rem     <= a_rem - blen;
      end else if (awvalid_q && m_axi_gmem0_AWREADY) begin
        awvalid_q <= 1'b0;
      end
      outst <= outst + OBW'(issue) - OBW'(b_fire);

      if (wload) begin
        wvalid_q <= 1'b1;
        w_cnt    <= wlast_n ? 8'd0 : w_cnt + 8'd1;
      end else if (m_axi_gmem0_WREADY) begin
        wvalid_q <= 1'b0;
      end

      // Done: every word has a burst, and every burst its B response.
      if (running && !in_active && a_rem == '0 && outst == OBW'(b_fire)) begin
        running  <= 1'b0;
        finish_q <= 1'b1;
      end
    end
  end
endmodule
