/*  Unit tests for the manifest record's codec (src/common/bf_manifest.c,
    bf_manifest_encode.c): decode fills the typed record in normal form,
    encode writes it back in the documented order, the normal form is a
    fixed point, the cache key of the record is the one the JSON-based code
    computed before the record existed, and bad input is refused with one
    line naming the field and value. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cache/bf_key.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_manifest.h"

#define D1 "1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "3333333333333333333333333333333333333333333333333333333333333333"

/*  Everything a manifest may hold, in a form that still needs normalizing:
    data out of order, a param unquoted, lang missing on one source, nextpnr's
    --seed and --freq among the pnr options, defines not in name order. */
static json_t *
s_full (void)
{
    json_error_t err;
    json_t *m = json_loads (
        "{\"version\": 1, \"top\": \"soc\", \"device\": \"hx8k\", \"package\": \"tq144:4k\","
        " \"workdir\": \"fpga\","
        " \"sources\": [{\"path\": \"rtl/top.v\", \"sha256\": \"" D1 "\", \"size\": 10},"
        "              {\"path\": \"rtl/rom.sv\", \"sha256\": \"" D2 "\", \"size\": 20,"
        "               \"lang\": \"systemverilog\"}],"
        " \"data\": [{\"path\": \"sw/fw.hex\", \"sha256\": \"" D3 "\", \"size\": 3},"
        "            {\"path\": \"rtl/inc/defs.vh\", \"sha256\": \"" D3 "\", \"size\": 3}],"
        " \"pcf\": {\"path\": \"pins.pcf\", \"sha256\": \"" D1 "\", \"size\": 10},"
        " \"defines\": {\"Z\": \"1\", \"FAST\": \"\", \"A\": \"2'h3\"},"
        " \"params\": {\"memfile\": \"sw/fw.hex\", \"N\": \"8'hff\"},"
        " \"includes\": [\"rtl/inc\", \".\"],"
        " \"synth_opts\": {\"-dsp\": \"\", \"-abc9\": \"\"},"
        " \"pnr_opts\": {\"--placer\": \"heap\", \"--seed\": \"7\", \"--freq\": \"12.5\"}}",
        0, &err);
    assert_non_null (m);
    return m;
}

/*  The normal form of s_full, exactly as the encoder writes it. */
#define S_FULL_NORMAL \
    "{\"version\":1,\"flow\":\"ice40\",\"top\":\"soc\",\"device\":\"hx8k\"," \
    "\"package\":\"tq144:4k\",\"workdir\":\"fpga\"," \
    "\"sources\":[{\"path\":\"rtl/top.v\",\"sha256\":\"" D1 "\",\"size\":10,\"lang\":\"verilog\"}," \
    "{\"path\":\"rtl/rom.sv\",\"sha256\":\"" D2 "\",\"size\":20,\"lang\":\"systemverilog\"}]," \
    "\"data\":[{\"path\":\"rtl/inc/defs.vh\",\"sha256\":\"" D3 "\",\"size\":3}," \
    "{\"path\":\"sw/fw.hex\",\"sha256\":\"" D3 "\",\"size\":3}]," \
    "\"pcf\":{\"path\":\"pins.pcf\",\"sha256\":\"" D1 "\",\"size\":10}," \
    "\"defines\":{\"Z\":\"1\",\"FAST\":\"\",\"A\":\"2'h3\"}," \
    "\"params\":{\"memfile\":\"\\\"sw/fw.hex\\\"\",\"N\":\"8'hff\"}," \
    "\"includes\":[\"rtl/inc\",\".\"]," \
    "\"synth_opts\":{\"-dsp\":\"\",\"-abc9\":\"\"},\"pnr_opts\":{\"--placer\":\"heap\"}," \
    "\"freq_khz\":12500,\"seed\":7}"

/*  True when the record holds the field. */
static bool
s_has (const bf_manifest_t *m, const char *name)
{
    json_t *v = bf_manifest_field (m, name);
    json_decref (v);
    return v != NULL;
}

static char *
s_text (json_t *v)
{
    return json_dumps (v, JSON_COMPACT);
}

static void
manifest__decode_fills_the_record_in_normal_form (void **state)
{
    (void) state;
    json_t *in = s_full ();
    bf_manifest_t m;
    assert_int_equal (bf_manifest_decode (&m, in), BF_OK);
    assert_int_equal (m.flow, BF_FLOW_KIND_ICE40);
    assert_string_equal (m.top, "soc");
    assert_string_equal (m.device->name, "hx8k");
    assert_int_equal (m.device->bitstream_size, 135100);
    assert_string_equal (m.package, "tq144:4k");
    assert_string_equal (m.workdir, "fpga");
    assert_int_equal (m.sources.n, 2);
    assert_int_equal (m.sources.items[0].lang, BF_LANG_VERILOG);
    assert_int_equal (m.sources.items[1].lang, BF_LANG_SYSTEMVERILOG);
    assert_int_equal (m.sources.items[1].size, 20);
    assert_int_equal (m.data.n, 2);                        /* sorted by path */
    assert_string_equal (m.data.items[0].path, "rtl/inc/defs.vh");
    assert_true (m.has_pcf);
    assert_string_equal (m.pcf.path, "pins.pcf");
    assert_int_equal (m.defines.n, 3);                     /* in the order given */
    assert_string_equal (m.defines.items[0].name, "Z");
    assert_string_equal (bf_manifest_pairs_find (&m.defines, "FAST")->value, "");
    assert_string_equal (bf_manifest_pairs_find (&m.params, "memfile")->value, "\"sw/fw.hex\"");
    assert_int_equal (m.n_includes, 2);
    assert_string_equal (m.includes[1], ".");
    assert_int_equal (m.pnr_opts.n, 1);                    /* --seed and --freq moved */
    assert_int_equal (m.seed, 7);
    assert_int_equal (m.freq_khz, 12500);
    const char *argv[8];
    assert_int_equal (bf_manifest_opts_argv (argv, 0, &m.synth_opts), 2);
    assert_string_equal (argv[0], "-abc9");                /* name order */
    assert_int_equal (bf_manifest_opts_argv (argv, 0, &m.pnr_opts), 2);
    assert_string_equal (argv[1], "heap");
    assert_string_equal (bf_manifest_flow (&m), BF_FLOW_ICE40);
    bf_manifest_release (&m);
    assert_int_equal (m.sources.n, 0);
    bf_manifest_release (&m);                              /* idempotent */
    json_decref (in);
}

static void
manifest__encode_round_trips_to_a_fixed_point (void **state)
{
    (void) state;
    json_t *in = s_full ();
    bf_manifest_t m, again;
    assert_int_equal (bf_manifest_decode (&m, in), BF_OK);
    json_t *once = bf_manifest_encode (&m);
    char *text = s_text (once);
    assert_string_equal (text, S_FULL_NORMAL);
    free (text);
    assert_int_equal (bf_manifest_decode (&again, once), BF_OK);
    json_t *twice = bf_manifest_encode (&again);
    text = s_text (twice);
    assert_string_equal (text, S_FULL_NORMAL);
    free (text);
    /* The fields, one by one, are the encoding's keys in its order. */
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach (once, key, v) {
        while (bf_manifest_field_name (i) && !s_has (&m, bf_manifest_field_name (i)))
            i++;
        assert_non_null (bf_manifest_field_name (i));
        assert_string_equal (bf_manifest_field_name (i), key);
        json_t *f = bf_manifest_field (&m, key);
        assert_true (json_equal (f, v));
        json_decref (f);
        i++;
    }
    assert_false (s_has (&m, "delay_ms"));                 /* ice40: no delay */
    assert_false (s_has (&m, "nonesuch"));
    json_decref (once);
    json_decref (twice);
    json_decref (in);
    bf_manifest_release (&m);
    bf_manifest_release (&again);
    /* Optional fields absent stay absent; the noop flow has its delay. */
    json_t *small = json_pack ("{s:i, s:s, s:s, s:s, s:[{s:s, s:s, s:i}], s:i}", "version", 1,
                               "flow", "noop", "top", "t", "device", "up5k", "sources",
                               "path", "t.v", "sha256", D1, "size", 1, "delay_ms", 40);
    assert_int_equal (bf_manifest_decode (&m, small), BF_OK);
    assert_int_equal (m.flow, BF_FLOW_KIND_NOOP);
    assert_string_equal (bf_manifest_flow (&m), BF_FLOW_NOOP);
    once = bf_manifest_encode (&m);
    text = s_text (once);
    assert_string_equal (text, "{\"version\":1,\"flow\":\"noop\",\"top\":\"t\",\"device\":\"up5k\","
                               "\"workdir\":\".\",\"sources\":[{\"path\":\"t.v\",\"sha256\":\""
                               D1 "\",\"size\":1,\"lang\":\"verilog\"}],\"data\":[],"
                               "\"defines\":{},\"params\":{},\"includes\":[],\"synth_opts\":{},"
                               "\"pnr_opts\":{},\"delay_ms\":40}");
    free (text);
    json_decref (once);
    json_decref (small);
    bf_manifest_release (&m);
}

/*  The key of the record is the key the JSON-based code gave the same
    design before the record existed: `bitfarm explain --json --toolchain
    0123...ef --top top --device hx1k --package tq144 --pcf icestick.pcf
    top.v -D B=x --param P=3 --seed 9 --freq 10 --synth-opt -dsp --pnr-opt
    --placer=sa -I .` in tests/fixtures/blinky, run at main 15dddfd, then with the pcf path in the key (schema bitfarm-cache-key/2, as r15-paths computes it). */
static void
manifest__key_bytes_are_those_of_before (void **state)
{
    (void) state;
    json_error_t err;
    json_t *in = json_loads (
        "{\"data\": [], \"defines\": {\"B\": \"x\"}, \"device\": \"hx1k\", \"flow\": \"ice40\","
        " \"freq_khz\": 10000, \"includes\": [\".\"], \"package\": \"tq144\","
        " \"params\": {\"P\": \"3\"}, \"pcf\": {\"path\": \"icestick.pcf\", \"sha256\":"
        " \"40f83af6576b33dbf59218d30389bb33f79b5ce97e49689eeb48330faed52d95\", \"size\": 153},"
        " \"pnr_opts\": {\"--placer\": \"sa\"}, \"seed\": 9, \"sources\": [{\"lang\": \"verilog\","
        " \"path\": \"top.v\", \"sha256\":"
        " \"1dfdaf6fc1266b6fbf37bf57449336fc5ccbd6496faa652c1a322da64eb2baaf\", \"size\": 260}],"
        " \"synth_opts\": {\"-dsp\": \"\"}, \"top\": \"top\", \"version\": 1, \"workdir\": \".\"}",
        0, &err);
    assert_non_null (in);
    bf_manifest_t m;
    assert_int_equal (bf_manifest_decode (&m, in), BF_OK);
    char key[BF_SHA256_HEX_LEN + 1], action[BF_SHA256_HEX_LEN + 1];
    assert_int_equal (bf_key_compute (key, &m, "0123456789abcdef0123456789abcdef0123456789abcdef"
                                               "0123456789abcdef"), BF_OK);
    assert_string_equal (key, "28f8256f63fb55dc0d78361776f35e8652ae9d30e60be970880207ddadbc588a");
    assert_int_equal (bf_key_action (action, &m), BF_OK);
    assert_string_equal (action, "b8c572aeb939844c8563aa8b09adba33411710d5d1d4498004c7e44791934459");
    bf_manifest_release (&m);
    json_decref (in);
}

/*  One mutation of s_full and the exact refusal it gets. */
typedef struct {
    const char *field;          /* top-level field to replace ... */
    const char *json;           /* ... with this JSON (NULL: delete it) */
    int rc;
    const char *error;
} s_bad_t;

static void
manifest__refuses_bad_input_with_one_line (void **state)
{
    (void) state;
    static const s_bad_t bad[] = {
        { "version", "2", BF_EINVAL, "unsupported manifest version 2 (this broker speaks 1)" },
        { "flow", "\"vivado\"", BF_EINVAL, "unknown flow 'vivado' (known: ice40, noop)" },
        { "top", "\"1top\"", BF_EINVAL,
          "bad top module name '1top' (want [A-Za-z_][A-Za-z0-9_$]*, at most 128 bytes)" },
        { "device", "\"hx9k\"", BF_EINVAL, "unknown device 'hx9k' (known: lp384 lp1k lp4k lp8k "
          "hx1k hx4k hx8k up3k up5k u1k u2k u4k)" },
        { "package", "\"sg48\"", BF_EINVAL, "unknown package 'sg48' for hx8k (nextpnr-ice40 "
          "--hx8k takes: bg121 bg121:4k cb132 cb132:4k cm121 cm121:4k cm225 cm225:4k cm81 "
          "cm81:4k ct256 tq144:4k; 'sg48' is a package of: up3k up5k u1k u2k u4k)" },
        { "workdir", "\"../up\"", BF_EINVAL,
          "bad workdir '../up' (want a relative directory inside the design's tree)" },
        { "sources", "[]", BF_EINVAL, "no source files (give at least one .v or .sv)" },
        { "sources", NULL, BF_EINVAL, "no source files (give at least one .v or .sv)" },
        { "sources", "[{\"path\": \"a.v\", \"sha256\": \"" D1 "\", \"size\": 1, \"lang\": \"vhdl\"}]",
          BF_EINVAL, "bad lang for 'a.v' (want verilog or systemverilog)" },
        { "data", "[{\"path\": \"RTL/TOP.V\", \"sha256\": \"" D1 "\", \"size\": 1}]", BF_EINVAL,
          "duplicate file name 'RTL/TOP.V' (names may not differ only in case)" },
        { "data", "[{\"path\": \"x.hex\", \"sha256\": \"xyz\", \"size\": 1}]", BF_EINVAL,
          "bad sha256 for 'x.hex'" },
        { "data", "{}", BF_EINVAL, "field 'data' must be an array" },
        { "data", "[{\"path\": \"big.hex\", \"sha256\": \"" D1 "\", \"size\": 16777217}]",
          BF_EINVAL, "data: field 'size' must be an integer from 0 to 16777216" },
        { "defines", "{\"A\": \"a b\"}", BF_EINVAL,
          "bad value 'a b' for define 'A' (allowed: letters, digits and _.'+-, at most 256 bytes)" },
        { "defines", "{\"1A\": \"1\"}", BF_EINVAL,
          "bad define name '1A' (want [A-Za-z_][A-Za-z0-9_$]*)" },
        { "params", "{\"P\": 3}", BF_EINVAL, "bad value for param 'P' (must be a string)" },
        { "params", "[]", BF_EINVAL, "field 'params' must be an object of NAME: VALUE" },
        { "includes", "[\"/etc\"]", BF_EINVAL,
          "bad include dir '/etc' (want a relative directory inside the design's tree)" },
        { "seed", "3", BF_EINVAL, "seed given twice (3 and --pnr-opt --seed 7)" },
        { "freq_khz", "12000", BF_EINVAL,
          "frequency given twice (12000 kHz and --pnr-opt --freq 12.5)" },
        { "synth_opts", "{\"-top\": \"x\"}", BF_EINVAL, NULL },
        { "delay_ms", "5", BF_EINVAL, "field 'delay_ms' belongs to the noop flow only" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *in = s_full ();
        if (bad[i].json) {
            json_error_t err;
            json_t *v = json_loads (bad[i].json, JSON_DECODE_ANY, &err);
            assert_non_null (v);
            json_object_set_new (in, bad[i].field, v);
        }
        else
            json_object_del (in, bad[i].field);
        bf_manifest_t m;
        int rc = bf_manifest_decode (&m, in);
        if (rc != bad[i].rc || (bad[i].error && strcmp (bf_error_last (), bad[i].error) != 0))
            fail_msg ("%s=%s: got %d '%s'", bad[i].field, bad[i].json ? bad[i].json : "(none)",
                      rc, bf_error_last ());
        assert_null (strchr (bf_error_last (), '\n'));     /* one line */
        assert_int_equal (m.sources.n, 0);                 /* left empty */
        assert_null (m.sources.items);
        assert_null (m.device);
        json_t *norm = (json_t *) 1;
        assert_int_equal (bf_manifest_normalize (&norm, in), rc);
        assert_null (norm);
        json_decref (in);
    }
    bf_manifest_t m;
    json_t *str = json_string ("x");
    assert_int_equal (bf_manifest_decode (&m, str), BF_EINVAL);
    assert_string_equal (bf_error_last (), "manifest must be a JSON object");
    json_decref (str);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (manifest__decode_fills_the_record_in_normal_form),
        cmocka_unit_test (manifest__encode_round_trips_to_a_fixed_point),
        cmocka_unit_test (manifest__key_bytes_are_those_of_before),
        cmocka_unit_test (manifest__refuses_bad_input_with_one_line),
    };
    return cmocka_run_group_tests_name ("manifest", tests, NULL, NULL);
}
