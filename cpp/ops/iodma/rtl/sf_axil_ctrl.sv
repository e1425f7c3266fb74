// AXI4-Lite control slave with the register map of an HLS block-level
// ap_ctrl_hs + s_axilite interface, as FINN's IODMA has it (32-bit
// registers, 6-bit byte address; the driver writes 0x10/0x14 and 0x1C, then
// 1 to 0x00, and polls 0x00 for ap_done):
//   0x00 control  bit0 ap_start   write 1 to start; reads 1 until the core
//                                  takes the job; with auto_restart set it
//                                  is set again when a job finishes, so the
//                                  core runs job after job until it is cleared)
//                 bit1 ap_done    set when the job finished; clear on read
//                 bit2 ap_idle    no job running
//                 bit3 ap_ready   set when the core took the job; clear on read
//                 bit7 auto_restart (read/write)
//   0x04 GIE      bit0 global interrupt enable
//   0x08 IER      bit0 done, bit1 ready interrupt enable
//   0x0C ISR      bit0 done, bit1 ready: set by the event if enabled in IER;
//                 writing 1 toggles a bit (HLS semantics)
//   0x10 buffer address [31:0]    0x14 buffer address [63:32]
//   0x1C batch count N (FINN's numReps)
//   other addresses read 0 and ignore writes.
// `interrupt` = GIE & |ISR (HLS's interrupt pin).
// The core sees `start` (one cycle, when ap_start is set and no job runs),
// the argument registers as they are then (it latches them itself), and
// answers with `finish` (one cycle) when the job is complete.
// Writes take AW and W in either order; one write and one read are
// processed at a time. All outputs are registers or a register's inverse.
module sf_axil_ctrl (
  input  wire        clk,
  input  wire        rst_n,
  /* verilator lint_off UNUSEDSIGNAL */  // AxADDR[1:0]: registers are whole 32-bit words
  input  wire [5:0]  s_axi_AWADDR,
  input  wire        s_axi_AWVALID,
  output wire        s_axi_AWREADY,
  input  wire [31:0] s_axi_WDATA,
  input  wire [3:0]  s_axi_WSTRB,
  input  wire        s_axi_WVALID,
  output wire        s_axi_WREADY,
  output wire [1:0]  s_axi_BRESP,
  output wire        s_axi_BVALID,
  input  wire        s_axi_BREADY,
  input  wire [5:0]  s_axi_ARADDR,
  /* verilator lint_on UNUSEDSIGNAL */
  input  wire        s_axi_ARVALID,
  output wire        s_axi_ARREADY,
  output wire [31:0] s_axi_RDATA,
  output wire [1:0]  s_axi_RRESP,
  output wire        s_axi_RVALID,
  input  wire        s_axi_RREADY,
  /* verilator lint_off SYMRSVDWORD */  // HLS's name for the pin; not a C++ identifier here
  output wire        interrupt,
  /* verilator lint_on SYMRSVDWORD */
  output wire        start,
  input  wire        finish,
  output wire [63:0] buf_addr,
  output wire [31:0] count
);
  logic        aw_full, w_full, bvalid_q, rvalid_q;
  logic [3:0]  aw_word;
  logic [31:0] wdata_q;
  logic [3:0]  wstrb_q;
  logic [31:0] rdata_q;
  logic        ap_start, ap_done, ap_ready, auto_restart, busy, gie, start_q;
  logic [1:0]  ier, isr;
  logic [31:0] addr_lo, addr_hi, count_q;

  assign s_axi_AWREADY = !aw_full;
  assign s_axi_WREADY  = !w_full;
  assign s_axi_BRESP   = 2'b00;
  assign s_axi_BVALID  = bvalid_q;
  assign s_axi_ARREADY = !rvalid_q;
  assign s_axi_RDATA   = rdata_q;
  assign s_axi_RRESP   = 2'b00;
  assign s_axi_RVALID  = rvalid_q;
  assign interrupt     = gie && (isr != 2'b00);
  assign start         = start_q;
  assign buf_addr      = {addr_hi, addr_lo};
  assign count         = count_q;

  // A write happens when address and data are both held and the previous
  // response has been taken.
  wire do_write = aw_full && w_full && !bvalid_q;
  wire do_read  = s_axi_ARVALID && !rvalid_q;
  wire rd_ctrl  = do_read && s_axi_ARADDR[5:2] == 4'h0;  // clear-on-read of done/ready

  function automatic [31:0] merge(input [31:0] old, input [31:0] nw, input [3:0] strb);
    for (int b = 0; b < 4; b++) merge[8*b +: 8] = strb[b] ? nw[8*b +: 8] : old[8*b +: 8];
  endfunction

  wire [31:0] ctrl_word = {24'd0, auto_restart, 3'd0, ap_ready, !busy, ap_done, ap_start};
  wire        wr_ctrl   = do_write && aw_word == 4'h0;
  // The core takes a job when ap_start is set and none runs (and not in the
  // cycle it is handed one).
  wire        take      = ap_start && !busy && !start_q;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      aw_full <= 1'b0; w_full <= 1'b0; bvalid_q <= 1'b0; rvalid_q <= 1'b0;
      ap_start <= 1'b0; ap_done <= 1'b0; ap_ready <= 1'b0; auto_restart <= 1'b0;
      busy <= 1'b0; gie <= 1'b0; ier <= 2'b0; isr <= 2'b0; start_q <= 1'b0;
      addr_lo <= 32'd0; addr_hi <= 32'd0; count_q <= 32'd0;
      aw_word <= 4'd0; wdata_q <= 32'd0; wstrb_q <= 4'd0; rdata_q <= 32'd0;
    end else begin
      if (s_axi_AWVALID && !aw_full) begin aw_full <= 1'b1; aw_word <= s_axi_AWADDR[5:2]; end
      if (s_axi_WVALID && !w_full) begin w_full <= 1'b1; wdata_q <= s_axi_WDATA; wstrb_q <= s_axi_WSTRB; end
      if (do_write) begin
        aw_full <= 1'b0; w_full <= 1'b0; bvalid_q <= 1'b1;
        case (aw_word)
          4'h1: if (wstrb_q[0]) gie <= wdata_q[0];
          4'h2: if (wstrb_q[0]) ier <= wdata_q[1:0];
          4'h3: if (wstrb_q[0]) isr <= isr ^ wdata_q[1:0];
          4'h4: addr_lo <= merge(addr_lo, wdata_q, wstrb_q);
          4'h5: addr_hi <= merge(addr_hi, wdata_q, wstrb_q);
          4'h7: count_q <= merge(count_q, wdata_q, wstrb_q);
          default: ;
        endcase
      end else if (bvalid_q && s_axi_BREADY) begin
        bvalid_q <= 1'b0;
      end
      if (do_read) begin
        rvalid_q <= 1'b1;
        case (s_axi_ARADDR[5:2])
          4'h0: rdata_q <= ctrl_word;
          4'h1: rdata_q <= {31'd0, gie};
          4'h2: rdata_q <= {30'd0, ier};
          4'h3: rdata_q <= {30'd0, isr};
          4'h4: rdata_q <= addr_lo;
          4'h5: rdata_q <= addr_hi;
          4'h7: rdata_q <= count_q;
          default: rdata_q <= 32'd0;
        endcase
      end else if (rvalid_q && s_axi_RREADY) begin
        rvalid_q <= 1'b0;
      end

      start_q <= take;
      if (take) busy <= 1'b1;
      else if (finish) busy <= 1'b0;
      // ap_start: set by a write of 1, cleared when taken; with auto_restart it
      // is set again when the job finishes (as HLS does at ap_ready), so
      // clearing auto_restart lets the running job end and starts no other.
      if (wr_ctrl && wstrb_q[0] && wdata_q[0]) ap_start <= 1'b1;
      else if (take) ap_start <= 1'b0;
      else if (finish && auto_restart) ap_start <= 1'b1;
      if (wr_ctrl && wstrb_q[0]) auto_restart <= wdata_q[7];
      // An event in the cycle of a read of 0x00 survives that read.
      if (finish) ap_done <= 1'b1;
      else if (rd_ctrl) ap_done <= 1'b0;
      if (take) ap_ready <= 1'b1;
      else if (rd_ctrl) ap_ready <= 1'b0;
      if (finish && ier[0]) isr[0] <= 1'b1;
      if (take && ier[1]) isr[1] <= 1'b1;
    end
  end
endmodule
