// bf_uartbone - a UART (8N1) to Wishbone B4 classic bridge speaking LiteX's
// UARTBone wire format, plus two bitfarm commands.  Written for bitfarm;
// Verilog-2005, synthesizable (yosys synth_ice40), about 300 iCE40 LCs.
// The full description, with the LiteX sources it follows, is docs/regio.md.
//
// Wire format (all multi-byte fields big-endian, one command at a time):
//
//   host -> core:  cmd(1) len(1) addr(4)  [len data words of 4 bytes, writes only]
//   addr is a 32-bit WORD address (byte address / 4); bits 31:30 are dropped
//   (wb_adr_o is 30 bits).  len counts 32-bit words; len = 0 means 256, as in
//   LiteX's gateware (words_count == length - 1 compared in 8 bits).
//
//   0x01  write, incrementing address   no answer (no write acknowledgement)
//   0x02  read, incrementing address    answer: len words
//   0x03  write, fixed address          no answer
//   0x04  read, fixed address           answer: len words
//   0xB2  read incrementing + status    answer: len words, then 1 status byte   (bitfarm)
//   0xB4  read fixed + status           answer: len words, then 1 status byte   (bitfarm)
//   0xBF  IDENT (len, addr ignored)     answer: magic 0x42465542 ("BFUB"),
//                                       version 0x00010000 (1.0), USER_ID,
//                                       then 1 sticky status byte           (bitfarm)
//   any other cmd: the 6-byte header is read and the command ignored, no
//   answer (exactly what LiteX's Stream2Wishbone does).  That is why the
//   bitfarm commands are harmless to a stock LiteX core: they carry no
//   payload, so a stock core skips their 6 bytes, answers nothing, and is in
//   step for the next command; the host sees a missing answer (timeout).
//
//   status byte: bit0 = a bus error (wb_err_i) on some access of the command,
//                bit1 = a bus timeout (no ack/err within BUS_TIMEOUT cycles);
//                0 = every access acked.  IDENT's status byte is sticky: the
//                OR over every access since the previous IDENT (then cleared),
//                so IDENT after writes is a write barrier that also reports
//                whether those writes failed.
//   A read access that errs or times out returns 0xFFFFFFFF for that word and
//   the burst goes on, so an answer always has its full length (a stock LiteX
//   core would hang on err until its 100 ms reset instead).
//
// Idle reset: while a command is incomplete (after its first byte, before its
// last), IDLE_CYCLES clock cycles without a received byte return the state
// machine to waiting for a command (LiteX: 100 ms; here a parameter so a
// simulation can use a short value).  Bus accesses and answers are not timed
// by it (the bus has its own timeout; answers always finish).
//
// Receive buffering: one byte beyond the shift register.  A write burst's data
// may follow back to back as long as BUS_TIMEOUT is below one byte time
// (10 * CLK_HZ / BAUD cycles; the default is 8 bit times).  The host must wait
// for a read's answer before sending the next command (as with LiteX, whose
// receiver drops bytes that arrive during an answer).
//
// Wishbone: classic cycles, one at a time; cyc = stb; sel = 4'hF; at least one
// idle cycle between accesses.  rst is synchronous, active high.

`default_nettype none

module bf_uartbone #(
    parameter CLK_HZ      = 12000000,
    parameter BAUD        = 115200,
    parameter IDLE_CYCLES = CLK_HZ / 10,             // 100 ms
    parameter BUS_TIMEOUT = 8 * ((CLK_HZ + BAUD / 2) / BAUD),
    parameter [31:0] USER_ID = 32'h0
) (
    input  wire        clk,
    input  wire        rst,
    input  wire        uart_rx,
    output reg         uart_tx = 1'b1,
    output wire        wb_cyc_o,
    output wire        wb_stb_o,
    output wire        wb_we_o,
    output wire [29:0] wb_adr_o,
    output wire [31:0] wb_dat_o,
    output wire [3:0]  wb_sel_o,
    input  wire [31:0] wb_dat_i,
    input  wire        wb_ack_i,
    input  wire        wb_err_i
);
    localparam DIV   = (CLK_HZ + BAUD / 2) / BAUD;    // clock cycles per bit
    localparam DW    = $clog2(DIV + 1);
    localparam TMAX  = (IDLE_CYCLES > BUS_TIMEOUT) ? IDLE_CYCLES : BUS_TIMEOUT;
    localparam TW    = $clog2(TMAX + 1);
    localparam [TW-1:0] IDLE_T = IDLE_CYCLES;
    localparam [TW-1:0] BUS_T  = BUS_TIMEOUT;
    localparam [31:0] MAGIC   = 32'h42465542;        // "BFUB"
    localparam [31:0] VERSION = 32'h00010000;

    // ---- receiver: 2-FF synchronizer, mid-bit sampling, one holding byte ----
    reg          rx_s1 = 1'b1, rx_s2 = 1'b1;
    reg          rx_busy;
    reg [3:0]    rx_bit;
    reg [DW-1:0] rx_cnt;
    reg [7:0]    rx_sh;
    reg [7:0]    rx_byte;
    reg          rx_full;
    wire         rx_take;

    always @(posedge clk) begin
        rx_s1 <= uart_rx;
        rx_s2 <= rx_s1;
        if (rx_take)
            rx_full <= 1'b0;
        if (!rx_busy) begin
            if (!rx_s2) begin                      // start bit edge
                rx_busy <= 1'b1;
                rx_bit  <= 4'd0;
                rx_cnt  <= DIV / 2;
            end
        end else if (rx_cnt != 0) begin
            rx_cnt <= rx_cnt - 1'b1;
        end else begin
            rx_cnt <= DIV - 1;
            rx_bit <= rx_bit + 1'b1;
            if (rx_bit == 4'd0) begin
                if (rx_s2) rx_busy <= 1'b0;        // glitch, not a start bit
            end else if (rx_bit == 4'd9) begin
                rx_busy <= 1'b0;
                if (rx_s2) begin                   // a good stop bit
                    rx_byte <= rx_sh;
                    rx_full <= 1'b1;
                end
            end else begin
                rx_sh <= {rx_s2, rx_sh[7:1]};
            end
        end
        if (rst) begin
            rx_busy <= 1'b0;
            rx_full <= 1'b0;
        end
    end

    // ---- transmitter ----
    reg [8:0]    tx_sh;            // data bits and the stop bit, LSB first
    reg [3:0]    tx_bit;           // bits left to send, 0 = idle
    reg [DW-1:0] tx_cnt;
    wire         tx_idle = (tx_bit == 4'd0);
    wire         tx_load;
    wire [7:0]   tx_byte;
    reg          tx_out;

    always @(posedge clk) begin
        if (tx_load) begin
            tx_sh  <= {1'b1, tx_byte};
            tx_out <= 1'b0;                        // start bit
            tx_bit <= 4'd10;
            tx_cnt <= DIV - 1;
        end else if (!tx_idle) begin
            if (tx_cnt != 0) begin
                tx_cnt <= tx_cnt - 1'b1;
            end else begin
                tx_cnt <= DIV - 1;
                tx_bit <= tx_bit - 1'b1;
                tx_out <= tx_sh[0];
                tx_sh  <= {1'b1, tx_sh[8:1]};
            end
        end
        uart_tx <= tx_idle ? 1'b1 : tx_out;
        if (rst) begin
            tx_bit  <= 4'd0;
            uart_tx <= 1'b1;
        end
    end

    // ---- command state machine ----
    localparam S_CMD = 3'd0, S_LEN = 3'd1, S_ADDR = 3'd2, S_WDATA = 3'd3,
               S_BUS = 3'd4, S_SEND = 3'd5, S_STATUS = 3'd6;

    reg [2:0]    state;
    reg          c_write, c_read, c_incr, c_status, c_ident;
    reg [7:0]    len;
    reg [29:0]   addr;
    reg [31:0]   data;
    reg [1:0]    nbyte;            // byte within a word (address: within the 4)
    reg [7:0]    nword;
    reg [1:0]    status, sticky;
    reg [TW-1:0] tmr;

    wire rx_wait   = (state == S_LEN) || (state == S_ADDR) || (state == S_WDATA);
    assign rx_take = rx_full && ((state == S_CMD) || rx_wait);
    wire last_word = c_ident ? (nword == 8'd2) : (nword == len - 8'd1);
    wire bus_to    = (state == S_BUS) && (tmr == BUS_T);
    wire idle_to   = rx_wait && !rx_full && (tmr == IDLE_T);
    wire bus_end   = (state == S_BUS) && (wb_ack_i || wb_err_i || bus_to);

    assign tx_load  = tx_idle && ((state == S_SEND) || (state == S_STATUS));
    assign tx_byte  = (state == S_STATUS) ? {6'd0, c_ident ? sticky : status} : data[31:24];

    assign wb_cyc_o = (state == S_BUS);
    assign wb_stb_o = (state == S_BUS);
    assign wb_we_o  = c_write;
    assign wb_adr_o = addr;
    assign wb_dat_o = data;
    assign wb_sel_o = 4'hF;

    always @(posedge clk) begin
        if (rx_take || bus_end || state == S_CMD || state == S_SEND || state == S_STATUS)
            tmr <= {TW{1'b0}};
        else if (!bus_to)
            tmr <= tmr + 1'b1;

        case (state)
        S_CMD: if (rx_take) begin
            c_write  <= (rx_byte == 8'h01) || (rx_byte == 8'h03);
            c_read   <= (rx_byte == 8'h02) || (rx_byte == 8'h04) ||
                        (rx_byte == 8'hB2) || (rx_byte == 8'hB4);
            c_incr   <= (rx_byte == 8'h01) || (rx_byte == 8'h02) || (rx_byte == 8'hB2);
            c_status <= (rx_byte == 8'hB2) || (rx_byte == 8'hB4);
            c_ident  <= (rx_byte == 8'hBF);
            status   <= 2'b00;
            nbyte    <= 2'd0;
            nword    <= 8'd0;
            state    <= S_LEN;
        end
        S_LEN: if (rx_take) begin
            len   <= rx_byte;
            state <= S_ADDR;
        end
        S_ADDR: if (rx_take) begin
            addr  <= {addr[21:0], rx_byte};
            nbyte <= nbyte + 1'b1;
            if (nbyte == 2'd3) begin
                if (c_write)
                    state <= S_WDATA;
                else if (c_read)
                    state <= S_BUS;
                else if (c_ident) begin
                    data  <= MAGIC;
                    state <= S_SEND;
                end else
                    state <= S_CMD;                // unknown: ignored, as LiteX
            end
        end
        S_WDATA: if (rx_take) begin
            data  <= {data[23:0], rx_byte};
            nbyte <= nbyte + 1'b1;
            if (nbyte == 2'd3)
                state <= S_BUS;
        end
        S_BUS: if (bus_end) begin
            if (!c_write)
                data <= wb_ack_i ? wb_dat_i : 32'hFFFFFFFF;
            if (!wb_ack_i) begin
                status <= status | {bus_to, wb_err_i & ~bus_to};
                sticky <= sticky | {bus_to, wb_err_i & ~bus_to};
            end
            if (c_write) begin
                nword <= nword + 1'b1;
                addr  <= addr + c_incr;
                state <= last_word ? S_CMD : S_WDATA;
            end else
                state <= S_SEND;
        end
        S_SEND: if (tx_load) begin
            data  <= {data[23:0], 8'h00};
            nbyte <= nbyte + 1'b1;
            if (nbyte == 2'd3) begin
                nword <= nword + 1'b1;
                addr  <= addr + c_incr;
                if (c_ident)
                    data <= (nword == 8'd0) ? VERSION : USER_ID;
                if (last_word)
                    state <= (c_status || c_ident) ? S_STATUS : S_CMD;
                else if (!c_ident)
                    state <= S_BUS;
            end
        end
        S_STATUS: if (tx_load) begin
            if (c_ident)
                sticky <= 2'b00;
            state <= S_CMD;
        end
        default: state <= S_CMD;
        endcase

        if (idle_to)
            state <= S_CMD;
        if (rst) begin
            state  <= S_CMD;
            sticky <= 2'b00;
            c_write <= 1'b0;
        end
    end
endmodule

`default_nettype wire
