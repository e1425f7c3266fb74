// Two-entry skid buffer. Every output (in_tready, out_tvalid, out_tdata)
// comes straight from a register, so no combinational path crosses it, and it
// still moves one beat per cycle: when the output stalls, the beat already in
// flight lands in the skid register instead of being dropped.
module sf_skid #(
  parameter integer W = 8
) (
  input  wire         clk,
  input  wire         rst_n,
  input  wire [W-1:0] in_tdata,
  input  wire         in_tvalid,
  output wire         in_tready,
  output wire [W-1:0] out_tdata,
  output wire         out_tvalid,
  input  wire         out_tready
);
  logic [W-1:0] data_q, skid_q;
  logic valid_q, skid_valid_q;

  assign in_tready  = !skid_valid_q;
  assign out_tvalid = valid_q;
  assign out_tdata  = data_q;

  // Data registers carry no reset: they are only read when their valid is set.
  always_ff @(posedge clk) begin
    if (!valid_q || out_tready) begin
      data_q <= skid_valid_q ? skid_q : in_tdata;
    end else if (in_tvalid && !skid_valid_q) begin
      skid_q <= in_tdata;
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      valid_q      <= 1'b0;
      skid_valid_q <= 1'b0;
    end else if (!valid_q || out_tready) begin
      valid_q      <= skid_valid_q || in_tvalid;
      skid_valid_q <= 1'b0;
    end else if (in_tvalid && !skid_valid_q) begin
      skid_valid_q <= 1'b1;
    end
  end
endmodule
