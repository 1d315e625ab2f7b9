// bf_regio_wrap - the top that `submit --regio PROFILE` builds: bf_uartbone
// on the board's USB UART, driving a user top that is a Wishbone B4 slave.
// Written for bitfarm.
//
// Top-level ports (the profile's pcf lines name them):
//   clk       the board clock, CLK_HZ (a profile value)
//   uart_rx   from the host (FTDI TXD, the second FTDI channel)
//   uart_tx   to the host (FTDI RXD)
//
// The user top is the module named by the macro BF_REGIO_TOP (-D
// BF_REGIO_TOP=name; default regio_top).  It must have exactly these ports
// (Wishbone B4 classic slave, 32-bit data, word addressing):
//   input  clk, rst              rst: synchronous, active high, held for the
//                                first 16 cycles after configuration
//   input  [29:0] wb_adr_i       WORD address (the UARTBone address)
//   input  [31:0] wb_dat_i       write data
//   output [31:0] wb_dat_o       read data, valid with wb_ack_o
//   input  wb_we_i
//   input  [3:0]  wb_sel_i       always 4'hF
//   input  wb_stb_i, wb_cyc_i    always equal
//   output wb_ack_o              end of the access (one cycle)
//   output wb_err_o              end of the access with an error (one cycle)
// An access neither acked nor erred within BUS_TIMEOUT cycles is ended by
// the bridge and reported as a timeout (docs/regio.md).
// With -D BF_REGIO_USER_VH (what `submit --regio` gives), the instance is
// instead bitfarm-regio/bf_regio_user.vh, written by submit from the top's
// ports, so a slave with other names (wb_clk_i, wbs_adr_i[31:0] as a byte
// address, no err, an active-low reset, ...) connects too.
`default_nettype none

`ifndef BF_REGIO_TOP
`define BF_REGIO_TOP regio_top
`endif

module bf_regio_wrap #(
    parameter CLK_HZ      = 12000000,
    parameter BAUD        = 115200,
    parameter IDLE_CYCLES = CLK_HZ / 10,
    parameter BUS_TIMEOUT = 8 * ((CLK_HZ + BAUD / 2) / BAUD),
    parameter [31:0] USER_ID = 32'h0
) (
    input  wire clk,
    input  wire uart_rx,
    output wire uart_tx
);
    reg [4:0] por = 5'd0;              // iCE40 flip-flops start at 0
    wire      rst = !por[4];
    always @(posedge clk)
        if (rst) por <= por + 1'b1;

    wire [29:0] adr;
    wire [31:0] dat_w, dat_r;
    wire [3:0]  sel;
    wire        cyc, stb, we, ack, err;

    bf_uartbone #(
        .CLK_HZ(CLK_HZ), .BAUD(BAUD), .IDLE_CYCLES(IDLE_CYCLES),
        .BUS_TIMEOUT(BUS_TIMEOUT), .USER_ID(USER_ID)
    ) bridge (
        .clk(clk), .rst(rst), .uart_rx(uart_rx), .uart_tx(uart_tx),
        .wb_cyc_o(cyc), .wb_stb_o(stb), .wb_we_o(we), .wb_adr_o(adr),
        .wb_dat_o(dat_w), .wb_sel_o(sel), .wb_dat_i(dat_r),
        .wb_ack_i(ack), .wb_err_i(err)
    );

`ifdef BF_REGIO_USER_VH
    // submit --regio: the user top's own port names, by their Wishbone
    // roles (src/client/bf_regio_ports.h), on the nets above
    `include "bf_regio_user.vh"
`else
    `BF_REGIO_TOP user (
        .clk(clk), .rst(rst),
        .wb_adr_i(adr), .wb_dat_i(dat_w), .wb_dat_o(dat_r), .wb_we_i(we),
        .wb_sel_i(sel), .wb_stb_i(stb), .wb_cyc_i(cyc),
        .wb_ack_o(ack), .wb_err_o(err)
    );
`endif
endmodule

`default_nettype wire
