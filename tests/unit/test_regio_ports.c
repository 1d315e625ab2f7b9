/*  Unit tests for `submit --regio`'s reading of a top's ports and the
    instance written from them (src/client/bf_regio_ports.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/common/bf_error.h"
#include "../../src/client/bf_regio_ports.h"

static char *
s_instance (const char *text, const char *top)
{
    bf_regio_port_t ports[BF_REGIO_PORTS_MAX];
    int n = 0;
    assert_int_equal (bf_regio_ports_read (ports, &n, text, strlen (text), top), BF_OK);
    char *out = NULL;
    return bf_regio_ports_instance (&out, ports, n, top) == BF_OK ? out : NULL;
}

static void
ports_read__ansi_header_with_ranges_and_attributes (void **state)
{
    (void) state;
    static const char v[] =
        "module other (input x); endmodule\n"
        "(* keep *) module t #(parameter W = 8) (\n"
        "  input wire clk, rst, // the clock\n"
        "  input  [29:0] wb_adr_i, /* word address */ input [31:0] wb_dat_i,\n"
        "  output reg [31:0] wb_dat_o, input wb_we_i, input [3:0] wb_sel_i,\n"
        "  input wb_stb_i, wb_cyc_i, output reg wb_ack_o, output wb_err_o,\n"
        "  output [W-1:0] dbg);\nendmodule\n";
    bf_regio_port_t p[BF_REGIO_PORTS_MAX];
    int n = 0;
    assert_int_equal (bf_regio_ports_read (p, &n, v, strlen (v), "t"), BF_OK);
    assert_int_equal (n, 12);
    assert_string_equal (p[1].name, "rst");
    assert_int_equal (p[1].dir, 'i');
    assert_string_equal (p[2].name, "wb_adr_i");
    assert_int_equal (p[2].msb, 29);
    assert_string_equal (p[4].name, "wb_dat_o");
    assert_int_equal (p[4].dir, 'o');
    assert_int_equal (p[11].msb, -1);   /* [W-1:0]: not a number */
    assert_int_equal (bf_regio_ports_read (p, &n, v, strlen (v), "nope"), BF_ENOTFOUND);
}

static void
ports_instance__standard_names_map_one_to_one (void **state)
{
    (void) state;
    char *inst = s_instance ("module t (input clk, input rst, input [29:0] wb_adr_i, "
                             "input [31:0] wb_dat_i, output [31:0] wb_dat_o, input wb_we_i, "
                             "input [3:0] wb_sel_i, input wb_stb_i, input wb_cyc_i, "
                             "output wb_ack_o, output wb_err_o); endmodule", "t");
    assert_non_null (inst);
    assert_non_null (strstr (inst, ".clk(clk),\n    .rst(rst),\n    .wb_adr_i(adr[29:0])"));
    assert_non_null (strstr (inst, ".wb_err_o(err)"));
    assert_null (strstr (inst, "assign err"));
    free (inst);
}

static void
ports_instance__caravel_names_byte_address_no_err_active_low_reset (void **state)
{
    (void) state;
    char *inst = s_instance ("module c (wb_clk_i, rst_n, wbs_stb_i, wbs_cyc_i, wbs_we_i, "
                             "wbs_dat_i, wbs_adr_i, wbs_ack_o, wbs_dat_o);\n"
                             "input wb_clk_i, rst_n, wbs_stb_i, wbs_cyc_i, wbs_we_i;\n"
                             "input [31:0] wbs_dat_i, wbs_adr_i;\n"
                             "function f (input a); f = a; endfunction\n"
                             "output wbs_ack_o; output [31:0] wbs_dat_o;\nendmodule", "c");
    assert_non_null (inst);
    assert_non_null (strstr (inst, ".wb_clk_i(clk)"));
    assert_non_null (strstr (inst, ".rst_n(!rst)"));
    assert_non_null (strstr (inst, ".wbs_adr_i({adr, 2'b00})"));
    assert_non_null (strstr (inst, ".wbs_dat_i(dat_w)"));
    assert_non_null (strstr (inst, ".wbs_dat_o(dat_r)"));
    assert_null (strstr (inst, ".a("));   /* a function's input is no port */
    assert_non_null (strstr (inst, "assign err = 1'b0;"));
    free (inst);
}

static void
ports_instance__byte_address_bits_and_refusals (void **state)
{
    (void) state;
    char *inst = s_instance ("module b (input i_clk, input [7:2] i_wb_addr, "
                             "input [31:0] i_wb_data, output [31:0] o_wb_data, input i_wb_we, "
                             "input i_wb_stb, output o_wb_ack); endmodule", "b");
    assert_non_null (inst);
    assert_non_null (strstr (inst, ".i_wb_addr(adr[5:0])"));
    free (inst);
    static const char *bad[][2] = {
        { "module m (input clk, input [29:0] wb_adr_i, output [31:0] wb_dat_o, input wb_stb_i, "
          "output wb_ack_o); endmodule", "no Wishbone write enable input" },
        { "module m (input clk, input [29:0] wb_adr_i, output [7:0] wb_dat_o, input wb_we_i, "
          "input wb_stb_i, output wb_ack_o); endmodule", "of 8 bits, not 32" },
        { "module m (input clk, input [30:0] wb_adr_i, output [31:0] wb_dat_o, input wb_we_i, "
          "input wb_stb_i, output wb_ack_o); endmodule", "cannot connect the address" } };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_null (s_instance (bad[i][0], "m"));
        assert_non_null (strstr (bf_error_last (), bad[i][1]));
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (ports_read__ansi_header_with_ranges_and_attributes),
        cmocka_unit_test (ports_instance__standard_names_map_one_to_one),
        cmocka_unit_test (ports_instance__caravel_names_byte_address_no_err_active_low_reset),
        cmocka_unit_test (ports_instance__byte_address_bits_and_refusals),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
