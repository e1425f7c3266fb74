// The VVAU's multiply-accumulate datapath (depthwise convolution): per input
// beat PE channels x SIMD kernel taps are multiplied with their weights, each
// PE's SIMD products are summed by a registered adder tree, and the sums of
// SF = K/SIMD consecutive beats are accumulated into one output element per PE.
//
// Stream order (FINN's depthwise layout, what a depthwise SWG emits, with a
// width converter in front when SIMD > 1): per output pixel, for each channel
// fold cf in 0..NF-1 (NF = C/PE), for each tap fold sf in 0..SF-1, one beat
// whose element i = s*PE + p is tap sf*SIMD + s of channel cf*PE + p
// (element 0 in the LSBs). In Im2Col terms (kh, kw, c) that is element
// x[(sf*SIMD + s)*C + cf*PE + p] of the pixel's K*C vector. One output beat
// per channel fold: element p = channel cf*PE + p.
//
// Weights: WMEM = NF*SF words, word cf*SF + sf holds at [(p*SIMD + s)*WW +: WW]
// the weight of channel cf*PE + p, tap sf*SIMD + s.
//
// Element encodings (IKIND / WKIND): 0 unsigned, 1 two's complement signed
// (INTn, TERNARY), 2 bipolar ({0,1} = {-1,+1}, width 1).
//
// EXT_W = 1 (mem_mode external): no ROM; the weight words arrive on the
// w_* stream in ROM word order, one beat with every input beat (so NF*SF
// beats per output pixel), and a beat is taken only when both streams offer
// one. Each ready depends on the other stream's valid, never on out_tready.
// With EXT_W = 0 the w_* port is unused (w_tready stays low).
//
// Flow control: the whole pipeline moves on one enable, the free slot of the
// output skid buffer (a register), so in_tready is a register too and never
// depends combinationally on out_tready. II=1 while the output is not stalled.
module sf_vvau_mac #(
  parameter integer PE = 1,
  parameter integer SIMD = 1,
  parameter integer NF = 1,          // Channels / PE
  parameter integer SF = 1,          // Kh*Kw / SIMD
  parameter integer IW = 4,          // input element bits
  parameter integer WW = 4,          // weight element bits
  parameter integer IKIND = 0,
  parameter integer WKIND = 1,
  parameter integer AW = 16,         // accumulator bits (two's complement, modular)
  parameter integer USE_DSP = 0,     // 1: products as $mul (DSP48E1); 0: shift-add in LUTs
  parameter WEIGHT_FILE = "weights.dat",
  parameter RAM_STYLE = "distributed", // "block" | anything else: LUTs
  parameter integer EXT_W = 0        // 1: weights from the w_* stream
) (
  input  wire                 clk,
  input  wire                 rst_n,
  input  wire [PE*SIMD*IW-1:0] in_tdata,
  input  wire                 in_tvalid,
  output wire                 in_tready,
  input  wire [PE*SIMD*WW-1:0] w_tdata,
  input  wire                 w_tvalid,
  output wire                 w_tready,
  output wire [PE*AW-1:0]     out_tdata,
  output wire                 out_tvalid,
  input  wire                 out_tready
);
  localparam integer WMEM = NF * SF;
  localparam integer WADDR = WMEM > 1 ? $clog2(WMEM) : 1;
  localparam integer SFW = SF > 1 ? $clog2(SF) : 1;
  localparam integer MW = PE * SIMD * WW;   // weight word width
  localparam integer DIW = IW + 1;          // decoded (signed) input width
  localparam integer DWW = WW + 1;          // decoded (signed) weight width
  localparam integer PW = DIW + DWW;        // exact product width
  localparam integer NL = SIMD > 1 ? $clog2(SIMD) : 0;  // adder-tree levels
  // Pipeline: 1 input/weight-read stage, 1 product stage, NL tree stages, 1 accumulator.
  localparam integer LAT = 3 + NL;

  // Width of adder-tree level l: exact (PW + l bits) until it reaches AW;
  // beyond AW arithmetic is modulo 2^AW, which is exact for the final sum.
  // (Argument names differ from the genvars: Yosys 0.23 must not confuse them.)
  function automatic integer lw(input integer lvl);
    lw = (PW + lvl < AW) ? PW + lvl : AW;
  endfunction
  // Entries of tree level l: ceil(SIMD / 2^l).
  function automatic integer ln(input integer lvl);
    ln = (SIMD + (1 << lvl) - 1) >> lvl;
  endfunction

  wire en;  // the pipeline advances: the output skid has a free slot
  wire w_ok = (EXT_W != 0) ? w_tvalid : 1'b1;
  wire beat = in_tvalid && w_ok;  // an input beat (and its weights) is offered
  assign in_tready = en && w_ok;
  assign w_tready = (EXT_W != 0) && en && in_tvalid;
  wire take = beat && en;

  // ---------------------------------------------------------------- stage 1
  // Input register, weight read, fold counters.
  logic [WADDR-1:0] waddr_q;
  logic [SFW-1:0] sf_q;
  logic [PE*SIMD*IW-1:0] x_q;
  logic [MW-1:0] w_q;
  logic [LAT-1:0] v_q;   // valid per stage
  logic [LAT-1:0] f_q;   // first beat of an accumulation, per stage
  logic [LAT-1:0] l_q;   // last beat of an accumulation, per stage

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      waddr_q <= '0;
      sf_q <= '0;
    end else if (take) begin
      waddr_q <= (waddr_q == WADDR'(WMEM - 1)) ? '0 : waddr_q + 1'b1;
      sf_q <= (sf_q == SFW'(SF - 1)) ? '0 : sf_q + 1'b1;
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) v_q <= '0;
    else if (en) v_q <= {v_q[LAT-2:0], beat};
  end
  always_ff @(posedge clk) begin
    if (en) begin
      f_q <= {f_q[LAT-2:0], sf_q == '0};
      l_q <= {l_q[LAT-2:0], sf_q == SFW'(SF - 1)};
      x_q <= in_tdata;
    end
  end

  generate
    if (EXT_W != 0) begin : g_wext
      always_ff @(posedge clk) if (en) w_q <= w_tdata;
      /* verilator lint_off UNUSEDSIGNAL */
      wire unused_addr = ^waddr_q;  // the ROM address counter serves the ROM only
      /* verilator lint_on UNUSEDSIGNAL */
    end else if (RAM_STYLE == "block") begin : g_bram
      (* ram_style = "block" *) logic [MW-1:0] wmem [0:WMEM-1];
      initial $readmemh(WEIGHT_FILE, wmem);
      always_ff @(posedge clk) if (en) w_q <= wmem[waddr_q];
    end else begin : g_lutram
      // No attribute: Yosys 0.23 finds no mapping for a ROM marked
      // ram_style = "distributed" (nor rom_style); without one it builds small
      // ROMs from LUTs and Vivado infers distributed ROM.
      logic [MW-1:0] wmem [0:WMEM-1];
      initial $readmemh(WEIGHT_FILE, wmem);
      always_ff @(posedge clk) if (en) w_q <= wmem[waddr_q];
      /* verilator lint_off UNUSEDSIGNAL */
      wire unused_w = ^w_tdata;  // no weight stream with the ROM
      /* verilator lint_on UNUSEDSIGNAL */
    end
  endgenerate

  // ---------------------------------------------------------------- stage 2..
  // Products, adder tree, accumulator: one generate block per PE lane.
  logic [PE*AW-1:0] acc_flat;

  genvar p, s, l, j;
  generate
    for (p = 0; p < PE; p = p + 1) begin : g_pe
      // Registered adder-tree levels, flat: level l entry j at
      // [(l*SIMD + j)*AW +: AW], the low lw(l) bits sign-extended to AW.
      // Entries past ln(l) stay undriven and are never read.
      // Padding (slots past ln(l), bits above lw(l)) is neither driven nor read.
      /* verilator lint_off UNUSEDSIGNAL */
      /* verilator lint_off UNDRIVEN */
      wire [(NL+1)*SIMD*AW-1:0] tree;
      /* verilator lint_on UNDRIVEN */
      /* verilator lint_on UNUSEDSIGNAL */

      for (s = 0; s < SIMD; s = s + 1) begin : g_mul
        wire [IW-1:0] xr = x_q[(s*PE + p)*IW +: IW];
        wire [WW-1:0] wr = w_q[(p*SIMD + s)*WW +: WW];
        wire signed [DIW-1:0] xd;
        wire signed [DWW-1:0] wd;
        // (Explicit bit patterns: Yosys 0.23 folds xr[0] ? W'(1) : -W'(1) to +1.)
        if (IKIND == 2) begin : g_xb
          assign xd = {~xr[0], 1'b1};  // {0,1} -> -1 (2'b11), +1 (2'b01)
        end else if (IKIND == 1) begin : g_xs
          assign xd = {xr[IW-1], xr};
        end else begin : g_xu
          assign xd = {1'b0, xr};
        end
        if (WKIND == 2) begin : g_wb
          assign wd = {~wr[0], 1'b1};
        end else if (WKIND == 1) begin : g_ws
          assign wd = {wr[WW-1], wr};
        end else begin : g_wu
          assign wd = {1'b0, wr};
        end

        /* verilator lint_off UNUSEDSIGNAL */
        wire signed [PW-1:0] prod;  // the top bits go unused when AW < PW
        /* verilator lint_on UNUSEDSIGNAL */
        if (USE_DSP != 0) begin : g_dsp
          assign prod = xd * wd;
        end else begin : g_lut
          // Shift-and-add over the weight bits (bit DWW-1 weighs -2^(DWW-1)),
          // so synthesis builds adders in fabric instead of a DSP multiplier;
          // the partial products are summed as a balanced tree (log2(DWW)
          // adders deep rather than a chain of DWW-1).
          localparam integer NPP = 1 << $clog2(DWW);
          wire [PW-1:0] xs = {{(PW - DIW){xd[DIW-1]}}, xd};  // xd sign-extended
          // Heap-indexed sum: leaves NPP..2*NPP-1 are the partial products,
          // node i = node 2i + node 2i+1, the root is node 1 (slot 0 unused).
          // (Generate wires, not a local array in always_comb: Yosys 0.23
          // mixes up such arrays between generate instances.)
          /* verilator lint_off UNUSEDSIGNAL */
          wire [2*NPP*PW-1:0] h /* verilator split_var */;  // split: no false comb. loop
          /* verilator lint_on UNUSEDSIGNAL */
          assign h[PW-1:0] = '0;
          genvar b;
          for (b = 0; b < NPP; b = b + 1) begin : g_pp
            if (b >= DWW) begin : g_zero
              assign h[(NPP + b)*PW +: PW] = '0;
            end else if (b == DWW - 1) begin : g_neg
              assign h[(NPP + b)*PW +: PW] = wd[b] ? -(xs << b) : '0;
            end else begin : g_pos
              assign h[(NPP + b)*PW +: PW] = wd[b] ? (xs << b) : '0;
            end
          end
          for (b = 1; b < NPP; b = b + 1) begin : g_sum
            assign h[b*PW +: PW] = h[(2*b)*PW +: PW] + h[(2*b+1)*PW +: PW];
          end
          assign prod = h[PW +: PW];
        end
        logic [AW-1:0] prod_ext;
        if (AW > PW) begin : g_sx
          assign prod_ext = {{(AW - PW){prod[PW-1]}}, prod};
        end else begin : g_tr
          assign prod_ext = prod[AW-1:0];
        end
        logic [AW-1:0] prod_q;
        always_ff @(posedge clk) if (en) prod_q <= prod_ext;
        assign tree[s*AW +: AW] = prod_q;
      end

      for (l = 1; l <= NL; l = l + 1) begin : g_lvl
        for (j = 0; j < ln(l); j = j + 1) begin : g_node
          localparam integer W0 = lw(l - 1);
          localparam integer W1 = lw(l);
          wire [W0-1:0] a = tree[((l-1)*SIMD + 2*j)*AW +: W0];
          wire [W1-1:0] sum;
          if (2 * j + 1 < ln(l - 1)) begin : g_add
            wire [W0-1:0] b = tree[((l-1)*SIMD + 2*j+1)*AW +: W0];
            if (W1 > W0) begin : g_grow
              assign sum = {a[W0-1], a} + {b[W0-1], b};
            end else begin : g_keep
              assign sum = a + b;
            end
          end else begin : g_pass
            if (W1 > W0) begin : g_grow
              assign sum = {a[W0-1], a};
            end else begin : g_keep
              assign sum = a;
            end
          end
          logic [AW-1:0] sum_ext;
          if (AW > W1) begin : g_sx
            assign sum_ext = {{(AW - W1){sum[W1-1]}}, sum};
          end else begin : g_eq
            assign sum_ext = sum;
          end
          logic [AW-1:0] sum_q;
          always_ff @(posedge clk) if (en) sum_q <= sum_ext;
          assign tree[(l*SIMD + j)*AW +: AW] = sum_q;
        end
      end

      // Accumulator: the DSP48E1-friendly form acc <= (clr ? 0 : acc) + p.
      // Stage index of the tree output is 1 + NL (stage 0 = input register).
      logic [AW-1:0] acc;
      wire [AW-1:0] term = tree[NL*SIMD*AW +: AW];
      always_ff @(posedge clk)
        if (en && v_q[LAT-2]) acc <= (f_q[LAT-2] ? '0 : acc) + term;
      assign acc_flat[p*AW +: AW] = acc;
    end
  endgenerate

  // The accumulator holds a finished sum when the beat it took was the last
  // of its fold: v_q[LAT-1] && l_q[LAT-1]. Unused tree slots are never read.
  wire acc_valid = v_q[LAT-1] && l_q[LAT-1];

  sf_skid #(.W(PE * AW)) u_out (
    .clk(clk), .rst_n(rst_n),
    .in_tdata(acc_flat), .in_tvalid(acc_valid), .in_tready(en),
    .out_tdata(out_tdata), .out_tvalid(out_tvalid), .out_tready(out_tready));
endmodule
