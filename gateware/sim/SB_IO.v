// SB_IO - a simulation model for Verilator, written for bitfarm
// (gateware/sim/README.md).  yosys's cells_sim.v SB_IO does not build in
// version 5.006 of Verilator (its default port values are a syntax error;
// without them `CLOCK_ENABLE === 1'bz` is "Unsupported: tristate in
// top-level IO").
// Modelled: PIN_TYPE's input modes (00 registered, 01 plain; the latch of
// 1x is not modelled) and output modes ([3:2] 00 DDR, 01 registered, 10
// plain, 11 registered inverted; [5:4] 00 off, 01 on, 10 OUTPUT_ENABLE, 11
// registered OUTPUT_ENABLE), D_IN_1/D_OUT_1 on the other clock edge, and
// NEG_TRIGGER.  CLOCK_ENABLE is ignored (always enabled): on silicon an
// unconnected CLOCK_ENABLE is 1, and a two-state simulator cannot tell an
// unconnected port from a 0.  PULLUP and IO_STANDARD have no effect.
// A top-level input connected to PACKAGE_PIN needs the option
// -Wno-ASSIGNIN of Verilator (bf_vsimcmd adds it).
`default_nettype none
module SB_IO (
    inout  wire PACKAGE_PIN,
    input  wire LATCH_INPUT_VALUE,
    input  wire CLOCK_ENABLE,
    input  wire INPUT_CLK,
    input  wire OUTPUT_CLK,
    input  wire OUTPUT_ENABLE,
    input  wire D_OUT_0,
    input  wire D_OUT_1,
    output wire D_IN_0,
    output wire D_IN_1
);
    parameter [5:0] PIN_TYPE = 6'b000000;
    parameter [0:0] PULLUP = 1'b0;
    parameter [0:0] NEG_TRIGGER = 1'b0;
    parameter IO_STANDARD = "SB_LVCMOS";

    wire ick = INPUT_CLK ^ NEG_TRIGGER;
    wire ock = OUTPUT_CLK ^ NEG_TRIGGER;
    reg din_q0 = 1'b0, din_q1 = 1'b0, dout_q0 = 1'b0, dout_q1 = 1'b0, oe_q = 1'b0;
    always @(posedge ick) din_q0 <= PACKAGE_PIN;
    always @(negedge ick) din_q1 <= PACKAGE_PIN;
    always @(posedge ock) begin
        dout_q0 <= D_OUT_0;
        oe_q    <= OUTPUT_ENABLE;
    end
    always @(negedge ock) dout_q1 <= D_OUT_1;

    assign D_IN_0 = PIN_TYPE[0] ? PACKAGE_PIN : din_q0;
    assign D_IN_1 = din_q1;
    wire dout = PIN_TYPE[3] ? (PIN_TYPE[2] ? !dout_q0 : D_OUT_0)
                            : (PIN_TYPE[2] ? dout_q0 : (ock ? dout_q0 : dout_q1));
    generate
        if (PIN_TYPE[5:4] == 2'b01) assign PACKAGE_PIN = dout;
        if (PIN_TYPE[5:4] == 2'b10) assign PACKAGE_PIN = OUTPUT_ENABLE ? dout : 1'bz;
        if (PIN_TYPE[5:4] == 2'b11) assign PACKAGE_PIN = oe_q ? dout : 1'bz;
    endgenerate
endmodule
`default_nettype wire
