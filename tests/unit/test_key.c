/*  Unit tests for the cache key (src/cache/bf_key.c) and the manifest
    normalization it is computed from.  Both directions: every relevant
    change changes the key; moving the checkout, touching files and
    reordering equivalent flags do not. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cache/bf_key.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_manifest.h"

#define D1 "1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "3333333333333333333333333333333333333333333333333333333333333333"
#define TC "abababababababababababababababababababababababababababababababab"

static json_t *
s_base (void)
{
    return json_pack ("{s:i, s:s, s:s, s:s, s:s, s:s,"
                      " s:[{s:s, s:s, s:i}, {s:s, s:s, s:i}],"
                      " s:[{s:s, s:s, s:i}],"
                      " s:{s:s, s:s, s:i},"
                      " s:{s:s, s:s}, s:{s:s}, s:[s], s:i, s:i}",
                      "version", 1, "flow", "ice40", "top", "top", "device", "up5k",
                      "package", "sg48", "workdir", ".",
                      "sources", "path", "rtl/a.v", "sha256", D1, "size", 10,
                      "path", "rtl/b.v", "sha256", D2, "size", 20,
                      "data", "path", "rtl/mem/rom.hex", "sha256", D3, "size", 30,
                      "pcf", "path", "pins.pcf", "sha256", D3, "size", 30,
                      "defines", "A", "1", "B", "2", "params", "W", "8",
                      "includes", "rtl/inc", "freq_khz", 12000, "seed", 1);
}

/*  The key of a manifest given as JSON, via the decoder. */
static void
s_key (char *out, json_t *m, const char *toolchain)
{
    bf_manifest_t rec;
    assert_int_equal (bf_manifest_decode (&rec, m), BF_OK);
    assert_int_equal (bf_key_compute (out, &rec, toolchain), BF_OK);
    bf_manifest_release (&rec);
}

static void
s_assert_changes (json_t *changed)
{
    char a[65], b[65];
    json_t *base = s_base ();
    s_key (a, base, TC);
    s_key (b, changed, TC);
    assert_string_not_equal (a, b);
    json_decref (base);
    json_decref (changed);
}

static void
key__is_stable_and_hex (void **state)
{
    (void) state;
    char a[65], b[65];
    json_t *m = s_base ();
    s_key (a, m, TC);
    s_key (b, m, TC);
    assert_string_equal (a, b);
    assert_true (bf_sha256_is_hex (a));
    json_decref (m);
}

static void
key__changes_with_every_input (void **state)
{
    (void) state;
    json_t *m;
    /* content of a source */
    m = s_base ();
    json_object_set_new (json_array_get (json_object_get (m, "sources"), 0), "sha256", json_string (D3));
    s_assert_changes (m);
    /* relative path of a source */
    m = s_base ();
    json_object_set_new (json_array_get (json_object_get (m, "sources"), 0), "path", json_string ("rtl/c.v"));
    s_assert_changes (m);
    /* order of the sources */
    m = s_base ();
    json_t *src = json_object_get (m, "sources");
    json_t *first = json_incref (json_array_get (src, 0));
    json_array_remove (src, 0);
    json_array_append_new (src, first);
    s_assert_changes (m);
    /* a data file's content */
    m = s_base ();
    json_object_set_new (json_array_get (json_object_get (m, "data"), 0), "sha256", json_string (D1));
    s_assert_changes (m);
    /* pcf content */
    m = s_base ();
    json_object_set_new (json_object_get (m, "pcf"), "sha256", json_string (D1));
    s_assert_changes (m);
    /* no pcf at all */
    m = s_base ();
    json_object_del (m, "pcf");
    s_assert_changes (m);
    static const char *fields[][2] = { { "top", "other" }, { "device", "up3k" },
                                       { "package", "uwg30" }, { "workdir", "rtl" } };
    for (int i = 0; i < 4; i++) {
        m = s_base ();
        json_object_set_new (m, fields[i][0], json_string (fields[i][1]));
        s_assert_changes (m);
    }
    m = s_base ();
    json_object_set_new (m, "seed", json_integer (2));
    s_assert_changes (m);
    m = s_base ();
    json_object_set_new (m, "freq_khz", json_integer (12001));
    s_assert_changes (m);
    m = s_base ();
    json_object_del (m, "freq_khz");
    s_assert_changes (m);
    m = s_base ();
    json_object_set_new (json_object_get (m, "defines"), "A", json_string ("3"));
    s_assert_changes (m);
    m = s_base ();
    json_object_set_new (json_object_get (m, "defines"), "C", json_string (""));
    s_assert_changes (m);
    m = s_base ();
    json_object_set_new (json_object_get (m, "params"), "W", json_string ("16"));
    s_assert_changes (m);
    m = s_base ();
    json_array_append_new (json_object_get (m, "includes"), json_string ("rtl"));
    s_assert_changes (m);
}

static void
key__changes_with_toolchain (void **state)
{
    (void) state;
    char a[65], b[65];
    json_t *m = s_base ();
    s_key (a, m, TC);
    s_key (b, m, D1);
    assert_string_not_equal (a, b);
    json_decref (m);
}

static void
key__changes_with_salt_only_when_set (void **state)
{
    (void) state;
    char a[65], b[65], c[65], d[65];
    json_t *m = s_base ();
    s_key (a, m, TC);
    bf_manifest_t rec;
    assert_int_equal (bf_manifest_decode (&rec, m), BF_OK);
    assert_int_equal (bf_key_compute_salted (b, &rec, TC, ""), BF_OK);
    assert_int_equal (bf_key_compute_salted (c, &rec, TC, "v2"), BF_OK);
    assert_int_equal (bf_key_compute_salted (d, &rec, TC, "v3"), BF_OK);
    assert_string_equal (a, b);       /* no salt: the keys of old */
    assert_string_not_equal (a, c);
    assert_string_not_equal (c, d);
    bf_manifest_release (&rec);
    json_decref (m);
}

static void
key__ignores_flag_order (void **state)
{
    (void) state;
    char a[65], b[65];
    json_t *m = s_base ();
    s_key (a, m, TC);
    /* The same defines, params and options given in another order. */
    json_t *r = json_pack ("{s:i, s:i, s:[s], s:{s:s}, s:{s:s, s:s}}", "seed", 1, "freq_khz",
                           12000, "includes", "rtl/inc", "params", "W", "8", "defines", "B",
                           "2", "A", "1");
    json_t *base = s_base ();
    json_object_update (r, base);
    json_decref (base);
    s_key (b, r, TC);
    assert_string_equal (a, b);
    json_decref (r);
    /* Data files in another order: they are not read in order. */
    r = s_base ();
    json_array_insert_new (json_object_get (r, "data"), 0,
                           json_pack ("{s:s, s:s, s:i}", "path", "z.hex", "sha256", D1, "size", 1));
    s_key (a, r, TC);
    json_array_remove (json_object_get (r, "data"), 0);
    json_array_append_new (json_object_get (r, "data"),
                           json_pack ("{s:s, s:s, s:i}", "path", "z.hex", "sha256", D1, "size", 1));
    s_key (b, r, TC);
    assert_string_equal (a, b);
    json_decref (r);
    s_key (a, m, TC);
    /* No seed is nextpnr's own default, not seed 1: another key. */
    r = s_base ();
    json_object_del (r, "seed");
    s_key (b, r, TC);
    assert_string_not_equal (a, b);
    json_decref (r);
    json_decref (m);
}

/*  The same pcf bytes at two places in the tree are two designs: with
    -I rtl/inc, a source's `include "defs.vh" finds a pcf named
    rtl/inc/defs.vh and not one named pins.pcf, so the outcomes differ and
    the keys must too (schema 1 keyed the pcf by content only). */
static void
key__includes_the_pcf_path (void **state)
{
    (void) state;
    char a[65], b[65], c[65];
    json_t *m = s_base ();
    s_key (a, m, TC);
    json_object_set_new (json_object_get (m, "pcf"), "path", json_string ("rtl/inc/defs.vh"));
    s_key (b, m, TC);
    assert_string_not_equal (a, b);
    /* ... and the action digest (the key without a toolchain) as well. */
    bf_manifest_t n1, n2;
    json_t *base = s_base ();
    assert_int_equal (bf_manifest_decode (&n1, base), BF_OK);
    assert_int_equal (bf_manifest_decode (&n2, m), BF_OK);
    assert_int_equal (bf_key_action (a, &n1), BF_OK);
    assert_int_equal (bf_key_action (c, &n2), BF_OK);
    assert_string_not_equal (a, c);
    /* The canonical form carries the path and the schema that says so. */
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal (bf_key_canonical (&buf, &len, &n2, TC, NULL), BF_OK);
    assert_non_null (memmem (buf, len, "15:rtl/inc/defs.vh", 18));
    assert_non_null (memmem (buf, len, "19:bitfarm-cache-key/2", 22));
    free (buf);
    bf_manifest_release (&n1);
    bf_manifest_release (&n2);
    json_decref (base);
    json_decref (m);
}

static void
manifest__rejects_bad_names (void **state)
{
    (void) state;
    static const char *bad_paths[] = { "/etc/passwd", "../x.v", "a/../b.v", "a//b.v", "./a.v",
                                       "a b.v", "a;b.v", "a\nb.v", "", NULL };
    for (int i = 0; bad_paths[i]; i++) {
        json_t *m = s_base ();
        json_object_set_new (json_array_get (json_object_get (m, "sources"), 0), "path",
                             json_string (bad_paths[i]));
        json_t *norm = NULL;
        assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
        assert_null (norm);
        assert_non_null (strstr (bf_error_last (), "bad file name"));
        json_decref (m);
    }
    json_t *m = s_base ();
    json_object_set_new (m, "top", json_string ("top; shell rm -rf /"));
    json_t *norm = NULL;
    assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "bad top module name"));
    json_decref (m);
    m = s_base ();
    json_object_set_new (json_object_get (m, "defines"), "X", json_string ("1 ; exec"));
    assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
    json_decref (m);
    m = s_base ();
    json_object_set_new (m, "device", json_string ("xc7a35t"));
    assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "unknown device 'xc7a35t'"));
    json_decref (m);
    /* names differing only in case */
    m = s_base ();
    json_object_set_new (json_array_get (json_object_get (m, "sources"), 1), "path",
                         json_string ("RTL/A.v"));
    assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "duplicate"));
    json_decref (m);
}

/*  Names yosys would rewrite (rewrite_filename in yosys 0.23: a leading
    "~/" is $HOME, "+/" its share directory) are refused everywhere a path
    goes: sources, data, pcf, workdir, include dirs and string params. */
static void
manifest__refuses_names_yosys_rewrites (void **state)
{
    (void) state;
    static const char *bad[] = { "~/x.v", "~", "~root/x.v", "~x.v", "+/x.v", "+", NULL };
    for (int i = 0; bad[i]; i++) {
        assert_false (bf_manifest_valid_path (bad[i]));
        json_t *m = s_base (), *norm = NULL;
        json_object_set_new (json_object_get (m, "pcf"), "path", json_string (bad[i]));
        assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
        assert_non_null (strstr (bf_error_last (), "not starting with '~' or '+/'"));
        json_decref (m);
        m = s_base ();
        json_object_set_new (m, "includes", json_pack ("[s]", bad[i]));
        assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
        assert_non_null (strstr (bf_error_last (), "bad include dir"));
        json_decref (m);
        m = s_base ();
        json_object_set_new (m, "workdir", json_string (bad[i]));
        assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
        assert_non_null (strstr (bf_error_last (), "bad workdir"));
        json_decref (m);
        m = s_base ();
        json_object_set_new (m, "params", json_pack ("{s:s}", "F", bad[i]));
        assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
        assert_non_null (strstr (bf_error_last (), "for param 'F'"));
        json_decref (m);
        char quoted[64];
        snprintf (quoted, sizeof quoted, "\"%s\"", bad[i]);
        assert_false (bf_manifest_valid_param_value (quoted));
    }
    /* Literal everywhere else: inside a path, and '+' that is not "+/". */
    static const char *good[] = { "a/~/x.v", "a~.v", "+a.v", "a/+/b.v", "x+", NULL };
    for (int i = 0; good[i]; i++)
        assert_true (bf_manifest_valid_path (good[i]));
}

/*  "a" and "a/top.v" cannot both be written, nor a workdir or include
    dir that is a file: the design's error, refused before any worker. */
static void
manifest__refuses_a_file_that_is_also_a_directory (void **state)
{
    (void) state;
    json_t *m = s_base (), *norm = NULL;
    json_array_append_new (json_object_get (m, "data"),
                           json_pack ("{s:s, s:s, s:i}", "path", "rtl", "sha256", D1, "size", 1));
    assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
    assert_string_equal (bf_error_last (), "file 'rtl' is also a directory, of 'rtl/a.v' (one "
                                           "tree cannot hold both)");
    json_decref (m);
    /* by case, too: the names may not differ only in case */
    m = s_base ();
    json_object_set_new (json_object_get (m, "pcf"), "path", json_string ("RTL/MEM"));
    assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "file 'RTL/MEM' is also a directory, of "
                                               "'rtl/mem/rom.hex'"));
    json_decref (m);
    m = s_base ();
    json_object_set_new (m, "workdir", json_string ("rtl/a.v"));
    assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
    assert_string_equal (bf_error_last (), "bad workdir 'rtl/a.v' (file 'rtl/a.v' is not a "
                                           "directory)");
    json_decref (m);
    m = s_base ();
    json_object_set_new (m, "workdir", json_string ("pins.pcf/sub"));
    assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "file 'pins.pcf' is not a directory"));
    json_decref (m);
    m = s_base ();
    json_object_set_new (m, "includes", json_pack ("[s]", "rtl/mem/rom.hex"));
    assert_int_equal (bf_manifest_normalize (&norm, m), BF_EINVAL);
    assert_string_equal (bf_error_last (), "bad include dir 'rtl/mem/rom.hex' (file "
                                           "'rtl/mem/rom.hex' is not a directory)");
    json_decref (m);
    /* Directories that only share a prefix of characters are fine. */
    m = s_base ();
    json_object_set_new (m, "workdir", json_string ("rtl/mem2"));
    json_object_set_new (m, "includes", json_pack ("[s]", "rt"));
    assert_int_equal (bf_manifest_normalize (&norm, m), BF_OK);
    json_decref (norm);
    json_decref (m);
}

static void
manifest__param_values (void **state)
{
    (void) state;
    assert_true (bf_manifest_valid_param_value ("42"));
    assert_true (bf_manifest_valid_param_value ("-3"));
    assert_true (bf_manifest_valid_param_value ("8'hff"));
    assert_true (bf_manifest_valid_param_value ("4'sb10_x1"));
    assert_true (bf_manifest_valid_param_value ("\"rom.hex\""));
    assert_false (bf_manifest_valid_param_value (""));
    assert_false (bf_manifest_valid_param_value ("8'"));
    assert_false (bf_manifest_valid_param_value ("1; shell"));
    assert_false (bf_manifest_valid_param_value ("\"a\" b\""));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (key__is_stable_and_hex),
        cmocka_unit_test (key__changes_with_every_input),
        cmocka_unit_test (key__changes_with_toolchain),
        cmocka_unit_test (key__changes_with_salt_only_when_set),
        cmocka_unit_test (key__ignores_flag_order),
        cmocka_unit_test (key__includes_the_pcf_path),
        cmocka_unit_test (manifest__refuses_names_yosys_rewrites),
        cmocka_unit_test (manifest__refuses_a_file_that_is_also_a_directory),
        cmocka_unit_test (manifest__rejects_bad_names),
        cmocka_unit_test (manifest__param_values),
    };
    return cmocka_run_group_tests_name ("key", tests, NULL, NULL);
}
