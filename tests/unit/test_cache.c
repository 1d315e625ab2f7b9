/*  Unit tests for the cache store (src/cache/bf_cache.c) on real files in
    a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/cache/bf_cache.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_util.h"
#include <sqlite3.h>

typedef struct {
    char dir[64];
    bf_cache_t *cache;
} s_fix_t;

static int
s_setup (void **state)
{
    s_fix_t *f = calloc (1, sizeof *f);
    snprintf (f->dir, sizeof f->dir, "/tmp/bf-test-cache-XXXXXX");
    if (!mkdtemp (f->dir))
        return -1;
    if (bf_cache_open (&f->cache, f->dir) != BF_OK)
        return -1;
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fix_t *f = *state;
    bf_cache_destroy (&f->cache);
    bf_cache_destroy (&f->cache);   /* idempotent */
    bf_remove_tree (f->dir);
    free (f);
    return 0;
}

static void
cache_put_get__round_trips_bytes (void **state)
{
    s_fix_t *f = *state;
    const char data[] = "bitstream\0bytes";
    char digest[65];
    bf_sha256_hex (digest, data, sizeof data);
    assert_false (bf_cache_has_object (f->cache, digest));
    assert_int_equal (bf_cache_put_object (f->cache, digest, data, sizeof data), BF_OK);
    assert_int_equal (bf_cache_put_object (f->cache, digest, data, sizeof data), BF_OK);
    assert_true (bf_cache_has_object (f->cache, digest));
    char *out = NULL;
    size_t len = 0;
    assert_int_equal (bf_cache_get_object (f->cache, &out, &len, digest), BF_OK);
    assert_int_equal (len, sizeof data);
    assert_memory_equal (out, data, sizeof data);
    free (out);
    /* the file is where the layout says */
    char *path = xasprintf ("%s/objects/%.2s/%s", f->dir, digest, digest);
    assert_int_equal (access (path, F_OK), 0);
    free (path);
}

static void
cache_put__rejects_wrong_digest (void **state)
{
    s_fix_t *f = *state;
    char digest[65];
    bf_sha256_hex (digest, "other", 5);
    assert_int_equal (bf_cache_put_object (f->cache, digest, "data", 4), BF_ECORRUPT);
    assert_false (bf_cache_has_object (f->cache, digest));
    assert_int_equal (bf_cache_put_object (f->cache, "../../etc/passwd", "data", 4), BF_EINVAL);
}

static void
cache_get__detects_corrupted_blob (void **state)
{
    s_fix_t *f = *state;
    const char data[] = "0123456789abcdef";
    char digest[65];
    bf_sha256_hex (digest, data, 16);
    assert_int_equal (bf_cache_put_object (f->cache, digest, data, 16), BF_OK);
    char *path = xasprintf ("%s/objects/%.2s/%s", f->dir, digest, digest);
    FILE *fp = fopen (path, "r+b");
    assert_non_null (fp);
    fseek (fp, 3, SEEK_SET);
    fputc ('X', fp);   /* flip a byte */
    fclose (fp);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal (bf_cache_get_object (f->cache, &out, &len, digest), BF_ENOTFOUND);
    assert_null (out);
    assert_int_equal (access (path, F_OK), -1);   /* moved to quarantine */
    assert_false (bf_cache_has_object (f->cache, digest));
    /* and it can be stored again */
    assert_int_equal (bf_cache_put_object (f->cache, digest, data, 16), BF_OK);
    assert_int_equal (bf_cache_get_object (f->cache, &out, &len, digest), BF_OK);
    free (out);
    free (path);
}

static void
cache_entry__needs_its_objects (void **state)
{
    s_fix_t *f = *state;
    char key[65], bit[65];
    bf_sha256_hex (key, "key", 3);
    bf_sha256_hex (bit, "bits", 4);
    json_t *entry = json_pack ("{s:s, s:s, s:s, s:s, s:{}}", "action", key, "toolchain", key,
                               "outcome", "succeeded", "bitstream", bit, "manifest");
    assert_int_equal (bf_cache_put_entry (f->cache, key, entry), BF_EINVAL);
    assert_int_equal (bf_cache_put_object (f->cache, bit, "bits", 4), BF_OK);
    assert_int_equal (bf_cache_put_entry (f->cache, key, entry), BF_OK);
    assert_int_equal (bf_cache_put_entry (f->cache, key, entry), BF_OK);   /* first wins */
    json_t *got = NULL;
    assert_int_equal (bf_cache_get_entry (f->cache, &got, key), BF_OK);
    assert_string_equal (json_string_value (json_object_get (got, "bitstream")), bit);
    assert_string_equal (json_string_value (json_object_get (got, "outcome")), "succeeded");
    json_decref (got);
    /* losing the object makes the entry a miss */
    char *path = xasprintf ("%s/objects/%.2s/%s", f->dir, bit, bit);
    unlink (path);
    free (path);
    assert_int_equal (bf_cache_get_entry (f->cache, &got, key), BF_ENOTFOUND);
    json_decref (entry);
}

static void
cache_open__refuses_newer_schema (void **state)
{
    s_fix_t *f = *state;
    bf_cache_destroy (&f->cache);
    char *db = xasprintf ("%s/index.db", f->dir);
    sqlite3 *h = NULL;
    assert_int_equal (sqlite3_open (db, &h), SQLITE_OK);
    assert_int_equal (sqlite3_exec (h, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close (h);
    assert_int_equal (bf_cache_open (&f->cache, f->dir), BF_EIO);
    assert_non_null (strstr (bf_error_last (), "newer than this bitfarm"));
    assert_null (f->cache);
    free (db);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (cache_put_get__round_trips_bytes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (cache_put__rejects_wrong_digest, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (cache_get__detects_corrupted_blob, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (cache_entry__needs_its_objects, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (cache_open__refuses_newer_schema, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name ("cache", tests, NULL, NULL);
}
