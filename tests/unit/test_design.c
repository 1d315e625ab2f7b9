/*  Unit tests for turning a user's tree into a manifest
    (src/client/bf_design.c): the action digest must not depend on where
    the checkout lives or on file times, and must follow content. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include "../../src/cache/bf_key.h"
#include "../../src/client/bf_design.h"
#include "../../src/client/bf_design_scan.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_util.h"

static void
s_write (const char *root, const char *rel, const char *text)
{
    char *path = xasprintf ("%s/%s", root, rel);
    char *dir = xstrdup (path);
    *strrchr (dir, '/') = '\0';
    assert_int_equal (bf_mkdir_p (dir, 0755), BF_OK);
    assert_int_equal (bf_file_write_atomic (path, text, strlen (text), 0644), BF_OK);
    free (dir);
    free (path);
}

static void
s_tree (const char *root, const char *rom)
{
    s_write (root, "rtl/top.v", "module top(output x); rom r(); assign x = 1; endmodule\n");
    s_write (root, "rtl/rom.v", "module rom; reg [7:0] m [0:3];\n"
                                "initial $readmemh(\"rtl/mem/rom.hex\", m); endmodule\n");
    s_write (root, "rtl/mem/rom.hex", rom);
    s_write (root, "pins.pcf", "set_io x 1\n");
}

/*  The action digest of the tree at root, built from inside it. */
static void
s_action (char *out, const char *root, const char *const *files, int n, const char **defines,
          int ndefines)
{
    char old[PATH_MAX];
    assert_non_null (getcwd (old, sizeof old));
    assert_int_equal (chdir (root), 0);
    bf_design_opts_t o = { .files = (const char **) files, .nfiles = n, .pcf = "pins.pcf",
                           .top = "top", .device = "up5k", .package = "sg48",
                           .defines = defines, .ndefines = ndefines, .seed = -1 };
    bf_design_t *d = NULL;
    assert_int_equal (bf_design_new (&d, &o), BF_OK);
    assert_int_equal (bf_key_action (out, bf_design_manifest (d)), BF_OK);
    /* the $readmemh file was found and added as data */
    const bf_manifest_files_t *data = &bf_design_manifest (d)->data;
    assert_int_equal (data->n, 1);
    assert_string_equal (data->items[0].path, "rtl/mem/rom.hex");
    bf_design_destroy (&d);
    assert_int_equal (chdir (old), 0);
}

static void
design__key_ignores_location_and_times (void **state)
{
    (void) state;
    char a[] = "/tmp/bf-test-design-a-XXXXXX", b[] = "/tmp/bf-test-design-b-XXXXXX";
    assert_non_null (mkdtemp (a));
    assert_non_null (mkdtemp (b));
    char *bsub = xasprintf ("%s/deeper/checkout", b);
    s_tree (a, "00\n11\n");
    s_tree (bsub, "00\n11\n");
    const char *files[] = { "rtl/rom.v", "rtl/top.v" };
    const char *defs1[] = { "A=1", "B=2" }, *defs2[] = { "B=2", "A=1" };
    char ka[65], kb[65], kc[65];
    s_action (ka, a, files, 2, defs1, 2);
    s_action (kb, bsub, files, 2, defs2, 2);
    assert_string_equal (ka, kb);          /* moved checkout, reordered -D */
    char *p = xasprintf ("%s/rtl/top.v", a);
    struct utimbuf t = { 1000000, 1000000 };
    assert_int_equal (utime (p, &t), 0);
    s_action (kc, a, files, 2, defs1, 2);
    assert_string_equal (ka, kc);          /* touched */
    free (p);
    s_write (a, "rtl/mem/rom.hex", "00\n12\n");
    s_action (kc, a, files, 2, defs1, 2);
    assert_string_not_equal (ka, kc);      /* data content */
    const char *swapped[] = { "rtl/top.v", "rtl/rom.v" };
    s_action (kc, bsub, swapped, 2, defs1, 2);
    assert_string_not_equal (ka, kc);      /* source order */
    const char *defs3[] = { "A=1", "B=3" };
    s_action (kc, bsub, files, 2, defs3, 2);
    assert_string_not_equal (ka, kc);      /* a define */
    bf_remove_tree (a);
    bf_remove_tree (b);
    free (bsub);
}

static void
design__finds_named_files_inside_the_tree_only (void **state)
{
    (void) state;
    char a[] = "/tmp/bf-test-design-c-XXXXXX";
    assert_non_null (mkdtemp (a));
    char *outside = xasprintf ("%s-secret.hex", a);
    assert_int_equal (bf_file_write_atomic (outside, "ff\n", 3, 0644), BF_OK);
    char *text = xasprintf ("module top #(parameter INIT_FILE = \"fw/firmware.hex\") ();\n"
                            "// \"../%s\" is outside the tree\n"
                            "initial $display(\"%%d\", 1);\nendmodule\n", strrchr (outside, '/') + 1);
    s_write (a, "rtl/top.v", text);
    s_write (a, "fw/firmware.hex", "00\n");
    char old[PATH_MAX];
    assert_non_null (getcwd (old, sizeof old));
    assert_int_equal (chdir (a), 0);
    const char *files[] = { "rtl/top.v" };
    bf_design_opts_t o = { .files = files, .nfiles = 1, .top = "top", .device = "up5k",
                           .package = "sg48", .seed = -1 };
    bf_design_t *d = NULL;
    assert_int_equal (bf_design_new (&d, &o), BF_OK);
    const bf_manifest_files_t *data = &bf_design_manifest (d)->data;
    assert_int_equal (data->n, 1);
    assert_string_equal (data->items[0].path, "fw/firmware.hex");
    bf_design_destroy (&d);
    assert_int_equal (chdir (old), 0);
    unlink (outside);
    free (outside);
    free (text);
    bf_remove_tree (a);
}

static void
design__missing_file_is_named (void **state)
{
    (void) state;
    const char *files[] = { "/nonexistent/top.v" };
    bf_design_opts_t o = { .files = files, .nfiles = 1, .top = "top", .device = "up5k",
                           .package = "sg48", .seed = -1 };
    bf_design_t *d = NULL;
    assert_int_equal (bf_design_new (&d, &o), BF_ENOTFOUND);
    assert_non_null (strstr (bf_error_last (), "'/nonexistent/top.v'"));
    assert_null (d);
}

/*  bf_design_scan: what it reports, as "KIND IDENT VALUE" lines. */
static void
s_collect (void *arg, bf_scan_kind_t kind, const char *ident, const char *value)
{
    static const char *kinds[] = { "include", "readmem", "use", "assign" };
    char *buf = arg;
    size_t n = strlen (buf);
    snprintf (buf + n, 2048 - n, "%s %s %s\n", kinds[kind], ident ? ident : "-",
              value ? value : "-");
}

static void
design__scan_reports_only_what_the_text_uses (void **state)
{
    (void) state;
    const char *text =
        "// `include \"c1.vh\" $readmemh(\"c2.hex\", m) INIT_FILE = \"c3.hex\"\n"
        "/* `include \"c4.vh\"\n   $readmemb(\"c5.bin\", m); */\n"
        "`include \"defs.vh\"\n"
        "`define FW_FILE \"fw.hex\"\n"
        "module top #(parameter INIT_FILE = \"init.hex\", MEM = \"m.hex\") ();\n"
        "  initial $display(\"../.ssh/id_ed25519\");\n"
        "  initial $readmemh(\"rom.hex\", m);\n"
        "  initial $readmemb(MEM, m);\n"
        "  initial $readmemh(`FW_FILE, m);\n"
        "  initial if (s == \"eq.hex\") ;\n"
        "  initial $readmemh(\"a\\\"b.hex\", m);\n"   /* an escape: not a file name */
        "  sub #(.HEXFILE(\"sub.hex\")) u ();\n"
        "  defparam u.DATA = \"dp.hex\";\n"
        "endmodule\n";
    char got[2048] = "";
    bf_design_scan (text, strlen (text), s_collect, got);
    assert_string_equal (got,
                         "include - defs.vh\n"
                         "assign FW_FILE fw.hex\n"
                         "assign INIT_FILE init.hex\n"
                         "assign MEM m.hex\n"
                         "readmem - rom.hex\n"
                         "use MEM -\n"
                         "use FW_FILE -\n"
                         "assign HEXFILE sub.hex\n"
                         "assign DATA dp.hex\n");
    assert_true (bf_design_scan_file_name ("INIT_FILE"));
    assert_true (bf_design_scan_file_name ("memfile"));
    assert_false (bf_design_scan_file_name ("DATA"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (design__key_ignores_location_and_times),
        cmocka_unit_test (design__finds_named_files_inside_the_tree_only),
        cmocka_unit_test (design__missing_file_is_named),
        cmocka_unit_test (design__scan_reports_only_what_the_text_uses),
    };
    return cmocka_run_group_tests_name ("design", tests, NULL, NULL);
}
