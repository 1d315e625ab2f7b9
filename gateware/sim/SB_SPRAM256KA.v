// SB_SPRAM256KA - a simulation model for Verilator, written for bitfarm
// (gateware/sim/README.md): 16384 x 16 bits, one clock of read latency,
// MASKWREN per nibble, CHIPSELECT; DATAOUT is 0 while SLEEP or not
// POWEROFF (POWEROFF is active low), and holds during STANDBY.  Contents
// start at 0 (silicon: undefined) and are kept across SLEEP and POWEROFF
// (silicon loses them on POWEROFF).
`default_nettype none
module SB_SPRAM256KA (
    input  wire [13:0] ADDRESS,
    input  wire [15:0] DATAIN,
    input  wire [3:0]  MASKWREN,
    input  wire        WREN,
    input  wire        CHIPSELECT,
    input  wire        CLOCK,
    input  wire        STANDBY,
    input  wire        SLEEP,
    input  wire        POWEROFF,
    output reg  [15:0] DATAOUT
);
    reg [15:0] mem [0:16383];
    wire off = SLEEP || !POWEROFF;
    always @(posedge CLOCK) begin
        if (off)
            DATAOUT <= 16'h0000;
        else if (CHIPSELECT && !STANDBY) begin
            if (!WREN)
                DATAOUT <= mem[ADDRESS];
            else begin
                if (MASKWREN[0]) mem[ADDRESS][3:0]   <= DATAIN[3:0];
                if (MASKWREN[1]) mem[ADDRESS][7:4]   <= DATAIN[7:4];
                if (MASKWREN[2]) mem[ADDRESS][11:8]  <= DATAIN[11:8];
                if (MASKWREN[3]) mem[ADDRESS][15:12] <= DATAIN[15:12];
            end
        end
    end
endmodule
`default_nettype wire
