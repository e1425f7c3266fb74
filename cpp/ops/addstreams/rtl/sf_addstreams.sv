// AddStreams: PE element-wise sums of two streams per beat. Input i carries PE
// elements of Bi bits (Si: signed, BPi: bipolar {0,1} = {-1,+1}) in the low
// PE*Bi bits of its IW-bit slot; the output carries PE sums of OB bits. A beat
// moves when both inputs offer one and the output skid buffer has room (its
// ready is a register), so one beat per cycle when nothing stalls.
module sf_addstreams #(
  parameter integer PE  = 1,
  parameter integer B0  = 4,
  parameter integer B1  = 4,
  parameter integer S0  = 1,
  parameter integer S1  = 1,
  parameter integer BP0 = 0,
  parameter integer BP1 = 0,
  parameter integer OB  = 5,
  parameter integer IW  = PE * (B0 > B1 ? B0 : B1)
) (
  input  wire             clk,
  input  wire             rst_n,
  input  wire [2*IW-1:0]  in_tdata,
  input  wire [1:0]       in_tvalid,
  output wire [1:0]       in_tready,
  output wire [PE*OB-1:0] out_tdata,
  output wire [0:0]       out_tvalid,
  input  wire [0:0]       out_tready
);
  localparam integer XW = (B0 > B1 ? B0 : B1) > OB ? (B0 > B1 ? B0 : B1) + 2 : OB + 2;
  wire room;
  wire fire = in_tvalid[0] && in_tvalid[1] && room;
  assign in_tready = {in_tvalid[0] && room, in_tvalid[1] && room};

  logic [PE*OB-1:0] sum;
  for (genvar k = 0; k < PE; k++) begin : g_pe
    wire [B0-1:0] a = in_tdata[k*B0 +: B0];
    wire [B1-1:0] b = in_tdata[IW + k*B1 +: B1];
    wire signed [XW-1:0] ax = BP0 != 0 ? (a[0] ? XW'(1) : -XW'(1))
                            : S0 != 0 ? XW'($signed(a)) : XW'($unsigned(a));
    wire signed [XW-1:0] bx = BP1 != 0 ? (b[0] ? XW'(1) : -XW'(1))
                            : S1 != 0 ? XW'($signed(b)) : XW'($unsigned(b));
    /* verilator lint_off UNUSEDSIGNAL */  // headroom bits above OB (the sum fits OB)
    wire signed [XW-1:0] s = ax + bx;
    /* verilator lint_on UNUSEDSIGNAL */
    assign sum[k*OB +: OB] = s[OB-1:0];
  end

  /* verilator lint_off UNUSEDSIGNAL */  // padding bits above PE*Bi in the input slots
  wire [2*IW-1:0] unused_in = in_tdata;
  /* verilator lint_on UNUSEDSIGNAL */

  sf_skid #(.W(PE*OB)) skid (
    .clk(clk), .rst_n(rst_n),
    .in_tdata(sum), .in_tvalid(fire), .in_tready(room),
    .out_tdata(out_tdata), .out_tvalid(out_tvalid[0]), .out_tready(out_tready[0]));
endmodule
