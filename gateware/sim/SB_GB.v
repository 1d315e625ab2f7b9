// SB_GB - a simulation model for Verilator, written for bitfarm: a global
// buffer is a wire.
`default_nettype none
module SB_GB (
    input  wire USER_SIGNAL_TO_GLOBAL_BUFFER,
    output wire GLOBAL_BUFFER_OUTPUT
);
    assign GLOBAL_BUFFER_OUTPUT = USER_SIGNAL_TO_GLOBAL_BUFFER;
endmodule
`default_nettype wire
