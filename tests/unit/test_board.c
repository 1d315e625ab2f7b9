/*  Unit tests for boards: the worker's board config (src/worker/bf_board.c),
    how an openFPGALoader run is judged (its exit status and its output,
    with texts taken from openFPGALoader 0.10.0 runs), and the emulated
    JTAG target behind bitfarm-vboard (src/vboard/bf_jtag.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/common/bf_error.h"
#include "../../src/common/bf_sha256.h"
#include "../../src/common/bf_util.h"
#include "../../src/vboard/bf_jtag.h"
#include "../../src/worker/bf_board.h"

static int
s_parse (bf_board_t *b, const char *text)
{
    json_t *obj = json_loads (text, 0, NULL);
    assert_non_null (obj);
    int rc = bf_board_parse (b, obj, "cfg");
    json_decref (obj);
    return rc;
}

static void
config__accepts_the_documented_shapes (void **state)
{
    (void) state;
    bf_board_t b;
    assert_int_equal (s_parse (&b, "{\"name\": \"icebreaker-1\", \"device\": \"up5k\", "
                                   "\"package\": \"sg48\", \"board\": \"ice40_generic\", "
                                   "\"ftdi_serial\": \"FT4XYZ\"}"), BF_OK);
    char **argv = bf_board_argv (&b, "/j/bitstream.bin");
    const char *want[] = { "openFPGALoader", "-b", "ice40_generic", "--ftdi-serial", "FT4XYZ",
                           "--write-sram", "/j/bitstream.bin", NULL };
    for (int i = 0; want[i]; i++)
        assert_string_equal (argv[i], want[i]);
    assert_null (argv[7]);
    bf_board_argv_free (argv);
    assert_false (b.done_check);

    assert_int_equal (s_parse (&b, "{\"name\": \"arty\", \"device\": \"hx1k\", \"package\": "
                                   "\"tq144\", \"cable\": \"xvc-client\", \"ip\": \"10.0.0.7\", "
                                   "\"port\": 2542}"), BF_OK);
    assert_true (b.done_check);
    argv = bf_board_argv (&b, "x.bin");
    assert_string_equal (argv[1], "-c");
    assert_string_equal (argv[4], "10.0.0.7");
    assert_string_equal (argv[6], "2542");
    bf_board_argv_free (argv);

    assert_int_equal (s_parse (&b, "{\"name\": \"vb0\", \"device\": \"hx1k\", \"package\": "
                                   "\"tq144\", \"virtual\": true, \"vboard_options\": "
                                   "[\"--fail\", \"drop\"]}"), BF_OK);
    assert_true (b.is_virtual);
    assert_string_equal (b.cable, "xvc-client");
    assert_string_equal (b.vboard_opts[1], "drop");
    free (b.vboard_opts[0]);
    free (b.vboard_opts[1]);
}

static void
config__names_what_is_wrong (void **state)
{
    (void) state;
    static const struct { const char *json, *msg; } cases[] = {
        { "{\"name\": \"b\", \"device\": \"hx1k\", \"package\": \"tq144\", \"board\": \"x\", "
          "\"speed\": 1}", "cfg: board 'b': unknown key 'speed'" },
        { "{\"name\": \"B!\", \"device\": \"hx1k\", \"package\": \"tq144\"}", "invalid name 'B!'" },
        { "{\"name\": \"b\", \"device\": \"hx9k\", \"package\": \"tq144\", \"board\": \"x\"}",
          "unknown device 'hx9k'" },
        { "{\"name\": \"b\", \"device\": \"hx1k\", \"package\": \"tq144\"}",
          "give exactly one of 'board', 'cable' and 'virtual' (got none)" },
        { "{\"name\": \"b\", \"device\": \"hx1k\", \"package\": \"tq144\", \"board\": \"x\", "
          "\"cable\": \"y\"}", "(got several)" },
        { "{\"name\": \"b\", \"device\": \"hx1k\", \"package\": \"tq144\", \"cable\": "
          "\"xvc-client\", \"ip\": \"1.2.3\", \"port\": 1}", "invalid ip '1.2.3'" },
        { "{\"name\": \"b\", \"device\": \"hx1k\", \"package\": \"tq144\", \"cable\": "
          "\"xvc-client\"}", "cable xvc-client needs 'ip' and 'port'" },
        { "{\"name\": \"b\", \"device\": \"hx1k\", \"package\": \"tq144\", \"board\": \"x\", "
          "\"busdev_num\": \"1-2\"}", "invalid busdev_num '1-2'" },
        { "{\"name\": \"b\", \"device\": \"hx1k\", \"package\": \"tq144\", \"board\": \"x\", "
          "\"ftdi_serial\": \"a;rm\"}", "invalid ftdi_serial 'a;rm'" },
        { "{\"name\": \"b\", \"device\": \"hx1k\", \"package\": \"tq144\", \"virtual\": true, "
          "\"vboard_options\": [\"--state-file\", \"/etc/x\"]}", "vboard_options[1]" },
        { "{\"name\": \"b\", \"device\": \"hx1k\", \"package\": \"tq144\", \"board\": \"x\", "
          "\"done_check\": true}", "'done_check' works only over xvc-client" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bf_board_t b;
        assert_int_equal (s_parse (&b, cases[i].json), BF_EINVAL);
        if (!strstr (bf_error_last (), cases[i].msg))
            fail_msg ("case %zu: '%s' lacks '%s'", i, bf_error_last (), cases[i].msg);
    }
}

static bf_spawn_result_t
s_exit (int code)
{
    return (bf_spawn_result_t) { .exited = true, .exit_code = code };
}

static void
classify__by_status_and_output (void **state)
{
    (void) state;
    char err[512];
    bf_spawn_result_t r = s_exit (0);
    assert_int_equal (bf_board_classify (&r, "write to ram\nLoad SRAM: [====] 100.00%\nDone\n",
                                         err, sizeof err), BF_LOAD_OK);
    /* iCE40 over SPI: CDONE never rose, and openFPGALoader still exits 0 */
    assert_int_equal (bf_board_classify (&r, "Load SRAM: 100.00%\nDone\nWait for CDONE FAIL\n",
                                         err, sizeof err), BF_LOAD_BITSTREAM);
    assert_non_null (strstr (err, "Wait for CDONE FAIL"));
    r = s_exit (1);
    assert_int_equal (bf_board_classify (&r, "JTAG init failed with: Unknown device with IDCODE: "
                                         "0x0badc0de (manufacturer: 0x06f (), part: 0x5d vers: "
                                         "0x0\n", err, sizeof err), BF_LOAD_BITSTREAM);
    assert_int_equal (bf_board_classify (&r, "write to ram\nunable to open ftdi device: -3 "
                                         "(device not found)\nError: Failed to claim cable\n",
                                         err, sizeof err), BF_LOAD_INFRA);
    assert_non_null (strstr (err, "unable to open ftdi device: -3 (device not found)"));
    assert_int_equal (bf_board_classify (&r, "Connection error\nJTAG init failed with: "
                                         "connection failure\n", err, sizeof err), BF_LOAD_INFRA);
    assert_int_equal (bf_board_classify (&r, "something new\n", err, sizeof err), BF_LOAD_INFRA);
    assert_non_null (strstr (err, "exited with status 1: something new"));
    r = (bf_spawn_result_t) { .exited = false, .term_signal = SIGPIPE };
    assert_int_equal (bf_board_classify (&r, "load program\nClient orderly shut down the "
                                         "connection.\n", err, sizeof err), BF_LOAD_INFRA);
    assert_non_null (strstr (err, "SIGPIPE"));
    r = (bf_spawn_result_t) { .exited = false, .term_signal = SIGKILL, .timed_out = true,
                              .elapsed_ms = 120000 };
    assert_int_equal (bf_board_classify (&r, "", err, sizeof err), BF_LOAD_INFRA);
    assert_non_null (strstr (err, "time limit"));
    /* control characters from the tool are escaped in the error line */
    r = s_exit (1);
    bf_board_classify (&r, "CRC error \x1b[31m\n", err, sizeof err);
    assert_null (strchr (err, '\x1b'));
}

/*  Clocks the TAP with a TMS pattern (LSB first in a string of '0'/'1')
    and TDI all `tdi`. */
static void
s_clock (bf_jtag_t *j, const char *tms, int tdi, uint8_t *tdo_out, bf_jtag_config_t *cfg,
         int *configs)
{
    uint8_t t[64] = { 0 }, d[64], o[64];
    size_t n = strlen (tms);
    memset (d, tdi ? 0xff : 0, sizeof d);
    for (size_t i = 0; i < n; i++)
        if (tms[i] == '1')
            t[i / 8] |= (uint8_t) (1u << (i % 8));
    int c = bf_jtag_shift (j, t, d, o, (uint32_t) n, cfg);
    if (configs)
        *configs += c;
    if (tdo_out)
        memcpy (tdo_out, o, (n + 7) / 8);
}

/*  Loads a 6-bit instruction from Run-Test/Idle and returns the IR
    capture; ends in Run-Test/Idle. */
static uint8_t
s_ir (bf_jtag_t *j, uint8_t ir, bf_jtag_config_t *cfg, int *configs)
{
    uint8_t t[4] = { 0 }, d[4] = { 0 }, o[4];
    /* RTI -> SelDR (1) -> SelIR (1) -> CapIR (0) -> ShiftIR (0), 6 bits
       (TMS 1 on the last), UpdIR (1), RTI (0), RTI (0) */
    const char *tms = "1100000001100";
    for (int i = 0; tms[i]; i++)
        if (tms[i] == '1')
            t[i / 8] |= (uint8_t) (1u << (i % 8));
    for (int i = 0; i < 6; i++)
        if (ir & (1u << i))
            d[(4 + i) / 8] |= (uint8_t) (1u << ((4 + i) % 8));
    int c = bf_jtag_shift (j, t, d, o, 13, cfg);
    if (configs)
        *configs += c;
    uint8_t cap = 0;
    for (int i = 0; i < 6; i++)
        if (o[(4 + i) / 8] & (1u << ((4 + i) % 8)))
            cap |= (uint8_t) (1u << i);
    return cap;
}

static void
jtag__idcode_and_configuration (void **state)
{
    (void) state;
    bf_jtag_t *j = bf_jtag_new (BF_XC7A35T_IDCODE, 0);
    /* After Test-Logic-Reset, DR is IDCODE: RTI, SelDR, CapDR, ShiftDR x32 */
    uint8_t o[8];
    s_clock (j, "11111" "0" "1" "0" "0" "0000000000000000000000000000000" "1" "1" "0", 0, o,
             NULL, NULL);
    uint32_t id = 0;
    for (int i = 0; i < 32; i++)
        if (o[(9 + i) / 8] & (1u << ((9 + i) % 8)))
            id |= 1u << i;
    assert_int_equal (id, BF_XC7A35T_IDCODE);
    assert_int_equal (bf_jtag_state (j), BF_JTAG_RTI);

    bf_jtag_config_t cfg;
    int configs = 0;
    assert_int_equal (s_ir (j, BF_XC7_JPROGRAM, &cfg, &configs) & 0x03, 0x01);
    uint8_t cap = 0;
    int polls = 0;
    while (!((cap = s_ir (j, BF_XC7_BYPASS, &cfg, &configs)) & 0x10) && polls < 10)
        polls++;
    assert_true (polls > 0 && polls < 10);          /* INIT_B rose after a few polls */
    assert_int_equal (cap & 0x20, 0);               /* DONE low */
    s_ir (j, BF_XC7_CFG_IN, &cfg, &configs);
    /* RTI -> SelDR -> CapDR -> ShiftDR, then 16 bits of 0xA5 0x0F, MSB of
       each byte first, the last with TMS 1 -> Exit1 -> Update -> RTI */
    const uint8_t data[2] = { 0xA5, 0x0F };
    uint8_t t[8] = { 0 }, d[8] = { 0 }, out[8];
    t[0] = 0x01;                                    /* bit 0: TMS 1 (SelDR) */
    for (int i = 0; i < 16; i++) {
        int bit = (data[i / 8] >> (7 - i % 8)) & 1;
        if (bit)
            d[(3 + i) / 8] |= (uint8_t) (1u << ((3 + i) % 8));
    }
    t[(3 + 15) / 8] |= (uint8_t) (1u << ((3 + 15) % 8));
    t[(3 + 16) / 8] |= (uint8_t) (1u << ((3 + 16) % 8));
    configs += bf_jtag_shift (j, t, d, out, 21, &cfg);
    assert_int_equal (bf_jtag_config_bytes (j), 2);
    assert_int_equal (configs, 0);
    s_ir (j, BF_XC7_JSTART, &cfg, &configs);
    assert_int_equal (configs, 1);
    assert_true (cfg.done);
    assert_int_equal (cfg.bytes, 2);
    char want[BF_SHA256_HEX_LEN + 1];
    bf_sha256_hex (want, data, 2);
    assert_string_equal (cfg.sha256, want);
    assert_int_equal (s_ir (j, BF_XC7_BYPASS, NULL, NULL) & 0x20, 0x20);     /* DONE high */

    /* Injected configuration error: the data arrives, DONE stays low. */
    bf_jtag_set (j, BF_XC7A35T_IDCODE, BF_JTAG_FAIL_CONFIG);
    configs = 0;
    s_ir (j, BF_XC7_JPROGRAM, &cfg, &configs);
    s_ir (j, BF_XC7_CFG_IN, &cfg, &configs);
    bf_jtag_shift (j, t, d, out, 21, &cfg);
    s_ir (j, BF_XC7_JSTART, &cfg, &configs);
    assert_int_equal (configs, 1);
    assert_false (cfg.done);
    assert_string_equal (cfg.sha256, want);
    assert_int_equal (s_ir (j, BF_XC7_BYPASS, NULL, NULL) & 0x20, 0);
    bf_jtag_destroy (&j);
}

/*  What openFPGALoader's sandbox shows of the host, per board: the
    network for XVC, one USB node for a serial (looked up in sysfs) or a
    bus:device, all of /dev/bus/usb only when neither is given. */
static void
reach__only_the_board (void **state)
{
    (void) state;
    char sys[] = "/tmp/bf-test-sysfs-XXXXXX";
    assert_non_null (mkdtemp (sys));
    static const char *devs[][4] = { { "1-1", "FTOTHER", "1", "3" },
                                     { "2-4", "FT4XYZ", "2", "17" } };
    for (int i = 0; i < 2; i++) {
        char *dir = xasprintf ("%s/bus/usb/devices/%s", sys, devs[i][0]);
        assert_int_equal (bf_mkdir_p (dir, 0755), BF_OK);
        static const char *names[] = { "serial", "busnum", "devnum" };
        for (int k = 0; k < 3; k++) {
            char *path = xasprintf ("%s/%s", dir, names[k]);
            char *text = xasprintf ("%s\n", devs[i][k + 1]);
            assert_int_equal (bf_file_write_atomic (path, text, strlen (text), 0644), BF_OK);
            free (text);
            free (path);
        }
        free (dir);
    }
    bf_board_t b;
    bf_sandbox_reach_t r;
    assert_int_equal (s_parse (&b, "{\"name\":\"x\",\"device\":\"hx1k\",\"package\":\"tq144\","
                                   "\"cable\":\"xvc-client\",\"ip\":\"10.0.0.7\",\"port\":2542}"),
                      BF_OK);
    bf_board_reach (&r, &b, sys);
    assert_true (r.net && !r.usb);
    assert_int_equal (r.nnodes, 0);
    assert_int_equal (s_parse (&b, "{\"name\":\"x\",\"device\":\"up5k\",\"package\":\"sg48\","
                                   "\"board\":\"ice40_generic\",\"ftdi_serial\":\"FT4XYZ\"}"),
                      BF_OK);
    bf_board_reach (&r, &b, sys);
    assert_true (!r.net && r.usb);
    assert_int_equal (r.nnodes, 1);
    assert_string_equal (r.nodes[0], "/dev/bus/usb/002/017");
    assert_int_equal (s_parse (&b, "{\"name\":\"x\",\"device\":\"up5k\",\"package\":\"sg48\","
                                   "\"board\":\"ice40_generic\",\"ftdi_serial\":\"NOPE\"}"),
                      BF_OK);
    bf_board_reach (&r, &b, sys);
    assert_int_equal (r.nnodes, 0);    /* not plugged in: nothing, the load fails */
    assert_int_equal (s_parse (&b, "{\"name\":\"x\",\"device\":\"up5k\",\"package\":\"sg48\","
                                   "\"board\":\"ice40_generic\",\"busdev_num\":\"3:9\"}"),
                      BF_OK);
    bf_board_reach (&r, &b, sys);
    assert_string_equal (r.nodes[0], "/dev/bus/usb/003/009");
    assert_int_equal (s_parse (&b, "{\"name\":\"x\",\"device\":\"up5k\",\"package\":\"sg48\","
                                   "\"board\":\"ice40_generic\"}"), BF_OK);
    bf_board_reach (&r, &b, sys);
    assert_int_equal (r.nnodes, 1);
    assert_string_equal (r.nodes[0], "/dev/bus/usb");   /* which one: openFPGALoader picks */
    bf_remove_tree (sys);
}

static void
config__takes_a_uart_for_register_io (void **state)
{
    (void) state;
    bf_board_t b;
    assert_int_equal (s_parse (&b, "{\"name\": \"ib\", \"device\": \"up5k\", \"package\": "
                                   "\"sg48\", \"board\": \"ice40_generic\", \"uart\": "
                                   "\"/dev/serial/by-id/usb-FTDI_Dual_RS232-HS-if01-port0\"}"),
                      BF_OK);
    assert_string_equal (b.uart, "/dev/serial/by-id/usb-FTDI_Dual_RS232-HS-if01-port0");
    assert_int_equal (b.baud, 115200);
    assert_false (b.bridge_litex);
    assert_int_equal (s_parse (&b, "{\"name\": \"ib\", \"device\": \"up5k\", \"package\": "
                                   "\"sg48\", \"board\": \"ice40_generic\", \"uart\": "
                                   "\"/dev/ttyUSB1\", \"baud\": 1000000, \"bridge\": \"litex\"}"),
                      BF_OK);
    assert_int_equal (b.baud, 1000000);
    assert_true (b.bridge_litex);
    const char *bad[] = {
        "\"uart\": \"ttyUSB0\"", "invalid uart 'ttyUSB0'",
        "\"uart\": \"/dev/../etc/passwd\"", "invalid uart '/dev/../etc/passwd'",
        "\"uart\": \"/dev/tty USB0\"", "invalid uart",
        "\"uart\": 3", "invalid uart (not a string)",
        "\"uart\": \"/dev/ttyUSB0\", \"baud\": 12345", "invalid baud",
        "\"baud\": 115200", "'baud' needs 'uart'",
        "\"uart\": \"/dev/ttyUSB0\", \"bridge\": \"wishbone\"", "invalid bridge 'wishbone'",
        NULL };
    for (int i = 0; bad[i]; i += 2) {
        char text[512];
        snprintf (text, sizeof text, "{\"name\": \"ib\", \"device\": \"up5k\", \"package\": "
                  "\"sg48\", \"board\": \"ice40_generic\", %s}", bad[i]);
        assert_int_equal (s_parse (&b, text), BF_EINVAL);
        assert_non_null (strstr (bf_error_last (), bad[i + 1]));
        assert_non_null (strstr (bf_error_last (), "board 'ib'"));
    }
    assert_int_equal (s_parse (&b, "{\"name\": \"v\", \"device\": \"hx1k\", \"package\": "
                                   "\"tq144\", \"virtual\": true, \"uart\": \"/dev/ttyUSB0\"}"),
                      BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "a virtual board takes no uart"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (config__accepts_the_documented_shapes),
        cmocka_unit_test (config__takes_a_uart_for_register_io),
        cmocka_unit_test (config__names_what_is_wrong),
        cmocka_unit_test (classify__by_status_and_output),
        cmocka_unit_test (jtag__idcode_and_configuration),
        cmocka_unit_test (reach__only_the_board),
    };
    return cmocka_run_group_tests_name ("board", tests, NULL, NULL);
}
