// Stream FIFO of DEPTH beats (DEPTH >= 2) of W bits, with an occupancy monitor.
//
// BRAM = 0: shift-register storage (SRL16E/SRLC32E) of DEPTH-1 entries plus the
//   output register; an input that finds the FIFO empty goes straight to the
//   output register (one cycle latency).
// BRAM = 1: a DEPTH-entry block RAM (synchronous read) plus a two-entry output
//   buffer fed by read credits (three cycles latency).
// Both move one beat per cycle in and out at the same time whenever the FIFO
// is neither empty nor full. in_tready, out_tvalid and out_tdata come from
// registers, so no combinational path crosses the FIFO.
//
// count: beats held now (memory, reads in flight, output buffer), registered.
// maxcount: the largest count seen since reset (FIFO sizing reads it).
module sf_fifo #(
  parameter integer W     = 8,
  parameter integer DEPTH = 2,
  parameter integer BRAM  = 0,
  parameter integer CW    = $clog2(DEPTH + 1)
) (
  input  wire          clk,
  input  wire          rst_n,
  input  wire [W-1:0]  in_tdata,
  input  wire [0:0]    in_tvalid,
  output wire [0:0]    in_tready,
  output wire [W-1:0]  out_tdata,
  output wire [0:0]    out_tvalid,
  input  wire [0:0]    out_tready,
  output wire [CW-1:0] count,
  output wire [CW-1:0] maxcount
);
  logic [CW-1:0] count_q, max_q;
  wire  [CW-1:0] count_d;
  logic          in_ready_q;
  logic [W-1:0]  out_q;
  logic          out_v;

  wire push = in_tvalid[0] && in_ready_q;
  wire take = !out_v || out_tready[0];  // the output register is free this cycle

  assign in_tready  = in_ready_q;
  assign out_tvalid = out_v;
  assign out_tdata  = out_q;
  assign count      = count_q;
  assign maxcount   = max_q;
  // Every beat in minus every beat out, wherever it sits inside.
  assign count_d    = count_q + CW'(push) - CW'(out_v && out_tready[0]);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      count_q    <= '0;
      max_q      <= '0;
      in_ready_q <= 1'b0;
    end else begin
      count_q    <= count_d;
      in_ready_q <= count_d < CW'(DEPTH);
      if (count_q > max_q) max_q <= count_q;
    end
  end

  generate
    if (BRAM == 0) begin : g_srl
      localparam integer DM = DEPTH - 1;               // shift-register entries
      localparam integer AW = DM > 1 ? $clog2(DM) : 1;
      // One shift chain per bit with a dynamic tap, the pattern synthesis maps
      // to SRL16E/SRLC32E: entry 0 is the newest, entry mcount-1 the oldest.
      logic [W-1:0] rd_data;
      logic [CW-1:0] mcount;                           // entries in the chains
      wire mem_rd   = take && mcount != '0;
      wire bypass   = take && mcount == '0 && push;
      wire mem_wr   = push && !bypass;

      for (genvar b = 0; b < W; b++) begin : g_bit
        logic [DM-1:0] chain;
        if (DM == 1) begin : g_one
          always_ff @(posedge clk) begin
            if (mem_wr) chain <= in_tdata[b];
          end
          assign rd_data[b] = chain[0];
        end else begin : g_chain
          wire [AW-1:0] rd_addr = AW'(mcount - CW'(1));
          always_ff @(posedge clk) begin
            if (mem_wr) chain <= {chain[DM-2:0], in_tdata[b]};
          end
          assign rd_data[b] = chain[rd_addr];
        end
      end

      always_ff @(posedge clk) begin
        if (mem_rd) out_q <= rd_data;
        else if (bypass) out_q <= in_tdata;
      end

      always_ff @(posedge clk) begin
        if (!rst_n) begin
          mcount <= '0;
          out_v  <= 1'b0;
        end else begin
          mcount <= mcount + CW'(mem_wr) - CW'(mem_rd);
          if (take) out_v <= mem_rd || bypass;
        end
      end

    end else begin : g_bram
      localparam integer AW = $clog2(DEPTH);
      (* ram_style = "block" *) logic [W-1:0] mem [0:DEPTH-1];
      logic [AW-1:0] wptr, rptr;
      logic [CW-1:0] mcount;
      logic [W-1:0]  rdata, sk_q;
      logic          rd_q, sk_v;
      // Beats in the output buffer or on their way to it, after this cycle's pop.
      wire [1:0] credit_used = 2'(out_v) + 2'(sk_v) + 2'(rd_q) - 2'(out_v && out_tready[0]);
      wire rd = mcount != '0 && credit_used < 2'd2;

      always_ff @(posedge clk) begin
        if (push) mem[wptr] <= in_tdata;
        if (rd) rdata <= mem[rptr];
      end

      always_ff @(posedge clk) begin
        if (take) begin
          if (sk_v) out_q <= sk_q;
          else if (rd_q) out_q <= rdata;
        end
        if (rd_q && (sk_v || !take)) sk_q <= rdata;
      end

      always_ff @(posedge clk) begin
        if (!rst_n) begin
          wptr   <= '0;
          rptr   <= '0;
          mcount <= '0;
          rd_q   <= 1'b0;
          out_v  <= 1'b0;
          sk_v   <= 1'b0;
        end else begin
          if (push) wptr <= wptr == AW'(DEPTH - 1) ? '0 : wptr + AW'(1);
          if (rd) rptr <= rptr == AW'(DEPTH - 1) ? '0 : rptr + AW'(1);
          mcount <= mcount + CW'(push) - CW'(rd);
          rd_q   <= rd;
          if (take) begin
            out_v <= sk_v || rd_q;
            sk_v  <= sk_v && rd_q;
          end else begin
            sk_v  <= sk_v || rd_q;
          end
        end
      end
    end
  endgenerate
endmodule
