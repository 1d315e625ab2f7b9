// SB_PLL40_2F_PAD - a simulation model for Verilator, written for bitfarm
// (gateware/sim/README.md).  The PLL is not modelled: every output runs at
// the reference clock (PACKAGEPIN), whatever DIVR/DIVF/DIVQ say, and LOCK
// follows RESETB.  A design simulated with it runs all its clocks at the
// board clock, so the simulated board's UART divisor is the bridge's
// CLK_HZ / BAUD counted in board-clock cycles.
`default_nettype none
module SB_PLL40_2F_PAD (
    input  wire       PACKAGEPIN,
    output wire       PLLOUTCOREA,
    output wire       PLLOUTGLOBALA,
    output wire       PLLOUTCOREB,
    output wire       PLLOUTGLOBALB,
    input  wire       EXTFEEDBACK,
    input  wire [7:0] DYNAMICDELAY,
    output wire       LOCK,
    input  wire       BYPASS,
    input  wire       RESETB,
    input  wire       LATCHINPUTVALUE,
    output wire       SDO,
    input  wire       SDI,
    input  wire       SCLK
);
    parameter FEEDBACK_PATH = "SIMPLE";
    parameter DELAY_ADJUSTMENT_MODE_FEEDBACK = "FIXED";
    parameter DELAY_ADJUSTMENT_MODE_RELATIVE = "FIXED";
    parameter SHIFTREG_DIV_MODE = 2'b00;
    parameter FDA_FEEDBACK = 4'b0000;
    parameter FDA_RELATIVE = 4'b0000;
    parameter DIVR = 4'b0000;
    parameter DIVF = 7'b0000000;
    parameter DIVQ = 3'b000;
    parameter FILTER_RANGE = 3'b000;
    parameter TEST_MODE = 1'b0;
    parameter EXTERNAL_DIVIDE_FACTOR = 1;
    parameter PLLOUT_SELECT_PORTA = "GENCLK";
    parameter PLLOUT_SELECT_PORTB = "GENCLK";
    parameter ENABLE_ICEGATE_PORTA = 1'b0;
    parameter ENABLE_ICEGATE_PORTB = 1'b0;

    assign PLLOUTCOREA = PACKAGEPIN;
    assign PLLOUTGLOBALA = PACKAGEPIN;
    assign PLLOUTCOREB = PACKAGEPIN;
    assign PLLOUTGLOBALB = PACKAGEPIN;
    assign LOCK = RESETB;
    assign SDO  = 1'b0;
endmodule
`default_nettype wire
