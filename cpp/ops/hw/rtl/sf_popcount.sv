// Pipelined population count: out = number of ones among N input bits.
//   N          bits (>= 1)
//   REG_EVERY  passed to the adder tree (a register after every REG_EVERY-th level)
//   OW         output width, $clog2(N+1) by default (always enough)
// Bits are first counted in groups of 6 (three LUT6 per group, one
// register level), then summed by sf_addtree. Latency:
// 1 + sf_addtree latency for ceil(N/6) inputs of 3 bits.
module sf_popcount #(
  parameter integer N = 8,
  parameter integer REG_EVERY = 1,
  parameter integer OW = $clog2(N + 1)
) (
  input  wire          clk,
  input  wire [N-1:0]  in_data,
  output wire [OW-1:0] out_data
);
  localparam integer G = (N + 5) / 6;               // groups of 6 bits
  localparam integer TW = 3 + ((G > 1) ? $clog2(G) : 0);  // tree output width
  logic [G*3-1:0] cnt_q;

  genvar g;
  generate
    for (g = 0; g < G; g++) begin : g_grp
      localparam integer NB = (N - g * 6 < 6) ? (N - g * 6) : 6;
      logic [5:0] bits;
      assign bits = 6'(in_data[g*6 +: NB]);
      always_ff @(posedge clk)
        cnt_q[g*3 +: 3] <= 3'(bits[0]) + 3'(bits[1]) + 3'(bits[2]) + 3'(bits[3]) + 3'(bits[4]) + 3'(bits[5]);
    end
  endgenerate

  wire [TW-1:0] sum;
  sf_addtree #(.N(G), .IW(3), .SIGNED(0), .REG_EVERY(REG_EVERY), .OW(TW)) u_tree (
    .clk(clk), .in_data(cnt_q), .out_data(sum));
  generate
    if (OW <= TW) begin : g_trunc
      /* verilator lint_off UNUSEDSIGNAL */
      wire [TW-1:0] s = sum;  // the top bits are zero when OW = $clog2(N+1) < TW
      /* verilator lint_on UNUSEDSIGNAL */
      assign out_data = s[OW-1:0];
    end else begin : g_ext
      assign out_data = OW'(sum);
    end
  endgenerate
endmodule
