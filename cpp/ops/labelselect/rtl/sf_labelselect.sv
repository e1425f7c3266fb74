// LabelSelect: the indices of the K largest of L values per row, largest
// first, equal values lower index first (the reference's stable sort), PE
// values per input beat, one index per output beat.
//
// A systolic chain of K cells, one (key, index) each, kept in descending order.
// Each cycle a bundle of up to PE candidates enters cell 0; cell i keeps the
// best of its own entry and the bundle (a comparator tree over PE+1 entries)
// and hands the bundle, with the loser in place of the winner, to cell i+1 one
// cycle later. The row's last bundle carries a flag: each cell it passes holds
// its final entry, sends the index to the output FIFO and empties, so the K
// indices leave in order, one per cycle, while the next row already streams in.
// Keys: values with the sign bit flipped when IS (signed), so one unsigned
// compare orders them; BIPOLAR {0,1} orders as is.
//
// in_tready (a register function) holds back only a row's last beat: until K
// cycles after the previous row's last beat (the flushes must not overlap) and
// until the (2K+4)-deep output FIFO has room for K indices (credits), so a row
// takes max(L/PE, K) cycles when the output does not stall.
module sf_labelselect #(
  parameter integer PE = 1,
  parameter integer IB = 4,
  parameter integer IS = 1,
  parameter integer L  = 4,
  parameter integer K  = 1,
  parameter integer OB = 2
) (
  input  wire             clk,
  input  wire             rst_n,
  input  wire [PE*IB-1:0] in_tdata,
  input  wire [0:0]       in_tvalid,
  output wire [0:0]       in_tready,
  output wire [OB-1:0]    out_tdata,
  output wire [0:0]       out_tvalid,
  input  wire [0:0]       out_tready
);
  localparam integer XW  = L > 1 ? $clog2(L) : 1;        // index bits
  localparam integer EW  = 1 + IB + XW;                  // entry: {valid, key, index}
  localparam integer NB  = L / PE;                       // beats per row
  localparam integer BW  = NB > 1 ? $clog2(NB) : 1;
  localparam integer FD  = 2 * K + 4;                    // output FIFO depth (covers the credit loop)
  localparam integer CRW = $clog2(FD + 1);
  localparam integer GW  = K > 1 ? $clog2(K + 1) : 1;
  localparam integer NC  = PE + 1;                       // candidates per cell
  localparam integer N2  = 1 << $clog2(NC);              // comparator-tree leaves

  // better(a, b): a valid and (b empty, or a larger, or equal with a lower index)
  function automatic logic better(input logic [EW-1:0] a, input logic [EW-1:0] b);
    better = a[EW-1] && (!b[EW-1] || a[EW-2:XW] > b[EW-2:XW] ||
                         (a[EW-2:XW] == b[EW-2:XW] && a[XW-1:0] < b[XW-1:0]));
  endfunction

  // ---------------------------------------------------------------- input
  logic [BW-1:0]  beat;
  logic [XW-1:0]  base;                                  // index of lane 0 of this beat
  logic [CRW-1:0] credit;
  logic [GW-1:0]  gap;
  wire  last_beat = beat == BW'(NB - 1);
  wire  rdy  = !last_beat || (credit >= CRW'(K) && gap >= GW'(K));
  wire  fire = in_tvalid[0] && rdy;
  wire  out_fire = out_tvalid[0] && out_tready[0];
  assign in_tready = rdy;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      beat   <= '0;
      base   <= '0;
      credit <= CRW'(FD);
      gap    <= GW'(K);
    end else begin
      if (fire) begin
        beat <= last_beat ? '0 : beat + BW'(1);
        base <= last_beat ? '0 : base + XW'(PE);
      end
      credit <= credit - (fire && last_beat ? CRW'(K) : CRW'(0)) + CRW'(out_fire);
      if (fire && last_beat) gap <= GW'(1);
      else if (gap < GW'(K)) gap <= gap + GW'(1);
    end
  end

  // The bundle entering cell i, and its last-beat flag (bundle 0 = input register).
  logic [PE*EW-1:0] bnd  [0:K-1];
  logic             blst [0:K-1];
  for (genvar k = 0; k < PE; k++) begin : g_in
    wire [IB-1:0] v = in_tdata[k*IB +: IB];
    wire [IB-1:0] key = v ^ (IB'(IS != 0) << (IB - 1));
    always_ff @(posedge clk) begin
      if (!rst_n) bnd[0][k*EW + EW - 1] <= 1'b0;
      else bnd[0][k*EW + EW - 1] <= fire;
      bnd[0][k*EW +: EW-1] <= {key, base + XW'(k)};
    end
  end
  always_ff @(posedge clk) begin
    if (!rst_n) blst[0] <= 1'b0;
    else blst[0] <= fire && last_beat;
  end

  // ---------------------------------------------------------------- cells
  logic [K-1:0]    fin;        // cell i holds its final entry this cycle
  logic [XW-1:0]   fin_idx [0:K-1];
  for (genvar i = 0; i < K; i++) begin : g_cell
    logic [EW-1:0] st;         // this cell's entry
    // Comparator tree: leaf 0 = own entry, leaf j+1 = bundle item j.
    // split_var: the tree's nodes are separate signals, not one looping array.
    logic [EW-1:0]           node_e [1:2*N2-1] /* verilator split_var */;
    logic [$clog2(N2)-1:0]   node_p [1:2*N2-1] /* verilator split_var */;
    for (genvar j = 0; j < N2; j++) begin : g_leaf
      if (j == 0) begin : g_own
        assign node_e[N2] = st;
      end else if (j <= PE) begin : g_item
        assign node_e[N2 + j] = bnd[i][(j-1)*EW +: EW];
      end else begin : g_pad
        assign node_e[N2 + j] = '0;
      end
      assign node_p[N2 + j] = j[$clog2(N2)-1:0];
    end
    for (genvar n = N2 - 1; n >= 1; n--) begin : g_node
      wire left = !better(node_e[2*n+1], node_e[2*n]);
      assign node_e[n] = left ? node_e[2*n] : node_e[2*n+1];
      assign node_p[n] = left ? node_p[2*n] : node_p[2*n+1];
    end
    wire [EW-1:0] win = node_e[1];
    /* verilator lint_off UNUSEDSIGNAL */  // the last cell hands no bundle on
    wire [$clog2(N2)-1:0] wpos = node_p[1];
    /* verilator lint_on UNUSEDSIGNAL */

    assign fin[i] = blst[i];
    assign fin_idx[i] = win[XW-1:0];

    always_ff @(posedge clk) begin
      if (!rst_n) st <= '0;
      else st <= blst[i] ? '0 : win;
    end
    if (i + 1 < K) begin : g_pass
      for (genvar j = 0; j < PE; j++) begin : g_item
        always_ff @(posedge clk) begin
          bnd[i+1][j*EW +: EW] <= wpos == ($clog2(N2))'(j + 1) ? st : bnd[i][j*EW +: EW];
        end
      end
      always_ff @(posedge clk) begin
        if (!rst_n) blst[i+1] <= 1'b0;
        else blst[i+1] <= blst[i];
      end
    end
  end

  // ---------------------------------------------------------------- output
  // At most one cell finishes per cycle (flushes are K cycles apart).
  logic [XW-1:0] fsel;
  always_comb begin
    fsel = '0;
    for (int i = 0; i < K; i++) if (fin[i]) fsel = fin_idx[i];
  end
  logic          push_v;
  logic [OB-1:0] push_d;
  always_ff @(posedge clk) begin
    if (!rst_n) push_v <= 1'b0;
    else push_v <= |fin;
    push_d <= OB'(fsel);
  end

  /* verilator lint_off UNUSEDSIGNAL */  // credits guarantee room; the monitor is not read here
  wire          fifo_ready;
  wire [CRW-1:0] count, maxcount;
  /* verilator lint_on UNUSEDSIGNAL */
  sf_fifo #(.W(OB), .DEPTH(FD), .BRAM(0), .CW(CRW)) ofifo (
    .clk(clk), .rst_n(rst_n),
    .in_tdata(push_d), .in_tvalid(push_v), .in_tready(fifo_ready),
    .out_tdata(out_tdata), .out_tvalid(out_tvalid), .out_tready(out_tready),
    .count(count), .maxcount(maxcount));
endmodule
