/*  Unit tests for the project file (src/client/bf_project.c) and the JUnit
    report (src/client/bf_junit.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/client/bf_junit.h"
#include "../../src/client/bf_project.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_util.h"

static char s_dir[] = "/tmp/bf-test-project.XXXXXX";

static int
s_setup (void **state)
{
    (void) state;
    assert_non_null (mkdtemp (s_dir));
    return 0;
}

static int
s_teardown (void **state)
{
    (void) state;
    char *cmd = xasprintf ("rm -rf '%s'", s_dir);
    assert_int_equal (system (cmd), 0);
    free (cmd);
    return 0;
}

/*  Writes text to DIR/bitfarm.ini and loads it: the code, *out. */
static int
s_load (bf_project_t **out, const char *text)
{
    char *path = xasprintf ("%s/bitfarm.ini", s_dir);
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs (text, f);
    fclose (f);
    int rc = bf_project_load (out, path, "bitfarm.ini");
    free (path);
    return rc;
}

static void
project__reads_targets_in_order_with_lines (void **state)
{
    (void) state;
    bf_project_t *p = NULL;
    assert_int_equal (s_load (&p, "; a comment\n"
                                  "[a]\n"
                                  "top = top   ; inline\n"
                                  "sources = rtl/*.v\n"
                                  "sources = more.v\n"
                                  "\n"
                                  "[b-2.x]\n"
                                  "synth-opt = -dffe_min_ce_use 4\n"
                                  "define : W=8\n"), BF_OK);
    assert_int_equal (bf_project_ntargets (p), 2);
    const bf_project_target_t *a = bf_project_target_at (p, 0);
    assert_string_equal (a->name, "a");
    assert_int_equal (a->nentries, 3);
    assert_string_equal (a->entries[0].key, "top");
    assert_string_equal (a->entries[0].value, "top");
    assert_int_equal (a->entries[0].line, 3);
    assert_string_equal (a->entries[2].value, "more.v");
    assert_int_equal (a->entries[2].line, 5);
    const bf_project_target_t *b = bf_project_target (p, "b-2.x");
    assert_non_null (b);
    assert_string_equal (b->entries[0].value, "-dffe_min_ce_use 4");
    assert_string_equal (b->entries[1].key, "define");
    assert_string_equal (b->entries[1].value, "W=8");
    assert_ptr_equal (bf_project_default (p), a);   /* no [bitfarm]: the first */
    assert_null (bf_project_target (p, "c"));
    char *real = realpath (s_dir, NULL);
    assert_string_equal (bf_project_dir (p), real);
    free (real);
    bf_project_destroy (&p);
    bf_project_destroy (&p);   /* idempotent */
    assert_null (p);

    assert_int_equal (s_load (&p, "[x]\ntop = t\n[bitfarm]\ndefault = y\n[y]\ntop = u\n"), BF_OK);
    assert_string_equal (bf_project_default (p)->name, "y");
    bf_project_destroy (&p);
}

static void
project__refuses_with_file_and_line (void **state)
{
    (void) state;
    static const struct { const char *text, *error; } cases[] = {
        { "[blinky]\ntop = a\nsede = 1\n", "bitfarm.ini:3: unknown key 'sede' in [blinky]" },
        { "top = a\n", "bitfarm.ini:1: key 'top' outside a section (start with [TARGET])" },
        { "[a b]\ntop = a\n", "bitfarm.ini:2: unknown section '[a b]' (a target's name is "
          "letters, digits, '_', '.' and '-'; settings go in [bitfarm])" },
        { "[-a]\ntop = a\n", NULL },
        { "[a]\ntop = a\ntop = b\n", "bitfarm.ini:3: 'top' given twice in [a] (first at line 2)" },
        { "[a]\ntop =\n", "bitfarm.ini:2: empty value for 'top' in [a]" },
        { "[a]\njunk\n", "bitfarm.ini:2: syntax error (want [TARGET], KEY = VALUE or a ; "
          "comment)" },
        { "[bitfarm]\nseed = 1\n", "bitfarm.ini:2: unknown key 'seed' in [bitfarm] (known: "
          "default)" },
        { "[bitfarm]\ndefault = z\n[a]\ntop = a\n", "bitfarm.ini:2: default target 'z' is not "
          "defined" },
        { "[a]\ntop = a\nsede = 1\nalso = 2\n", "bitfarm.ini:3: unknown key 'sede' in [a]" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bf_project_t *p = NULL;
        assert_int_equal (s_load (&p, cases[i].text), BF_EINVAL);
        assert_null (p);
        if (cases[i].error)
            assert_string_equal (bf_error_last (), cases[i].error);
    }
    char *big = xcalloc (1, 400);
    memcpy (big, "[a]\ntop = ", 10);
    memset (big + 10, 'x', 300);
    bf_project_t *p = NULL;
    assert_int_equal (s_load (&p, big), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "bitfarm.ini:2: line too long"));
    free (big);
}

static void
project__found_upward (void **state)
{
    (void) state;
    char *sub = xasprintf ("%s/a/b", s_dir);
    assert_int_equal (bf_mkdir_p (sub, 0755), BF_OK);
    bf_project_t *p = NULL;
    assert_int_equal (s_load (&p, "[a]\ntop = t\n"), BF_OK);
    bf_project_destroy (&p);
    char *found = NULL;
    assert_int_equal (bf_project_find (&found, sub), BF_OK);
    char *real = realpath (s_dir, NULL);
    char *want = xasprintf ("%s/bitfarm.ini", real);
    assert_string_equal (found, want);
    free (found);
    free (want);
    free (real);
    free (sub);
    assert_int_equal (bf_project_find (&found, "/proc/self"), BF_ENOTFOUND);
}

static void
junit__escapes_hostile_text (void **state)
{
    (void) state;
    json_t *job = json_pack ("{s:s, s:s, s:s, s:b, s:s, s:s}", "id", "0123456789abcdef",
                             "state", "failed", "failure_class", "design", "cache_hit", 0,
                             "submitted_at", "2026-12-01T14:00:00.000Z", "finished_at",
                             "2026-12-01T14:00:02.500Z");
    static const char err[] = "a <b> & \"c\" \x1b[31m\xff end\nnext";
    json_object_set_new (job, "error", json_stringn_nocheck (err, sizeof err - 1));
    bf_junit_case_t cases[] = {
        { "t&1", job, 1, NULL, bf_junit_job_seconds (job) },
        { "t2", NULL, 3, "broker unreachable", 0 },
    };
    assert_true (cases[0].seconds > 2.49 && cases[0].seconds < 2.51);
    char *path = xasprintf ("%s/junit.xml", s_dir);
    assert_int_equal (bf_junit_write (path, "suite", cases, 2), BF_OK);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal (bf_file_read (&text, &len, path, 1 << 20), BF_OK);
    assert_non_null (strstr (text, "<testcase name=\"t&amp;1\""));
    assert_non_null (strstr (text, "tests=\"2\" failures=\"1\" errors=\"1\""));
    assert_non_null (strstr (text, "<failure type=\"design\" message=\"a &lt;b&gt; &amp; "
                                   "&quot;c&quot; \\x1b[31m\\xff end\">"));
    assert_non_null (strstr (text, "<error type=\"infrastructure\" message=\"broker "
                                   "unreachable\">"));
    assert_non_null (strstr (text, "time=\"2.500\""));
    assert_null (strchr (text, '\x1b'));
    assert_null (strchr (text, '\xff'));
    assert_true (bf_junit_job_seconds (NULL) < 0);
    free (text);
    free (path);
    json_decref (job);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (project__reads_targets_in_order_with_lines),
        cmocka_unit_test (project__refuses_with_file_and_line),
        cmocka_unit_test (project__found_upward),
        cmocka_unit_test (junit__escapes_hostile_text),
    };
    return cmocka_run_group_tests_name ("project", tests, s_setup, s_teardown);
}
