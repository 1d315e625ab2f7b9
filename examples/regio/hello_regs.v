// hello_regs - "hello registers": a Wishbone B4 classic slave, the kind of
// top `submit --regio PROFILE` wraps with bitfarm's UARTBone bridge and a
// board's clock and UART pins (docs/regio.md).  Written for bitfarm.
// Byte addresses (word address = byte address / 4):
//
//   0x00  ID, read-only: 32'h48454C4F ("HELO")
//   0x04  A, read/write
//   0x08  B, read/write
//   0x0C  SUM, read-only: A + B
//   0x10  TICKS, read-only: clock cycles since reset
//   anything else: a bus error
`default_nettype none

module hello_regs (
    input  wire        clk,
    input  wire        rst,
    input  wire [29:0] wb_adr_i,
    input  wire [31:0] wb_dat_i,
    output reg  [31:0] wb_dat_o,
    input  wire        wb_we_i,
    input  wire [3:0]  wb_sel_i,
    input  wire        wb_stb_i,
    input  wire        wb_cyc_i,
    output reg         wb_ack_o,
    output reg         wb_err_o
);
    reg [31:0] a, b, ticks;
    wire req = wb_cyc_i && wb_stb_i && !wb_ack_o && !wb_err_o;

    always @(posedge clk) begin
        ticks    <= ticks + 1'b1;
        wb_ack_o <= 1'b0;
        wb_err_o <= 1'b0;
        if (req) begin
            if (wb_adr_i > 30'd4)
                wb_err_o <= 1'b1;
            else begin
                wb_ack_o <= 1'b1;
                if (wb_we_i && wb_adr_i == 30'd1 && wb_sel_i == 4'hF)
                    a <= wb_dat_i;
                if (wb_we_i && wb_adr_i == 30'd2 && wb_sel_i == 4'hF)
                    b <= wb_dat_i;
                case (wb_adr_i[2:0])
                    3'd0: wb_dat_o <= 32'h48454C4F;
                    3'd1: wb_dat_o <= a;
                    3'd2: wb_dat_o <= b;
                    3'd3: wb_dat_o <= a + b;
                    default: wb_dat_o <= ticks;
                endcase
            end
        end
        if (rst) begin
            a     <= 32'd0;
            b     <= 32'd0;
            ticks <= 32'd0;
        end
    end
endmodule
