// Matrix-vector-activation unit (FINN's MVAU): for every input vector of MW
// elements (MW/SIMD beats of SIMD elements), MH outputs (MH/PE beats of PE
// elements, element p of beat f is channel f*PE + p):
//   acc[c] = sum_k x[k] * w[c][k]   (XNOR: number of k with x[k] == w[c][k])
//   out[c] = acc[c]                                 (NOACT = 1)
//          = OBIAS + #{t in thr[c] : t <= acc[c]}   (thresholds, sf_thresh_bsearch)
// Schedule: per vector, NF = MH/PE neuron folds of SF = MW/SIMD steps each;
// one step per cycle (II = 1, NF*SF cycles per vector). Beats of the first
// fold come from the input stream and are kept in an input buffer for the
// other folds. The datapath is a fixed-latency pipeline (weight ROM, products,
// adder tree, accumulator, threshold search) with no stall; flow control is by
// credits in the output queue (sf_mvau_outq), so in_tready never depends on
// out_tready.
// Parameters (the emitter in mvau_rtl.cpp derives them from the node):
//   MW, MH, SIMD, PE
//   IBITS, IKIND / WBITS, WKIND  operand width and kind: 0 unsigned, 1 signed
//        (two's complement; TERNARY is 2-bit signed), 2 bipolar ({0,1} = -1,+1)
//   XNOR      1: binaryXnorMode (1-bit operands, acc = matches)
//   PW, PSIGNED  product width / signedness (exact range of x*w)
//   AW, ASIGNED  accumulator width / signedness
//   DSP       1: products as `*` (DSP48E1); 0: shift-and-add / mux in LUTs
//   NOACT, OBITS  output = accumulator (at OBITS bits), or thresholds:
//   K, TROWS, TW, OBIAS, THR_PREFIX, THR_BLOCK_MASK  see sf_thresh_bsearch
//   WMEM_FILE, W_BLOCK  weight ROM: MW*MH/(PE*SIMD) words of PE*SIMD*WBITS
//        bits, (PE, WMEM, SIMD) with PE0/SIMD0 in the LSBs; BIPOLAR as {0,1}
//   REG_EVERY adder-tree levels per pipeline register
//   EXT_W     1: mem_mode external. There is no ROM; the weights arrive as a
//        second input stream (in_tdata stream 1, at [ICW +: PE*SIMD*WBITS]),
//        one beat per step in ROM word order (so WMEM beats per input vector,
//        repeated for every vector). A step needs both the input beat (fold 0)
//        and the weight beat, so a weight stream that keeps up keeps II = 1.
//        The two readies depend on the other stream's valid (allowed: valid
//        never depends on ready), never on out_tready.
//   ICW       core width of one input stream (derived; do not set)
module sf_mvau #(
  parameter integer MW = 4,
  parameter integer MH = 4,
  parameter integer SIMD = 1,
  parameter integer PE = 1,
  parameter integer IBITS = 1,
  parameter integer IKIND = 0,
  parameter integer WBITS = 1,
  parameter integer WKIND = 0,
  parameter integer XNOR = 0,
  parameter integer PW = 2,
  parameter integer PSIGNED = 1,
  parameter integer AW = 8,
  parameter integer ASIGNED = 1,
  parameter integer DSP = 0,
  parameter integer NOACT = 1,
  parameter integer OBITS = 8,
  parameter integer K = 1,
  parameter integer TROWS = 1,
  parameter integer TW = AW + 1,
  parameter integer OBIAS = 0,
  parameter         THR_PREFIX = "thr",
  parameter integer THR_BLOCK_MASK = 0,
  /* verilator lint_off UNUSEDPARAM */  // the ROM's: unused with EXT_W = 1
  parameter         WMEM_FILE = "weights.dat",
  parameter integer W_BLOCK = 0,
  /* verilator lint_on UNUSEDPARAM */
  parameter integer REG_EVERY = 1,
  parameter integer EXT_W = 0,
  parameter integer ICW = (EXT_W != 0 && PE*SIMD*WBITS > SIMD*IBITS) ? PE*SIMD*WBITS : SIMD*IBITS
) (
  input  wire                    clk,
  input  wire                    rst_n,
  input  wire [(EXT_W+1)*ICW-1:0] in_tdata,
  input  wire [EXT_W:0]          in_tvalid,
  output wire [EXT_W:0]          in_tready,
  output wire [PE*OBITS-1:0]     out_tdata,
  output wire [0:0]              out_tvalid,
  input  wire [0:0]              out_tready
);
  localparam integer SF = MW / SIMD;
  localparam integer NF = MH / PE;
  localparam integer WMEM = SF * NF;
  localparam integer SFW = (SF > 1) ? $clog2(SF) : 1;
  localparam integer NFW = (NF > 1) ? $clog2(NF) : 1;
  localparam integer WAW = (WMEM > 1) ? $clog2(WMEM) : 1;
  localparam integer TRW = (TROWS > 1) ? $clog2(TROWS) : 1;

  function automatic integer tree_lat(input integer n, input integer re);
    integer lv, l, c;
    begin
      lv = (n > 1) ? $clog2(n) : 0;
      c = 0;
      for (l = 1; l <= lv; l++) if ((l % re) == 0 || l == lv) c++;
      tree_lat = c;
    end
  endfunction

  // Sum of SIMD terms per PE: width and latency.
  localparam integer SW = (XNOR != 0) ? $clog2(SIMD + 1) : PW + ((SIMD > 1) ? $clog2(SIMD) : 0);
  localparam integer SSIGNED = (XNOR != 0) ? 0 : PSIGNED;
  localparam integer LT = (XNOR != 0) ? 1 + tree_lat((SIMD + 5) / 6, REG_EVERY) : tree_lat(SIMD, REG_EVERY);
  localparam integer D = 2 + LT;            // cycle (after issue) at which the sum is available
  localparam integer LTH = (NOACT != 0) ? 0 : 2 * K + 1;
  localparam integer L = D + 1 + LTH;       // issue -> output queue write
  localparam integer OQ_NEED = (L + 3 + SF - 1) / SF + 2;
  localparam integer OQ_DEPTH = 1 << $clog2(OQ_NEED);

  // ---------------------------------------------------------------- issue
  logic [SFW-1:0] sf_cnt;
  logic [NFW-1:0] nf_cnt;
  logic           can_reserve;
  wire nf_is0  = (nf_cnt == '0);
  wire last_sf = (sf_cnt == SFW'(SF - 1));
  wire credit  = !last_sf || can_reserve;
  wire [SIMD*IBITS-1:0] x_tdata = in_tdata[SIMD*IBITS-1:0];
  wire x_ok = nf_is0 ? in_tvalid[0] : 1'b1;  // fold 0 needs an input beat
  wire w_ok;                                 // the weight beat is there (always, with the ROM)
  assign in_tready[0] = nf_is0 && credit && w_ok;
  wire step = credit && x_ok && w_ok;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      sf_cnt <= '0;
      nf_cnt <= '0;
    end else if (step) begin
      sf_cnt <= last_sf ? '0 : sf_cnt + 1'b1;
      if (last_sf) nf_cnt <= (nf_cnt == NFW'(NF - 1)) ? '0 : nf_cnt + 1'b1;
    end
  end

  // Flags beside the datapath: f_q[i] holds the step issued i cycles ago.
  localparam integer FW = 4 + NFW;  // valid, first, last, nf0, nf
  logic [FW-1:0] f_q [D+1] /* verilator split_var */;
  assign f_q[0] = {nf_cnt, nf_is0, last_sf, (sf_cnt == '0), step};
  genvar i, p, s;
  generate
    for (i = 1; i <= D; i++) begin : g_flags
      always_ff @(posedge clk) begin
        if (!rst_n) f_q[i] <= '0;
        else f_q[i] <= f_q[i-1];
      end
    end
  endgenerate

  // ---------------------------------------------------------------- operands (cycle 1)
  logic [SIMD*IBITS-1:0] x_q;
  always_ff @(posedge clk) begin
    if (step && nf_is0) x_q <= x_tdata;
  end
  wire [SIMD*IBITS-1:0] xs;
  generate
    if (NF > 1 && SF > 1) begin : g_ibuf
      logic [SIMD*IBITS-1:0] ibuf [SF];
      logic [SIMD*IBITS-1:0] ibuf_q;
      always_ff @(posedge clk) begin
        if (step && nf_is0) ibuf[sf_cnt] <= x_tdata;
        ibuf_q <= ibuf[sf_cnt];
      end
      assign xs = f_q[1][3] ? x_q : ibuf_q;  // fold 0 takes the stream beat
    end else begin : g_noibuf
      assign xs = x_q;  // one beat per vector (SF = 1) or one fold (NF = 1)
    end
  endgenerate

  // Weights of the step issued last cycle: the ROM word, or the stream beat
  // taken with the step (registered, so both arrive at the same cycle).
  wire [PE*SIMD*WBITS-1:0] ws;
  generate
    if (EXT_W != 0) begin : g_wext
      logic [PE*SIMD*WBITS-1:0] w_q;
      assign w_ok = in_tvalid[EXT_W];
      assign in_tready[EXT_W] = credit && x_ok;
      always_ff @(posedge clk) begin
        if (step) w_q <= in_tdata[ICW +: PE*SIMD*WBITS];
      end
      assign ws = w_q;
      if (ICW > SIMD*IBITS || ICW > PE*SIMD*WBITS) begin : g_pad
        /* verilator lint_off UNUSEDSIGNAL */
        wire unused_pad = ^in_tdata;  // zero padding of the narrower stream
        /* verilator lint_on UNUSEDSIGNAL */
      end
    end else begin : g_wrom
      logic [WAW-1:0] w_addr;
      assign w_ok = 1'b1;
      always_ff @(posedge clk) begin
        if (!rst_n) w_addr <= '0;
        else if (step) w_addr <= (w_addr == WAW'(WMEM - 1)) ? '0 : w_addr + 1'b1;
      end
      sf_rom #(.DEPTH(WMEM), .WIDTH(PE*SIMD*WBITS), .FILE(WMEM_FILE), .BLOCK(W_BLOCK), .AW(WAW)) u_wmem (
        .clk(clk), .addr(w_addr), .rdata(ws));
    end
  endgenerate

  // ---------------------------------------------------------------- MAC per PE
  logic [PE*AW-1:0] acc_q;
  logic             accv_q;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [NFW-1:0]   row_q;  // unused with shared thresholds (TROWS = 1) or NOACT
  /* verilator lint_on UNUSEDSIGNAL */
  always_ff @(posedge clk) begin
    if (!rst_n) accv_q <= 1'b0;
    else accv_q <= f_q[D][0] && f_q[D][2];
    row_q <= f_q[D][4 +: NFW];
  end

  generate
    for (p = 0; p < PE; p++) begin : g_pe
      /* verilator lint_off UNUSEDSIGNAL */
      wire [SW-1:0] sum;  // its top bits are unused when the accumulator is narrower than the exact tree width
      /* verilator lint_on UNUSEDSIGNAL */
      if (XNOR != 0) begin : g_xnor
        logic [SIMD-1:0] m_q;
        always_ff @(posedge clk) m_q <= ~(xs ^ ws[p*SIMD +: SIMD]);
        sf_popcount #(.N(SIMD), .REG_EVERY(REG_EVERY), .OW(SW)) u_pop (.clk(clk), .in_data(m_q), .out_data(sum));
      end else begin : g_mac
        logic [SIMD*PW-1:0] p_q;
        for (s = 0; s < SIMD; s++) begin : g_simd
          wire [IBITS-1:0] xr = xs[s*IBITS +: IBITS];
          wire [WBITS-1:0] wr = ws[(p*SIMD + s)*WBITS +: WBITS];
          // Operand values as signed numbers one bit wider than the raw field.
          wire signed [IBITS:0] xv = (IKIND == 2) ? (xr[0] ? (IBITS+1)'(1) : {(IBITS+1){1'b1}}) :
                                     (IKIND == 1) ? $signed({xr[IBITS-1], xr}) : $signed({1'b0, xr});
          wire signed [WBITS:0] wv = (WKIND == 2) ? (wr[0] ? (WBITS+1)'(1) : {(WBITS+1){1'b1}}) :
                                     (WKIND == 1) ? $signed({wr[WBITS-1], wr}) : $signed({1'b0, wr});
          logic signed [PW-1:0] prod;
          if (WKIND == 2) begin : g_wbip
            assign prod = wr[0] ? PW'(xv) : PW'(-xv);
          end else if (IKIND == 2) begin : g_xbip
            assign prod = xr[0] ? PW'(wv) : PW'(-wv);
          end else if (DSP != 0) begin : g_dsp
            // Vivado: use_dsp forces a DSP48E1 even for small products. Yosys
            // 0.23 keeps products under 9 bits (e.g. 4 x 4) in LUTs regardless.
            (* use_dsp = "yes" *) wire signed [PW-1:0] mprod = PW'(xv * wv);
            assign prod = mprod;
          end else begin : g_lut
            // Shift-and-add over the weight bits (no $mul cell, so no DSP), as a
            // balanced tree: terms w[j]*x*2^j; a signed weight's top term is
            // -x*2^j = (~x)*2^j + 2^j (no negation chain). Depth ceil(log2(W+1)) adders.
            localparam integer PPW = IBITS + WBITS + 2;
            localparam integer NT = WBITS + 1;
            localparam integer LV = $clog2(NT);
            logic signed [PPW-1:0] tv [NT];
            always_comb begin
              for (int j = 0; j < WBITS; j++) begin
                if (WKIND == 1 && j == WBITS - 1) tv[j] = wr[j] ? ((~(PPW'(xv))) <<< j) : '0;
                else tv[j] = wr[j] ? (PPW'(xv) <<< j) : '0;
              end
              tv[WBITS] = (WKIND == 1) ? (PPW'(wr[WBITS-1]) <<< (WBITS - 1)) : '0;
              for (int l = 0; l < LV; l++) begin
                for (int t = 0; t + (1 << l) < NT; t += (2 << l)) tv[t] = tv[t] + tv[t + (1 << l)];
              end
            end
            assign prod = PW'(tv[0]);
          end
          always_ff @(posedge clk) p_q[s*PW +: PW] <= prod;
          /* verilator lint_off UNUSEDSIGNAL */
          wire unused_v = ^{xv, wv};  // one of them is unused in the mux forms
          /* verilator lint_on UNUSEDSIGNAL */
        end
        sf_addtree #(.N(SIMD), .IW(PW), .SIGNED(PSIGNED), .REG_EVERY(REG_EVERY), .OW(SW)) u_tree (
          .clk(clk), .in_data(p_q), .out_data(sum));
      end
      // Accumulate (DESIGN 7.2 style: one DSP48E1 with the product when SIMD = 1).
      wire [AW-1:0] sum_x = (SSIGNED != 0) ? AW'($signed(sum)) : AW'(sum);
      logic [AW-1:0] acc;
      always_ff @(posedge clk) begin
        if (f_q[D][0]) acc <= (f_q[D][1] ? '0 : acc) + sum_x;
      end
      assign acc_q[p*AW +: AW] = acc;
    end
  endgenerate

  // ---------------------------------------------------------------- activation
  logic                  wr_en;
  logic [PE*OBITS-1:0]   wr_data;
  generate
    if (NOACT != 0) begin : g_noact
      for (p = 0; p < PE; p++) begin : g_o
        wire [AW-1:0] a = acc_q[p*AW +: AW];
        if (OBITS <= AW) begin : g_t
          assign wr_data[p*OBITS +: OBITS] = a[OBITS-1:0];
        end else if (ASIGNED != 0) begin : g_s
          assign wr_data[p*OBITS +: OBITS] = OBITS'($signed(a));
        end else begin : g_u
          assign wr_data[p*OBITS +: OBITS] = OBITS'(a);
        end
      end
      assign wr_en = accv_q;
    end else begin : g_thr
      sf_thresh_bsearch #(.PE(PE), .IW(AW), .ISIGNED(ASIGNED), .TW(TW), .K(K), .ROWS(TROWS), .OW(OBITS),
                          .OBIAS(OBIAS), .FILE_PREFIX(THR_PREFIX), .BLOCK_MASK(THR_BLOCK_MASK), .RW(TRW)) u_thr (
        .clk(clk), .rst_n(rst_n), .in_valid(accv_q), .in_row(TRW'(row_q)), .in_data(acc_q),
        .out_valid(wr_en), .out_data(wr_data));
    end
  endgenerate

  sf_mvau_outq #(.W(PE*OBITS), .DEPTH(OQ_DEPTH)) u_outq (
    .clk(clk), .rst_n(rst_n), .reserve(step && last_sf), .can_reserve(can_reserve),
    .wr_en(wr_en), .wr_data(wr_data), .out_tdata(out_tdata), .out_tvalid(out_tvalid[0]),
    .out_tready(out_tready[0]));
endmodule
