/*  Unit tests for the tool-option allow-lists (src/common/bf_toolopt.c),
    devices and packages, param values, and the exact commands the flow
    runs (src/common/bf_flowcmd.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cache/bf_key.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_flowcmd.h"
#include "../../src/common/bf_ice40_devices.h"
#include "../../src/common/bf_manifest.h"
#include "../../src/common/bf_toolopt.h"

#define D1 "1111111111111111111111111111111111111111111111111111111111111111"
#define TC "abababababababababababababababababababababababababababababababab"

/*  A manifest with the given tool options (borrowed). */
static json_t *
s_manifest (json_t *synth, json_t *pnr)
{
    json_t *m = json_pack ("{s:i, s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:i}]}", "version", 1,
                           "flow", "ice40", "top", "top", "device", "up5k", "package", "sg48",
                           "sources", "path", "top.v", "sha256", D1, "size", 10);
    if (synth)
        json_object_set (m, "synth_opts", synth);
    if (pnr)
        json_object_set (m, "pnr_opts", pnr);
    return m;
}

static void
s_key (char *out, json_t *m)
{
    bf_manifest_t rec;
    assert_int_equal (bf_manifest_decode (&rec, m), BF_OK);
    assert_int_equal (bf_key_compute (out, &rec, TC), BF_OK);
    bf_manifest_release (&rec);
}

static void
toolopt__accepts_the_listed_options (void **state)
{
    (void) state;
    static const char *synth[] = { "-dsp", "-abc9", "-abc2", "-retime", "-nocarry", "-nobram",
                                   "-noflatten", "-spram", "-dffe_min_ce_use 4",
                                   "-dffe_min_ce_use=8", "-device hx", "-device lp", "-device u",
                                   "-no-rw-check", "-dff", "-nodffe", "-noabc", "-flowmap", NULL };
    for (int i = 0; synth[i]; i++) {
        json_t *o = json_object ();
        assert_int_equal (bf_toolopt_add (o, BF_TOOL_SYNTH, synth[i], NULL), BF_OK);
        assert_int_equal (json_object_size (o), 1);
        json_decref (o);
    }
    static const char *pnr[] = { "--placer sa", "--placer heap", "--router router1",
                                 "--router router2", "--opt-timing", "--timing-allow-fail",
                                 "--tmg-ripup", "--no-promote-globals", "--promote-logic",
                                 "--ignore-loops", "--pcf-allow-unconstrained", "--freq 48",
                                 "--freq=12.5", "--seed 7", "--placer-heap-alpha 0.2",
                                 "--placer-heap-beta 0.8", "--placer-heap-critexp 3",
                                 "--placer-heap-timingweight 20", "--starttemp 1.5",
                                 "--cstrweight 0.5", "--slack_redist_iter 4", "--threads 2",
                                 "--parallel-refine", "--no-tmdriv", "--placer-budgets",
                                 "--force", NULL };
    for (int i = 0; pnr[i]; i++) {
        json_t *o = json_object ();
        int rc = bf_toolopt_add (o, BF_TOOL_PNR, pnr[i], NULL);
        if (rc != BF_OK)
            fail_msg ("%s: %s", pnr[i], bf_error_last ());
        json_decref (o);
    }
    /* The value may also come as a separate argument. */
    json_t *o = json_object ();
    assert_int_equal (bf_toolopt_add (o, BF_TOOL_PNR, "--placer", "sa"), BF_OK);
    assert_string_equal (json_string_value (json_object_get (o, "--placer")), "sa");
    json_decref (o);
}

static void
s_refused (bf_tool_t tool, const char *spec, const char *want)
{
    json_t *o = json_object ();
    int rc = bf_toolopt_add (o, tool, spec, NULL);
    if (rc != BF_EINVAL || !strstr (bf_error_last (), want))
        fail_msg ("'%s': rc %d, '%s' (want '%s')", spec, rc, bf_error_last (), want);
    assert_int_equal (json_object_size (o), 0);
    json_decref (o);
}

static void
toolopt__refuses_each_unsafe_option_with_its_reason (void **state)
{
    (void) state;
    static const char *script[] = { "--run x.py", "--pre-pack x.py", "--pre-place x.py",
                                    "--pre-route x.py", "--post-route x.py", "--on-failure x.py",
                                    NULL };
    for (int i = 0; script[i]; i++)
        s_refused (BF_TOOL_PNR, script[i], "runs a Python script");
    static const char *files[] = { "--write o.json", "--sdf o.sdf", "--placed-svg p.svg",
                                   "--routed-svg r.svg", "--router2-heatmap h", "--log l",
                                   "-l l", "--asc a", "--report r", "--json j", "--read r",
                                   NULL };
    for (int i = 0; files[i]; i++)
        s_refused (BF_TOOL_PNR, files[i], "reads or writes files");
    static const char *nobits[] = { "--pack-only", "--no-route", "--no-place", "--no-pack",
                                    "--test", "--tmfuzz", NULL };
    for (int i = 0; nobits[i]; i++)
        s_refused (BF_TOOL_PNR, nobits[i], "stops before there is a bitstream");
    static const char *noeffect[] = { "--verbose", "-v", "--quiet", "-q", "--debug",
                                      "--debug-placer", "--debug-router",
                                      "--detailed-timing-report", "--sdf-cvc",
                                      "--no-print-critical-path-source", NULL };
    for (int i = 0; noeffect[i]; i++)
        s_refused (BF_TOOL_PNR, noeffect[i], "changes nothing in the bitstream");
    s_refused (BF_TOOL_PNR, "--randomize-seed", "unrepeatable");
    s_refused (BF_TOOL_PNR, "-r", "unrepeatable");
    s_refused (BF_TOOL_PNR, "-f", "write --force");
    s_refused (BF_TOOL_PNR, "--pcf x.pcf", "is set from submit --pcf");
    s_refused (BF_TOOL_PNR, "--package sg48", "is set from --package");
    s_refused (BF_TOOL_PNR, "--top top", "is set from --top");
    s_refused (BF_TOOL_SYNTH, "-json x.json", "reads or writes files");
    s_refused (BF_TOOL_SYNTH, "-blif x.blif", "reads or writes files");
    s_refused (BF_TOOL_SYNTH, "-edif x.edif", "reads or writes files");
    s_refused (BF_TOOL_SYNTH, "-vpr", "VPR");
    s_refused (BF_TOOL_SYNTH, "-run begin:map", "runs only part of the script");
    s_refused (BF_TOOL_SYNTH, "-top other", "is set from --top");
    /* Every refusal points to the list. */
    s_refused (BF_TOOL_PNR, "--run x.py", "docs/flows.md");
    /* Unknown options name the allowed ones. */
    s_refused (BF_TOOL_SYNTH, "-bogus", "unknown synth_ice40 option '-bogus'");
    s_refused (BF_TOOL_SYNTH, "-bogus", "allowed: -device -noflatten");
    s_refused (BF_TOOL_PNR, "--bogus", "docs/flows.md");
    s_refused (BF_TOOL_PNR, "placer", "want an option of nextpnr-ice40");
}

static void
toolopt__checks_values (void **state)
{
    (void) state;
    s_refused (BF_TOOL_PNR, "--placer annealing", "allowed: sa|heap");
    s_refused (BF_TOOL_PNR, "--router router3", "allowed: router1|router2");
    s_refused (BF_TOOL_PNR, "--placer", "needs a value");
    s_refused (BF_TOOL_PNR, "--freq 12.3456", "at most 3 decimals");
    s_refused (BF_TOOL_PNR, "--freq 0", "out of range");
    s_refused (BF_TOOL_PNR, "--freq 1e3", "want a decimal number");
    s_refused (BF_TOOL_PNR, "--seed -1", "want a whole number");
    s_refused (BF_TOOL_PNR, "--threads 0", "out of range");
    s_refused (BF_TOOL_PNR, "--timing-allow-fail yes", "takes no value");
    s_refused (BF_TOOL_SYNTH, "-dsp=1", "takes no value");
    s_refused (BF_TOOL_SYNTH, "-dffe_min_ce_use four", "want a whole number");
    s_refused (BF_TOOL_SYNTH, "-device x", "allowed: hx|lp|u");
    s_refused (BF_TOOL_SYNTH, "-device", "needs a value");
    json_t *o = json_object ();
    assert_int_equal (bf_toolopt_add (o, BF_TOOL_SYNTH, "-dsp", NULL), BF_OK);
    assert_int_equal (bf_toolopt_add (o, BF_TOOL_SYNTH, "-dsp", NULL), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "given twice"));
    assert_int_equal (bf_toolopt_add (o, BF_TOOL_SYNTH, "-dffe_min_ce_use 004", NULL), BF_OK);
    assert_string_equal (json_string_value (json_object_get (o, "-dffe_min_ce_use")), "4");
    json_decref (o);
    /* A manifest from outside is checked the same way. */
    json_t *bad = json_pack ("{s:s}", "--pre-pack", "x.py");
    json_t *m = s_manifest (NULL, bad), *norm = NULL;
    assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "runs a Python script"));
    json_decref (m);
    json_decref (bad);
}

static void
key__tool_options_are_canonical (void **state)
{
    (void) state;
    char a[65], b[65], c[65];
    json_t *s1 = json_object (), *s2 = json_object (), *p1 = json_object (), *p2 = json_object ();
    bf_toolopt_add (s1, BF_TOOL_SYNTH, "-dsp", NULL);
    bf_toolopt_add (s1, BF_TOOL_SYNTH, "-abc9", NULL);
    bf_toolopt_add (s2, BF_TOOL_SYNTH, "-abc9", NULL);
    bf_toolopt_add (s2, BF_TOOL_SYNTH, "-dsp", NULL);
    bf_toolopt_add (p1, BF_TOOL_PNR, "--placer sa", NULL);
    bf_toolopt_add (p1, BF_TOOL_PNR, "--opt-timing", NULL);
    bf_toolopt_add (p2, BF_TOOL_PNR, "--opt-timing", NULL);
    bf_toolopt_add (p2, BF_TOOL_PNR, "--placer=sa", NULL);
    json_t *m1 = s_manifest (s1, p1), *m2 = s_manifest (s2, p2);
    s_key (a, m1);
    s_key (b, m2);
    assert_string_equal (a, b);
    /* ... and each option is in the key. */
    json_t *m3 = s_manifest (s1, NULL);
    s_key (c, m3);
    assert_string_not_equal (a, c);
    /* --pnr-opt --seed 5 is seed 5; --pnr-opt --freq 12 is freq_khz 12000. */
    json_t *p3 = json_pack ("{s:s, s:s}", "--seed", "5", "--freq", "12");
    json_t *m4 = s_manifest (NULL, p3), *m5 = s_manifest (NULL, NULL);
    json_object_set_new (m5, "seed", json_integer (5));
    json_object_set_new (m5, "freq_khz", json_integer (12000));
    s_key (a, m4);
    s_key (b, m5);
    assert_string_equal (a, b);
    /* Two different seeds for one build are refused. */
    json_object_set_new (m4, "seed", json_integer (6));
    json_t *norm = NULL;
    assert_int_equal (bf_manifest_normalize (&norm, m4), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "seed given twice"));
    json_decref (m1); json_decref (m2); json_decref (m3); json_decref (m4); json_decref (m5);
    json_decref (s1); json_decref (s2); json_decref (p1); json_decref (p2); json_decref (p3);
}

static void
manifest__devices_and_packages_as_nextpnr_names_them (void **state)
{
    (void) state;
    static const char *devices[] = { "lp384", "lp1k", "lp4k", "lp8k", "hx1k", "hx4k", "hx8k",
                                     "up3k", "up5k", "u1k", "u2k", "u4k", NULL };
    int n = 0;
    for (int i = 0; devices[i]; i++) {
        uint64_t size = 0;
        assert_true (bf_manifest_device (devices[i], &size));
        assert_true (size > 0);
        n++;
    }
    for (const bf_ice40_device_t *d = bf_ice40_devices; d->name; d++) {
        n--;
        for (int k = 0; d->packages[k]; k++) {
            json_t *m = s_manifest (NULL, NULL), *norm = NULL;
            json_object_set_new (m, "device", json_string (d->name));
            json_object_set_new (m, "package", json_string (d->packages[k]));
            if (bf_manifest_normalize (&norm, m) != BF_OK)
                fail_msg ("%s %s: %s", d->name, d->packages[k], bf_error_last ());
            json_decref (norm);
            json_decref (m);
        }
    }
    assert_int_equal (n, 0);
    uint64_t size;
    bf_manifest_device ("hx1k", &size);
    assert_int_equal (size, 32220);
    bf_manifest_device ("up5k", &size);
    assert_int_equal (size, 104090);
    bf_manifest_device ("hx8k", &size);
    assert_int_equal (size, 135100);
    assert_true (bf_manifest_package ("hx8k", "tq144:4k"));
    assert_true (bf_manifest_package ("hx4k", "tq144"));
    assert_false (bf_manifest_package ("hx4k", "tq144:4k"));
    json_t *m = s_manifest (NULL, NULL), *norm = NULL;
    json_object_set_new (m, "device", json_string ("hx4k"));
    json_object_set_new (m, "package", json_string ("tq144:4k"));
    assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "unknown package 'tq144:4k' for hx4k"));
    assert_non_null (strstr (bf_error_last (), "is a package of: lp8k hx8k"));
    json_decref (m);
}

static void
manifest__string_params_need_no_quotes (void **state)
{
    (void) state;
    char out[BF_MAX_VALUE + 3];
    assert_true (bf_manifest_param_value (out, "sw/fw.hex"));
    assert_string_equal (out, "\"sw/fw.hex\"");
    assert_true (bf_manifest_param_value (out, "\"sw/fw.hex\""));
    assert_string_equal (out, "\"sw/fw.hex\"");
    assert_true (bf_manifest_param_value (out, "8'hff"));
    assert_string_equal (out, "8'hff");
    assert_true (bf_manifest_param_value (out, "1.5"));
    assert_string_equal (out, "\"1.5\"");
    assert_false (bf_manifest_param_value (out, "a b"));
    json_t *m = s_manifest (NULL, NULL), *norm = NULL;
    json_object_set_new (m, "params", json_pack ("{s:s}", "memfile", "fw hex"));
    assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "bad value 'fw hex' for param 'memfile' (want a "
                                               "Verilog number"));
    json_decref (m);
}

static void
flowcmd__runs_only_what_was_asked (void **state)
{
    (void) state;
    json_t *m = s_manifest (NULL, NULL);
    bf_manifest_t norm;
    assert_int_equal (bf_manifest_decode (&norm, m), BF_OK);
    char *script = bf_flowcmd_yosys_script (&norm, "", "n.json");
    /* "./": no tool rewrites or misreads a path that starts so. */
    assert_string_equal (script, "read_verilog ./top.v\nsynth_ice40 -top top -json n.json\n");
    free (script);
    bf_argv_t a;
    bf_flowcmd_nextpnr (&a, &norm, "n.json", "", "t.asc", "r.json");
    char *line = bf_flowcmd_shell (a.argv);
    assert_string_equal (line, "nextpnr-ice40 --up5k --package sg48 --json n.json --asc t.asc "
                               "--report r.json");
    free (line);
    bf_argv_release (&a);
    bf_manifest_release (&norm);
    json_decref (m);
    /* Params: read with -defer, then chparam; options in name order. */
    json_t *s = json_pack ("{s:s, s:s}", "-dsp", "", "-abc9", "");
    json_t *p = json_pack ("{s:s, s:s, s:s}", "--timing-allow-fail", "", "--placer", "sa",
                           "--freq", "12.5");
    m = s_manifest (s, p);
    json_object_set_new (m, "params", json_pack ("{s:s}", "memfile", "sw/fw.hex"));
    json_object_set_new (m, "seed", json_integer (3));
    assert_int_equal (bf_manifest_decode (&norm, m), BF_OK);
    script = bf_flowcmd_yosys_script (&norm, "../", "n.json");
    assert_string_equal (script, "read_verilog -defer ../top.v\n"
                                 "chparam -set memfile \"sw/fw.hex\" top\n"
                                 "synth_ice40 -top top -abc9 -dsp -json n.json\n");
    free (script);
    bf_flowcmd_nextpnr (&a, &norm, "n.json", "", "t.asc", "r.json");
    line = bf_flowcmd_shell (a.argv);
    assert_string_equal (line, "nextpnr-ice40 --up5k --package sg48 --json n.json --asc t.asc "
                               "--report r.json --seed 3 --freq 12.5 --placer sa "
                               "--timing-allow-fail");
    free (line);
    bf_argv_release (&a);
    const char *q[] = { "yosys", "-p", "a; b", "it's", NULL };
    line = bf_flowcmd_shell (q);
    assert_string_equal (line, "yosys -p 'a; b' 'it'\\''s'");
    free (line);
    bf_manifest_release (&norm);
    json_decref (m);
    json_decref (s);
    json_decref (p);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (toolopt__accepts_the_listed_options),
        cmocka_unit_test (toolopt__refuses_each_unsafe_option_with_its_reason),
        cmocka_unit_test (toolopt__checks_values),
        cmocka_unit_test (key__tool_options_are_canonical),
        cmocka_unit_test (manifest__devices_and_packages_as_nextpnr_names_them),
        cmocka_unit_test (manifest__string_params_need_no_quotes),
        cmocka_unit_test (flowcmd__runs_only_what_was_asked),
    };
    return cmocka_run_group_tests_name ("toolopt", tests, NULL, NULL);
}
