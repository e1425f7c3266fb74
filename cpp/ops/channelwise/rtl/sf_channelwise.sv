// ChannelwiseOp: out = f(x, p[c]) per element, PE channels per beat, with one
// parameter per channel from a ROM of CF = C/PE words (PE*PB bits, lane k at
// [k*PB +: PB], $readmemh of FILE; BLOCK 1: block RAM, 0: distributed).
// FUNC 0: x + p, 1: x * p, 2: x <= p (1/0), 3: x >= p (1/0). Inputs IB bits
// (IS signed, IBP bipolar {0,1} = {-1,+1}); parameters PB bits (PS signed);
// outputs the low OB bits of the exact result. Two stages: the input register
// with the parameter read, then the operation into the output skid buffer;
// in_tready is a register function, one beat per cycle when nothing stalls.
module sf_channelwise #(
  parameter integer PE    = 1,
  parameter integer IB    = 4,
  parameter integer IS    = 1,
  parameter integer IBP   = 0,
  parameter integer PB    = 4,
  parameter integer PS    = 1,
  parameter integer OB    = 5,
  parameter integer FUNC  = 0,
  parameter integer CF    = 1,
  parameter integer BLOCK = 0,
  parameter         FILE  = "params.dat"
) (
  input  wire             clk,
  input  wire             rst_n,
  input  wire [PE*IB-1:0] in_tdata,
  input  wire [0:0]       in_tvalid,
  output wire [0:0]       in_tready,
  output wire [PE*OB-1:0] out_tdata,
  output wire [0:0]       out_tvalid,
  input  wire [0:0]       out_tready
);
  localparam integer FW = CF > 1 ? $clog2(CF) : 1;
  localparam integer XW = IB + PB + 2;
  logic [FW-1:0]    fold;
  logic [PE*IB-1:0] x1;
  logic [PE*PB-1:0] p1;
  logic             v1;
  wire room;
  wire adv  = !v1 || room;
  wire fire = in_tvalid[0] && adv;
  assign in_tready = adv;

  generate
    if (BLOCK != 0) begin : g_bram
      (* ram_style = "block", rom_style = "block" *) logic [PE*PB-1:0] rom [0:CF-1];
      initial $readmemh(FILE, rom);
      always_ff @(posedge clk) if (fire) p1 <= rom[fold];
    end else begin : g_lut
      // Yosys 0.23 cannot map a ROM to LUTRAM and fails on "distributed":
      // it gets "logic" (LUTs), as in sf_rom.
`ifdef YOSYS
      (* ram_style = "logic" *) logic [PE*PB-1:0] rom [0:CF-1];
`else
      (* rom_style = "distributed" *) logic [PE*PB-1:0] rom [0:CF-1];
`endif
      initial $readmemh(FILE, rom);
      always_ff @(posedge clk) if (fire) p1 <= rom[fold];
    end
  endgenerate

  always_ff @(posedge clk) begin
    if (fire) x1 <= in_tdata;
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      fold <= '0;
      v1   <= 1'b0;
    end else begin
      if (adv) v1 <= in_tvalid[0];
      if (fire) fold <= fold == FW'(CF - 1) ? '0 : fold + FW'(1);
    end
  end

  logic [PE*OB-1:0] res;
  for (genvar k = 0; k < PE; k++) begin : g_pe
    wire [IB-1:0] xr = x1[k*IB +: IB];
    wire [PB-1:0] pr = p1[k*PB +: PB];
    wire signed [XW-1:0] a = IBP != 0 ? (xr[0] ? XW'(1) : -XW'(1)) : IS != 0 ? XW'($signed(xr)) : XW'($unsigned(xr));
    wire signed [XW-1:0] b = PS != 0 ? XW'($signed(pr)) : XW'($unsigned(pr));
    /* verilator lint_off UNUSEDSIGNAL */  // only the low OB bits of the exact result leave
    logic signed [XW-1:0] r;
    /* verilator lint_on UNUSEDSIGNAL */
    always_comb begin
      case (FUNC)
        0: r = a + b;
        1: r = a * b;
        2: r = XW'(a <= b);
        default: r = XW'(a >= b);
      endcase
    end
    assign res[k*OB +: OB] = r[OB-1:0];
  end

  sf_skid #(.W(PE*OB)) skid (
    .clk(clk), .rst_n(rst_n),
    .in_tdata(res), .in_tvalid(v1), .in_tready(room),
    .out_tdata(out_tdata), .out_tvalid(out_tvalid[0]), .out_tready(out_tready[0]));
endmodule
