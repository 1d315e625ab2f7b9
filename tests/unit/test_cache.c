/*  Unit tests for the cache (src/cache/bf_cache*.c, bf_store.c) on real
    files in a temporary directory, and the entry codec. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

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
    if (bf_cache_open (&f->cache, f->dir, NULL) != BF_OK)
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
    assert_int_equal (bf_cache_get_entry (f->cache, &got, key, false), BF_OK);
    assert_string_equal (json_string_value (json_object_get (got, "bitstream")), bit);
    assert_string_equal (json_string_value (json_object_get (got, "outcome")), "succeeded");
    json_decref (got);
    /* losing the object makes the entry a miss */
    char *path = xasprintf ("%s/objects/%.2s/%s", f->dir, bit, bit);
    unlink (path);
    free (path);
    assert_int_equal (bf_cache_get_entry (f->cache, &got, key, false), BF_ENOTFOUND);
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
    assert_int_equal (bf_cache_open (&f->cache, f->dir, NULL), BF_EIO);
    assert_non_null (strstr (bf_error_last (), "newer than this bitfarm"));
    assert_null (f->cache);
    free (db);
}

/*  Stores an object of `len` bytes of `fill` and returns its digest. */
static void
s_put (s_fix_t *f, char digest[65], int fill, size_t len)
{
    char *data = malloc (len);
    memset (data, fill, len);
    bf_sha256_hex (digest, data, len);
    assert_int_equal (bf_cache_put_object (f->cache, digest, data, len), BF_OK);
    free (data);
}

static void
s_entry (s_fix_t *f, char key[65], const char *seed, const char *bit, const char *tc)
{
    bf_sha256_hex (key, seed, strlen (seed));
    json_t *entry = json_pack ("{s:s, s:s, s:s, s:s, s:{s:s}}", "action", key, "toolchain", tc,
                               "outcome", "succeeded", "bitstream", bit, "manifest", "top", seed);
    assert_int_equal (bf_cache_put_entry (f->cache, key, entry), BF_OK);
    json_decref (entry);
}

static int64_t
s_stat (s_fix_t *f, const char *name)
{
    json_t *st = bf_cache_stats (f->cache);
    assert_non_null (st);
    int64_t v = json_integer_value (json_object_get (st, name));
    json_decref (st);
    return v;
}

static void
cache_get__truncated_entry_object_is_a_counted_miss (void **state)
{
    s_fix_t *f = *state;
    char bit[65], key[65];
    s_put (f, bit, 'b', 1000);
    s_entry (f, key, "design", bit, "tc");
    char *path = xasprintf ("%s/objects/%.2s/%s", f->dir, bit, bit);
    assert_int_equal (truncate (path, 999), 0);
    json_t *got = NULL;
    assert_int_equal (bf_cache_get_entry (f->cache, &got, key, false), BF_ENOTFOUND);
    assert_null (got);
    assert_non_null (strstr (bf_error_last (), "999 bytes, not 1000"));
    assert_int_equal (access (path, F_OK), -1);
    /* counted, under the entry's toolchain, and the entry is gone */
    assert_int_equal (s_stat (f, "corruptions"), 1);
    assert_int_equal (s_stat (f, "quarantined"), 1);
    assert_int_equal (s_stat (f, "entries"), 0);
    /* a rebuild stores it again */
    s_put (f, bit, 'b', 1000);
    s_entry (f, key, "design", bit, "tc");
    assert_int_equal (bf_cache_get_entry (f->cache, &got, key, false), BF_OK);
    json_decref (got);
    free (path);
}

static void
cache_stats__counts_hits_and_misses_in_batches (void **state)
{
    s_fix_t *f = *state;
    char bit[65], key[65];
    s_put (f, bit, 'x', 10);
    s_entry (f, key, "d", bit, "tcA");
    bf_cache_count (f->cache, key, "tcA", true);
    bf_cache_count (f->cache, key, "tcA", true);
    bf_cache_count (f->cache, key, "tcA", true);
    bf_cache_count (f->cache, NULL, "tcA", false);
    json_t *st = bf_cache_stats (f->cache);
    assert_int_equal (json_integer_value (json_object_get (st, "hits")), 3);
    assert_int_equal (json_integer_value (json_object_get (st, "misses")), 1);
    assert_true (json_real_value (json_object_get (st, "hit_rate")) == 0.75);
    json_t *tc = json_array_get (json_object_get (st, "toolchains"), 0);
    assert_string_equal (json_string_value (json_object_get (tc, "toolchain")), "tcA");
    assert_int_equal (json_integer_value (json_object_get (tc, "entries")), 1);
    assert_int_equal (json_integer_value (json_object_get (tc, "bytes")), 10);
    json_decref (st);
    json_t *got = NULL;
    assert_int_equal (bf_cache_get_entry (f->cache, &got, key, true), BF_OK);
    assert_int_equal (json_integer_value (json_object_get (got, "hits")), 3);
    json_decref (got);
}

/*  Each hit adds its entry's build time to what the cache saved, under
    the entry's toolchain; an entry with no build time saves nothing. */
static void
cache_stats__sums_the_build_time_hits_saved (void **state)
{
    s_fix_t *f = *state;
    char bit[65], key[65], old[65];
    s_put (f, bit, 'x', 10);
    bf_sha256_hex (key, "timed", 5);
    json_t *entry = json_pack ("{s:s, s:s, s:s, s:s, s:I, s:{s:s}}", "action", key, "toolchain",
                               "tcA", "outcome", "succeeded", "bitstream", bit, "build_ms",
                               (json_int_t) 1500, "manifest", "top", "timed");
    assert_int_equal (bf_cache_put_entry (f->cache, key, entry), BF_OK);
    json_decref (entry);
    s_entry (f, old, "untimed", bit, "tcA");
    bf_cache_count (f->cache, key, "tcA", true);
    bf_cache_count (f->cache, key, "tcA", true);
    bf_cache_count (f->cache, old, "tcA", true);
    bf_cache_count (f->cache, NULL, "tcA", false);
    assert_int_equal (s_stat (f, "saved_ms"), 3000);
    bf_cache_count (f->cache, key, "tcA", true);   /* a second batch adds to the first */
    json_t *st = bf_cache_stats (f->cache);
    assert_int_equal (json_integer_value (json_object_get (st, "saved_ms")), 4500);
    json_t *tc = json_array_get (json_object_get (st, "toolchains"), 0);
    assert_int_equal (json_integer_value (json_object_get (tc, "saved_ms")), 4500);
    json_decref (st);
    json_t *got = NULL;
    assert_int_equal (bf_cache_get_entry (f->cache, &got, key, true), BF_OK);
    assert_int_equal (json_integer_value (json_object_get (got, "build_ms")), 1500);
    json_decref (got);
    json_t *keys = json_pack ("[s, s]", old, "nosuch");
    json_t *ls = bf_cache_list_keys (f->cache, 10, keys);
    json_decref (keys);
    assert_int_equal (json_array_size (ls), 1);
    assert_string_equal (json_string_value (json_object_get (json_array_get (ls, 0), "key")), old);
    json_decref (ls);
}

static void
cache_evict__lru_under_cap_spares_pins (void **state)
{
    s_fix_t *f = *state;
    bf_cache_destroy (&f->cache);
    bf_cache_opts_t opts = { .max_size = 10000 };
    assert_int_equal (bf_cache_open (&f->cache, f->dir, &opts), BF_OK);
    char d[6][65], key[65];
    for (int i = 0; i < 6; i++) {
        s_put (f, d[i], 'a' + i, 2000);   /* 12000 bytes, over the cap */
        usleep (2000);
    }
    s_entry (f, key, "oldest", d[0], "tc");
    /* the oldest object is referenced by a pinned entry, the next by a pin */
    json_t *pins = json_pack ("[s]", d[1]), *none = json_array ();
    assert_int_equal (bf_cache_pin (f->cache, "job1", none, key, NULL), BF_OK);
    json_decref (none);
    assert_int_equal (bf_cache_pin (f->cache, "job2", pins, NULL, NULL), BF_OK);
    json_decref (pins);
    /* touch d[5] later than the others: it survives */
    char *out = NULL;
    assert_int_equal (bf_cache_get_object (f->cache, &out, NULL, d[2]), BF_OK);
    free (out);
    int64_t evicted = 0;
    assert_int_equal (bf_cache_maintain (f->cache, &evicted), BF_OK);
    int64_t bytes;
    bf_cache_usage (f->cache, &bytes, NULL);
    assert_true (bytes <= 8000);
    assert_true (bf_cache_has_object (f->cache, d[0]));
    assert_true (bf_cache_has_object (f->cache, d[1]));
    assert_true (bf_cache_has_object (f->cache, d[2]));   /* recently used */
    assert_false (bf_cache_has_object (f->cache, d[3]));  /* least recently used */
    assert_int_equal (evicted, 2);
    /* unpinned, the entry can go */
    assert_int_equal (bf_cache_unpin (f->cache, "job1"), BF_OK);
    json_t *report = NULL;
    assert_int_equal (bf_cache_evict (f->cache, 0, 0, &report), BF_OK);
    assert_int_equal (json_integer_value (json_object_get (report, "entries")), 1);
    json_decref (report);
    assert_true (bf_cache_has_object (f->cache, d[1]));   /* still pinned by job2 */
    assert_int_equal (s_stat (f, "evictions"), 1);
    assert_int_equal (s_stat (f, "max_size"), 10000);
}

static void
cache_pin__is_all_or_nothing (void **state)
{
    s_fix_t *f = *state;
    char a[65], b[65];
    s_put (f, a, 'a', 5);
    bf_sha256_hex (b, "absent", 6);
    json_t *want = json_pack ("[s, s]", a, b), *missing = NULL;
    assert_int_equal (bf_cache_pin (f->cache, "j", want, NULL, &missing), BF_ENOTFOUND);
    assert_int_equal (json_array_size (missing), 1);
    assert_string_equal (json_string_value (json_array_get (missing, 0)), b);
    json_t *owners = bf_cache_pin_owners (f->cache);
    assert_int_equal (json_array_size (owners), 0);
    json_decref (owners);
    json_decref (missing);
    json_decref (want);
}

static void
cache_gc__removes_orphans_dangling_rows_and_old_temps (void **state)
{
    s_fix_t *f = *state;
    char a[65], b[65], key[65];
    s_put (f, a, 'a', 100);
    s_put (f, b, 'b', 100);
    s_entry (f, key, "k", b, "tc");
    /* an orphan file (no row), an old temp file, a fresh temp file, and a
       row whose file is gone */
    char c[65];
    bf_sha256_hex (c, "orphan", 6);
    char *dir = xasprintf ("%s/objects/%.2s", f->dir, c);
    assert_int_equal (bf_mkdir_p (dir, 0755), BF_OK);
    char *orphan = xasprintf ("%s/%s", dir, c);
    assert_int_equal (bf_file_write_atomic (orphan, "orphan", 6, 0644), BF_OK);
    char *old = xasprintf ("%s/%s.tmp-0000", dir, c);
    char *fresh = xasprintf ("%s/%s.tmp-1111", dir, c);
    assert_int_equal (bf_file_write_atomic (old, "x", 1, 0644), BF_OK);
    assert_int_equal (bf_file_write_atomic (fresh, "y", 1, 0644), BF_OK);
    struct timespec times[2] = { { time (NULL) - 7200, 0 }, { time (NULL) - 7200, 0 } };
    assert_int_equal (utimensat (AT_FDCWD, old, times, 0), 0);
    char *bpath = xasprintf ("%s/objects/%.2s/%s", f->dir, b, b);
    unlink (bpath);
    json_t *report = NULL;
    assert_int_equal (bf_cache_gc (f->cache, BF_CACHE_TEMP_AGE_MS, &report), BF_OK);
    assert_int_equal (json_integer_value (json_object_get (report, "orphan_files")), 1);
    assert_int_equal (json_integer_value (json_object_get (report, "temp_files")), 1);
    assert_int_equal (json_integer_value (json_object_get (report, "missing_files")), 1);
    assert_int_equal (json_integer_value (json_object_get (report, "dangling_entries")), 1);
    json_decref (report);
    assert_int_equal (access (orphan, F_OK), -1);
    assert_int_equal (access (old, F_OK), -1);
    assert_int_equal (access (fresh, F_OK), 0);
    assert_true (bf_cache_has_object (f->cache, a));
    assert_int_equal (s_stat (f, "entries"), 0);
    assert_int_equal (s_stat (f, "objects"), 1);
    free (dir); free (orphan); free (old); free (fresh); free (bpath);
}

/*  Issue 15: an upload no job took is collected by gc once the grace
    period has passed; objects that a pin, an entry or an entry's manifest
    refers to stay, and so do young ones. */
static void
cache_gc__collects_unreferenced_objects_after_grace (void **state)
{
    s_fix_t *f = *state;
    char stray[65], bit[65], input[65], pcf[65], pinned[65], key[65];
    s_put (f, stray, 's', 100);
    s_put (f, bit, 'b', 100);
    s_put (f, input, 'i', 100);
    s_put (f, pcf, 'p', 10);
    s_put (f, pinned, 'n', 100);
    json_t *entry = json_pack ("{s:s, s:s, s:s, s:s, s:{s:s, s:[{s:s, s:s, s:i}], s:{s:s, s:s}}}",
                               "action", bit, "toolchain", "tc", "outcome", "succeeded",
                               "bitstream", bit, "manifest", "top", "t", "sources", "path",
                               "a.v", "sha256", input, "size", 100, "pcf", "path", "p.pcf",
                               "sha256", pcf);
    bf_sha256_hex (key, "k", 1);
    assert_int_equal (bf_cache_put_entry (f->cache, key, entry), BF_OK);
    json_decref (entry);
    json_t *pins = json_pack ("[s]", pinned);
    assert_int_equal (bf_cache_pin (f->cache, "job1", pins, NULL, NULL), BF_OK);
    json_decref (pins);
    json_t *report = NULL;
    /* within the grace period: nothing goes */
    assert_int_equal (bf_cache_gc (f->cache, BF_CACHE_TEMP_AGE_MS, &report), BF_OK);
    assert_int_equal (json_integer_value (json_object_get (report, "unreferenced_objects")), 0);
    json_decref (report);
    assert_true (bf_cache_has_object (f->cache, stray));
    usleep (20 * 1000);
    assert_int_equal (bf_cache_gc (f->cache, 10, &report), BF_OK);
    assert_int_equal (json_integer_value (json_object_get (report, "unreferenced_objects")), 1);
    json_decref (report);
    assert_false (bf_cache_has_object (f->cache, stray));
    assert_true (bf_cache_has_object (f->cache, bit));
    assert_true (bf_cache_has_object (f->cache, input));
    assert_true (bf_cache_has_object (f->cache, pcf));
    assert_true (bf_cache_has_object (f->cache, pinned));
    /* one at a time, with no grace: only when nothing refers to it */
    bool dropped = true;
    assert_int_equal (bf_cache_drop_unreferenced (f->cache, pinned, &dropped), BF_OK);
    assert_false (dropped);
    assert_int_equal (bf_cache_unpin (f->cache, "job1"), BF_OK);
    assert_int_equal (bf_cache_drop_unreferenced (f->cache, pinned, &dropped), BF_OK);
    assert_true (dropped);
    assert_false (bf_cache_has_object (f->cache, pinned));
    assert_int_equal (bf_cache_object_size (f->cache, input), 100);
    assert_int_equal (bf_cache_object_size (f->cache, pinned), -1);
}

static void
cache_verify__finds_a_flipped_bit (void **state)
{
    s_fix_t *f = *state;
    char a[65], b[65];
    s_put (f, a, 'a', 4096);
    s_put (f, b, 'b', 4096);
    char *path = xasprintf ("%s/objects/%.2s/%s", f->dir, b, b);
    FILE *fp = fopen (path, "r+b");
    fseek (fp, 100, SEEK_SET);
    fputc ('b' ^ 1, fp);
    fclose (fp);
    json_t *report = NULL;
    assert_int_equal (bf_cache_verify (f->cache, &report), BF_OK);
    assert_int_equal (json_integer_value (json_object_get (report, "objects")), 2);
    assert_int_equal (json_array_size (json_object_get (report, "corrupt")), 1);
    assert_string_equal (json_string_value (json_array_get (json_object_get (report, "corrupt"), 0)), b);
    json_decref (report);
    assert_false (bf_cache_has_object (f->cache, b));
    assert_true (bf_cache_has_object (f->cache, a));
    free (path);
}

static void
cache_invalidate__disowns_a_toolchain (void **state)
{
    s_fix_t *f = *state;
    char bit[65], k1[65], k2[65];
    const char *bad = "badbadbadbad0000000000000000000000000000000000000000000000000000";
    const char *good = "600d600d00000000000000000000000000000000000000000000000000000000";
    s_put (f, bit, 'z', 10);
    s_entry (f, k1, "one", bit, bad);
    s_entry (f, k2, "two", bit, good);
    json_t *report = NULL;
    assert_int_equal (bf_cache_invalidate (f->cache, "xyz", &report), BF_EINVAL);
    assert_int_equal (bf_cache_invalidate (f->cache, "badbadba", &report), BF_OK);
    assert_string_equal (json_string_value (json_object_get (report, "toolchain")), bad);
    assert_int_equal (json_integer_value (json_object_get (report, "entries")), 1);
    json_decref (report);
    json_t *got = NULL;
    assert_int_equal (bf_cache_get_entry (f->cache, &got, k1, false), BF_ENOTFOUND);
    assert_int_equal (bf_cache_get_entry (f->cache, &got, k2, false), BF_OK);
    json_decref (got);
    /* the disowned toolchain's results are refused from now on */
    json_t *entry = json_pack ("{s:s, s:s, s:s, s:s, s:{}}", "action", k1, "toolchain", bad,
                               "outcome", "succeeded", "bitstream", bit, "manifest");
    assert_int_equal (bf_cache_put_entry (f->cache, k1, entry), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "disowned"));
    json_decref (entry);
}

/*  A small valid hx1k design, decoded. */
static void
s_manifest_hx1k (bf_manifest_t *out)
{
    json_t *m = json_pack ("{s:i, s:s, s:s, s:s, s:[{s:s, s:s, s:i}]}", "version", 1, "flow",
                           "ice40", "top", "top", "device", "hx1k", "sources", "path", "top.v",
                           "sha256", "1111111111111111111111111111111111111111111111111111111111111111",
                           "size", 1);
    assert_int_equal (bf_manifest_decode (out, m), BF_OK);
    json_decref (m);
}

static void
cache_result__wrong_size_bitstream_is_never_stored (void **state)
{
    s_fix_t *f = *state;
    bf_manifest_t manifest;
    s_manifest_hx1k (&manifest);
    char *bits = calloc (1, 32220);
    char good[65], bad[65], log[65];
    bf_sha256_hex (good, bits, 32220);
    bf_sha256_hex (bad, bits, 32219);
    bf_sha256_hex (log, "log", 3);
    json_t *result = json_pack ("{s:s, s:s}", "bitstream", bad, "log", log);
    const void *data[] = { bits, "log" };
    size_t lens[] = { 32219, 3 };
    assert_int_equal (bf_cache_put_result_objects (f->cache, &manifest, result, 2, data, lens),
                      BF_ECORRUPT);
    assert_non_null (strstr (bf_error_last (), "32219 bytes is the wrong size for hx1k (want 32220)"));
    assert_false (bf_cache_has_object (f->cache, bad));
    assert_false (bf_cache_has_object (f->cache, log));
    json_decref (result);
    /* the right size is stored, and the entry after it */
    result = json_pack ("{s:s, s:s, s:s}", "bitstream", good, "log", log, "stage", "done");
    lens[0] = 32220;
    assert_int_equal (bf_cache_put_result_objects (f->cache, &manifest, result, 2, data, lens),
                      BF_OK);
    char key[65];
    bf_sha256_hex (key, "k", 1);
    assert_int_equal (bf_cache_put_result_entry (f->cache, key, &manifest, "tc", true, result), BF_OK);
    json_t *got = NULL;
    assert_int_equal (bf_cache_get_entry (f->cache, &got, key, false), BF_OK);
    assert_string_equal (json_string_value (json_object_get (got, "bitstream")), good);
    assert_string_equal (json_string_value (json_object_get (got, "outcome")), "succeeded");
    json_decref (got);
    /* a blob short: a protocol error, nothing indexed for it */
    assert_int_equal (bf_cache_put_result_objects (f->cache, &manifest, result, 1, data, lens),
                      BF_EPROTO);
    assert_non_null (strstr (bf_error_last (), "no blob for the log"));
    json_decref (result);
    bf_manifest_release (&manifest);
    free (bits);
}

/*  A result that names only a log (a design failure): its one blob is the
    log, whatever the order of the fields; blobs past the named ones are
    ignored; the typed entry carries the failure. */
static void
cache_result__array_blobs_follow_the_named_objects (void **state)
{
    s_fix_t *f = *state;
    bf_manifest_t manifest;
    s_manifest_hx1k (&manifest);
    char log[65];
    bf_sha256_hex (log, "ERROR: syntax", 13);
    json_t *result = json_pack ("{s:s, s:s, s:s}", "log", log, "stage", "synth", "error",
                                "ERROR: syntax error");
    const void *data[] = { "ERROR: syntax", "extra" };
    size_t lens[] = { 13, 5 };
    assert_int_equal (bf_cache_put_result_objects (f->cache, &manifest, result, 2, data, lens),
                      BF_OK);
    assert_true (bf_cache_has_object (f->cache, log));
    /* no blobs at all for a result that names none: nothing to do */
    json_t *none = json_object ();
    assert_int_equal (bf_cache_put_result_objects (f->cache, &manifest, none, 0, NULL, NULL),
                      BF_OK);
    json_decref (none);
    char key[65];
    bf_sha256_hex (key, "design-failure", 14);
    assert_int_equal (bf_cache_put_result_entry (f->cache, key, &manifest, "tc", false, result),
                      BF_OK);
    bf_cache_entry_t e;
    assert_int_equal (bf_cache_lookup (f->cache, &e, key, false), BF_OK);
    assert_int_equal (e.outcome, BF_CACHE_FAILED);
    assert_string_equal (e.key, key);
    assert_string_equal (e.stage, "synth");
    assert_string_equal (e.error, "ERROR: syntax error");
    assert_string_equal (e.log, log);
    assert_null (e.bitstream);
    assert_null (e.report);
    assert_string_equal (e.toolchain, "tc");
    assert_true (e.created_at > 0);
    assert_string_equal (json_string_value (json_object_get (e.manifest, "device")), "hx1k");
    bf_cache_entry_release (&e);
    bf_cache_entry_release (&e);   /* idempotent */
    /* a miss leaves nothing to release */
    bf_sha256_hex (key, "absent", 6);
    assert_int_equal (bf_cache_lookup (f->cache, &e, key, true), BF_ENOTFOUND);
    assert_null (e.key);
    bf_cache_entry_release (&e);
    json_decref (result);
    bf_manifest_release (&manifest);
}

/*  The codec: decoding what it encodes gives the same JSON, field for field
    and in the order the index has always produced. */
static void
cache_entry__json_codec_round_trips (void **state)
{
    (void) state;
    json_t *in = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, "
                            "s:I, s:{s:s}}",
                            "key", "k", "action", "a", "toolchain", "t", "outcome", "failed",
                            "stage", "pnr", "error", "ERROR: no", "bitstream", "b", "report",
                            "r", "log", "l", "created_at", (json_int_t) 1, "hits",
                            (json_int_t) 7, "accessed_at", (json_int_t) 2, "build_ms",
                            (json_int_t) 4321, "manifest", "top", "top");
    bf_cache_entry_t e;
    assert_int_equal (bf_cache_entry_from_json (&e, in), BF_OK);
    assert_int_equal (e.outcome, BF_CACHE_FAILED);
    assert_int_equal (e.hits, 7);
    assert_int_equal (e.build_ms, 4321);
    json_t *out = bf_cache_entry_to_json (&e);
    assert_true (json_equal (in, out));
    char *a = json_dumps (in, JSON_COMPACT), *b = json_dumps (out, JSON_COMPACT);
    assert_string_equal (a, b);   /* the same order, too */
    free (a);
    free (b);
    json_decref (out);
    bf_cache_entry_release (&e);
    json_decref (in);
    /* absent optional fields stay absent; the manifest defaults to {} */
    in = json_pack ("{s:s, s:s, s:s, s:i}", "action", "a", "toolchain", "t", "outcome",
                    "succeeded", "stage", 5);
    assert_int_equal (bf_cache_entry_from_json (&e, in), BF_OK);
    assert_int_equal (e.outcome, BF_CACHE_SUCCEEDED);
    assert_null (e.stage);   /* not a string: absent, as the index always treated it */
    out = bf_cache_entry_to_json (&e);
    assert_null (json_object_get (out, "key"));
    assert_null (json_object_get (out, "stage"));
    assert_true (json_is_object (json_object_get (out, "manifest")));
    assert_int_equal (json_object_size (json_object_get (out, "manifest")), 0);
    json_decref (out);
    bf_cache_entry_release (&e);
    json_decref (in);
    /* refusals name the field */
    in = json_pack ("{s:s, s:s, s:s}", "action", "a", "toolchain", "t", "outcome", "maybe");
    assert_int_equal (bf_cache_entry_from_json (&e, in), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "'maybe'"));
    bf_cache_entry_release (&e);
    json_decref (in);
    in = json_pack ("{s:s, s:s}", "action", "a", "outcome", "failed");
    assert_int_equal (bf_cache_entry_from_json (&e, in), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "'toolchain'"));
    bf_cache_entry_release (&e);
    json_decref (in);
    assert_int_equal (bf_cache_entry_from_json (&e, NULL), BF_EINVAL);
    bf_cache_entry_release (&e);
    assert_string_equal (bf_cache_outcome_name (BF_CACHE_SUCCEEDED), "succeeded");
}

static void
cache_open__knows_network_filesystems (void **state)
{
    (void) state;
    assert_string_equal (bf_cache_network_fs (0x6969), "nfs");
    assert_string_equal (bf_cache_network_fs ((long) 0xFF534D42), "cifs");
    assert_string_equal (bf_cache_network_fs (0x01021997), "9p");
    assert_null (bf_cache_network_fs (0xEF53));       /* ext4 */
    assert_null (bf_cache_network_fs (0x01021994));   /* tmpfs */
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
        cmocka_unit_test_setup_teardown (cache_get__truncated_entry_object_is_a_counted_miss,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (cache_stats__counts_hits_and_misses_in_batches,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (cache_stats__sums_the_build_time_hits_saved, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (cache_evict__lru_under_cap_spares_pins, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (cache_pin__is_all_or_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (cache_gc__removes_orphans_dangling_rows_and_old_temps,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (cache_gc__collects_unreferenced_objects_after_grace,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (cache_verify__finds_a_flipped_bit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (cache_invalidate__disowns_a_toolchain, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (cache_result__wrong_size_bitstream_is_never_stored,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (cache_result__array_blobs_follow_the_named_objects,
                                         s_setup, s_teardown),
        cmocka_unit_test (cache_entry__json_codec_round_trips),
        cmocka_unit_test (cache_open__knows_network_filesystems),
    };
    return cmocka_run_group_tests_name ("cache", tests, NULL, NULL);
}
