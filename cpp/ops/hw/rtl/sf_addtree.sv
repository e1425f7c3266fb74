// Pipelined binary adder tree: out = sum of N inputs.
//   N       number of inputs (>= 1)
//   IW      input width; SIGNED 1: two's complement, 0: unsigned
//   OW      output width, IW + $clog2(N) by default (always exact)
//   REG_EVERY  a register after every REG_EVERY-th level and after the last
// Latency: sf_addtree_lat(N, REG_EVERY) cycles, i.e. the number of levels
// ceil(log2 N) divided by REG_EVERY, rounded up (0 when N == 1: out = in).
// No enable, no reset: a fixed-latency datapath (flags travel beside it).
// Each level is one carry chain as wide as its operands (IW + level bits).
module sf_addtree #(
  parameter integer N = 2,
  parameter integer IW = 8,
  parameter integer SIGNED = 1,
  parameter integer REG_EVERY = 1,
  parameter integer OW = IW + ((N > 1) ? $clog2(N) : 0)
) (
  /* verilator lint_off UNUSEDSIGNAL */
  input  wire            clk,       // unused when N == 1 (no levels)
  /* verilator lint_on UNUSEDSIGNAL */
  input  wire [N*IW-1:0] in_data,
  output wire [OW-1:0]   out_data
);
  localparam integer L = (N > 1) ? $clog2(N) : 0;  // levels
  localparam integer MW = IW + L;                 // widest node

  // node[l][i]: node i of level l (level 0 = inputs), MW bits, of which the
  // low IW + l are significant (the rest are sign/zero copies, never read).
  logic [MW-1:0] node [L+1][N] /* verilator split_var */;  // split: no false comb. loop

  genvar l, i;
  generate
    for (i = 0; i < N; i++) begin : g_in
      if (SIGNED != 0) begin : g_s
        assign node[0][i] = MW'($signed(in_data[i*IW +: IW]));
      end else begin : g_u
        assign node[0][i] = MW'(in_data[i*IW +: IW]);
      end
    end
    for (l = 1; l <= L; l++) begin : g_lvl
      localparam integer NP = (N + (1 << (l - 1)) - 1) >> (l - 1);  // nodes of level l-1
      localparam integer NL = (NP + 1) / 2;                           // nodes of level l
      localparam integer WL = IW + l;
      localparam bit REG = ((l % REG_EVERY) == 0) || (l == L);
      for (i = 0; i < NL; i++) begin : g_node
        logic [WL-1:0] a, b, s;
        if (SIGNED != 0) begin : g_s
          assign a = WL'($signed(node[l-1][2*i][WL-2:0]));
          assign b = (2*i+1 < NP) ? WL'($signed(node[l-1][2*i+1][WL-2:0])) : '0;
        end else begin : g_u
          assign a = WL'(node[l-1][2*i][WL-2:0]);
          assign b = (2*i+1 < NP) ? WL'(node[l-1][2*i+1][WL-2:0]) : '0;
        end
        assign s = a + b;
        if (REG) begin : g_reg
          logic [WL-1:0] q;
          always_ff @(posedge clk) q <= s;
          assign node[l][i] = MW'(q);
        end else begin : g_comb
          assign node[l][i] = MW'(s);
        end
      end
      for (i = NL; i < N; i++) begin : g_pad
        assign node[l][i] = '0;  // unused slots
      end
    end
  endgenerate

  /* verilator lint_off UNUSEDSIGNAL */
  wire [MW-1:0] root = node[L][0];  // upper bits beyond OW unused when OW < MW
  /* verilator lint_on UNUSEDSIGNAL */
  generate
    if (OW <= MW) begin : g_trunc
      assign out_data = root[OW-1:0];
    end else if (SIGNED != 0) begin : g_sext
      assign out_data = OW'($signed(root));
    end else begin : g_zext
      assign out_data = OW'(root);
    end
  endgenerate
endmodule
