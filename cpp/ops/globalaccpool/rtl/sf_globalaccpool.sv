// GlobalAccPool: per-channel sum over the PX = H*W pixels of a channels-last
// frame, PE channels per beat, CF = C/PE beats per pixel. The running sums sit
// in a CF-deep distributed RAM (PE*OB bits per word, asynchronous read); the
// last pixel's sums go straight to the output skid buffer instead of back to
// the RAM, so a frame takes PX*CF cycles and the outputs overlap the last
// pixel. Inputs: IB bits (IS signed, IBP bipolar {0,1} = {-1,+1}); sums: OB bits.
module sf_globalaccpool #(
  parameter integer PE  = 1,
  parameter integer IB  = 4,
  parameter integer IS  = 1,
  parameter integer IBP = 0,
  parameter integer OB  = 8,
  parameter integer CF  = 1,
  parameter integer PX  = 1
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
  localparam integer PW = PX > 1 ? $clog2(PX) : 1;
  logic [FW-1:0] fold;
  logic [PW-1:0] pix;
  wire room;
  wire first = pix == '0;
  wire last  = pix == PW'(PX - 1);
  wire rdy   = !last || room;
  wire fire  = in_tvalid[0] && rdy;
  assign in_tready = rdy;

  (* ram_style = "distributed" *) logic [PE*OB-1:0] acc_mem [0:CF-1];
  wire [PE*OB-1:0] prev = acc_mem[fold];
  logic [PE*OB-1:0] sum;
  for (genvar k = 0; k < PE; k++) begin : g_pe
    wire [IB-1:0] x = in_tdata[k*IB +: IB];
    wire signed [OB-1:0] xs = IBP != 0 ? (x[0] ? OB'(1) : -OB'(1)) : IS != 0 ? OB'($signed(x)) : OB'($unsigned(x));
    assign sum[k*OB +: OB] = (first ? '0 : prev[k*OB +: OB]) + xs;
  end

  always_ff @(posedge clk) begin
    if (fire && !last) acc_mem[fold] <= sum;
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      fold <= '0;
      pix  <= '0;
    end else if (fire) begin
      if (fold == FW'(CF - 1)) begin
        fold <= '0;
        pix  <= last ? '0 : pix + PW'(1);
      end else begin
        fold <= fold + FW'(1);
      end
    end
  end

  sf_skid #(.W(PE*OB)) skid (
    .clk(clk), .rst_n(rst_n),
    .in_tdata(sum), .in_tvalid(fire && last), .in_tready(room),
    .out_tdata(out_tdata), .out_tvalid(out_tvalid[0]), .out_tready(out_tready[0]));
endmodule
