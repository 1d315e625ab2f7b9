/*  Unit tests for the register-I/O profiles and the Verilator command
    (src/common/bf_vsimcmd.c): the shipped profiles parse to the boards'
    published pins, bad profiles are refused with the line named, the argv
    is exactly what the header documents (one build job, no shell), and
    names that could become options are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/common/bf_error.h"
#include "../../src/common/bf_vsimcmd.h"

static void
profile__icebreaker_and_icestick_pins (void **state)
{
    (void) state;
    bf_regio_profile_t p;
    assert_int_equal (bf_regio_profile_load (&p, "gateware/regio/profiles/icebreaker.ini"), BF_OK);
    assert_string_equal (p.name, "icebreaker");
    assert_string_equal (p.device, "up5k");
    assert_string_equal (p.package, "sg48");
    assert_int_equal (p.clk_pin, 35);
    assert_int_equal (p.rx_pin, 6);
    assert_int_equal (p.tx_pin, 9);
    assert_int_equal (p.clk_hz, 12000000);
    assert_int_equal (p.baud, 115200);
    assert_int_equal (p.npcf, 3);
    assert_string_equal (p.pcf[1], "set_io -nowarn uart_rx 6");
    assert_int_equal (bf_regio_divisor (p.clk_hz, p.baud), 104);
    assert_int_equal (bf_regio_profile_load (&p, "gateware/regio/profiles/icestick.ini"), BF_OK);
    assert_string_equal (p.device, "hx1k");
    assert_int_equal (p.clk_pin, 21);
    assert_int_equal (p.rx_pin, 9);
    assert_int_equal (p.tx_pin, 8);
    assert_string_equal (p.pcf[0], "set_io -nowarn clk 21");
}

static int
s_parse (const char *text)
{
    bf_regio_profile_t p;
    return bf_regio_profile_parse (&p, text, strlen (text), "t.ini");
}

#define GOOD "[board]\nname=x\ndevice=up5k\npackage=sg48\n[clock]\npin=35\nhz=12000000\n" \
             "[uart]\nrx_pin=6\ntx_pin=9\nbaud=115200\n"

static void
profile__refuses_typos_missing_keys_and_bad_values (void **state)
{
    (void) state;
    assert_int_equal (s_parse (GOOD), BF_OK);
    assert_int_equal (s_parse (GOOD "bad = 1\n"), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "t.ini:12: unknown key 'bad' in [uart]"));
    assert_int_equal (s_parse (GOOD "[extra]\n"), BF_EINVAL);
    assert_int_equal (s_parse ("[board]\nname=x\n"), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "lacks a key"));
    assert_int_equal (s_parse (GOOD "[uart]\nbaud=12x\n"), BF_EINVAL);
    assert_int_equal (s_parse (GOOD "[uart]\nbaud=6000000\n"), BF_EINVAL);   /* < 4 cycles a bit */
    assert_non_null (strstr (bf_error_last (), "too high"));
    assert_int_equal (s_parse (GOOD "[board]\nname=a b\n"), BF_EINVAL);
    assert_int_equal (s_parse (GOOD "[pcf]\nline = rm -rf /\n"), BF_EINVAL);
    assert_int_equal (s_parse (GOOD "[pcf]\nline = set_io clk 35   # a comment\n"), BF_OK);
}

static int
s_find (char **argv, const char *a, const char *b)
{
    for (int i = 0; argv[i]; i++)
        if (strcmp (argv[i], a) == 0 && (!b || (argv[i + 1] && strcmp (argv[i + 1], b) == 0)))
            return i;
    return -1;
}

static void
argv__is_the_documented_command (void **state)
{
    (void) state;
    bf_regio_profile_t p;
    assert_int_equal (bf_regio_profile_load (&p, "gateware/regio/profiles/icestick.ini"), BF_OK);
    const char *src[] = { "gateware/bf_uartbone.v", "rtl/top.v" };
    const char *def[] = { "BF_REGIO_TOP=top" };
    const char *par[] = { "USER_ID=7" };
    const char *lib[] = { "gateware/sim" };
    bf_vsimcmd_t spec = {
        .mdir = "obj", .model = "vsim", .top = "bf_regio_wrap", .harness = "/x/bf_vsim_main.cpp",
        .sources = src, .nsources = 2, .defines = def, .ndefines = 1, .params = par,
        .nparams = 1, .libdirs = lib, .nlibdirs = 1, .profile = &p,
    };
    char **av = NULL;
    assert_int_equal (bf_vsimcmd_argv (&av, &spec), BF_OK);
    assert_string_equal (av[0], "verilator");
    assert_true (s_find (av, "--build-jobs", "1") > 0);
    assert_true (s_find (av, "--top-module", "bf_regio_wrap") > 0);
    assert_true (s_find (av, "--prefix", "Vbfsim") > 0);
    assert_true (s_find (av, "-Mdir", "obj") > 0);
    assert_true (s_find (av, "-DBF_REGIO_TOP=top", NULL) > 0);
    int g1 = s_find (av, "-GCLK_HZ=12000000", NULL), g2 = s_find (av, "-GUSER_ID=7", NULL);
    assert_true (g1 > 0 && g2 > g1);
    assert_true (s_find (av, "-y", "gateware/sim") > 0);
    assert_true (s_find (av, "-CFLAGS", "-DBF_VSIM_TX=uart_tx") > 0);
    int n = 0;
    while (av[n])
        n++;
    assert_string_equal (av[n - 3], "gateware/bf_uartbone.v");
    assert_string_equal (av[n - 2], "rtl/top.v");
    assert_string_equal (av[n - 1], "/x/bf_vsim_main.cpp");
    bf_vsimcmd_free (&av);
    assert_null (av);
    bf_vsimcmd_free (&av);          /* idempotent */
}

static void
argv__refuses_option_injection (void **state)
{
    (void) state;
    const char *src[] = { "top.v" };
    const char *bad_src[] = { "--exec=evil" };
    const char *bad_def[] = { "A B=1" };
    const char *bad_par[] = { "W" };
    bf_vsimcmd_t spec = {
        .mdir = "obj", .model = "vsim", .top = "top", .harness = "/h.cpp",
        .sources = src, .nsources = 1,
    };
    char **av = NULL;
    assert_int_equal (bf_vsimcmd_argv (&av, &spec), BF_OK);
    bf_vsimcmd_free (&av);
    bf_vsimcmd_t s2 = spec;
    s2.sources = bad_src;
    assert_int_equal (bf_vsimcmd_argv (&av, &s2), BF_EINVAL);
    assert_null (av);
    s2 = spec;
    s2.defines = bad_def;
    s2.ndefines = 1;
    assert_int_equal (bf_vsimcmd_argv (&av, &s2), BF_EINVAL);
    s2 = spec;
    s2.params = bad_par;
    s2.nparams = 1;
    assert_int_equal (bf_vsimcmd_argv (&av, &s2), BF_EINVAL);
    s2 = spec;
    s2.top = "-top";
    assert_int_equal (bf_vsimcmd_argv (&av, &s2), BF_EINVAL);
    s2 = spec;
    s2.harness = "rel.cpp";
    assert_int_equal (bf_vsimcmd_argv (&av, &s2), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "not absolute"));
    s2 = spec;
    s2.tx_port = "tx;rm";
    assert_int_equal (bf_vsimcmd_argv (&av, &s2), BF_EINVAL);
    s2 = spec;
    s2.nsources = 0;
    assert_int_equal (bf_vsimcmd_argv (&av, &s2), BF_EINVAL);
}

static void
extract_module__copies_one_module (void **state)
{
    (void) state;
    const char *lib = "(* blackbox *)\nmodule SB_X (input a);\nendmodule\n"
                      "module SB_MAC16 (\n  input CLK);\n  // endmodule in a comment? no: not at a line start\nendmodule\n"
                      "module SB_MAC16X ();\nendmodule\n";
    char *out = NULL;
    assert_int_equal (bf_vsim_extract_module (&out, lib, strlen (lib), "SB_MAC16"), BF_OK);
    assert_string_equal (out, "module SB_MAC16 (\n  input CLK);\n  // endmodule in a comment? "
                              "no: not at a line start\nendmodule\n");
    free (out);
    assert_int_equal (bf_vsim_extract_module (&out, lib, strlen (lib), "SB_MAC"), BF_ENOTFOUND);
    assert_int_equal (bf_vsim_extract_module (&out, lib, strlen (lib), "a b"), BF_EINVAL);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (profile__icebreaker_and_icestick_pins),
        cmocka_unit_test (profile__refuses_typos_missing_keys_and_bad_values),
        cmocka_unit_test (argv__is_the_documented_command),
        cmocka_unit_test (argv__refuses_option_injection),
        cmocka_unit_test (extract_module__copies_one_module),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
