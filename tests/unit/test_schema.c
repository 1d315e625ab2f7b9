/*  Schema upgrades: databases written by the first released bitfarm
    (tests/fixtures/db, made by make-v1.sh from schema version 1) open with
    today's code, upgrade in place and keep their rows; a newer one is
    refused.  Also the size option parser used for --cache-max-size. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "../../src/broker/bf_jobs.h"
#include "../../src/cache/bf_cache.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_opt.h"
#include "../../src/common/bf_util.h"

static char *
s_copy_fixture (const char *name, const char *dir, const char *as)
{
    char *src = xasprintf ("tests/fixtures/db/%s", name);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal (bf_file_read (&data, &len, src, 1 << 20), BF_OK);
    char *dest = xasprintf ("%s/%s", dir, as);
    assert_int_equal (bf_file_write_atomic (dest, data, len, 0644), BF_OK);
    free (data);
    free (src);
    return dest;
}

static int
s_user_version (const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal (sqlite3_open (path, &db), SQLITE_OK);
    sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &st, NULL);
    int v = sqlite3_step (st) == SQLITE_ROW ? sqlite3_column_int (st, 0) : -1;
    sqlite3_finalize (st);
    sqlite3_close (db);
    return v;
}

static void
schema__v1_cache_upgrades_in_place (void **state)
{
    (void) state;
    char dir[] = "/tmp/bf-test-schema-XXXXXX";
    assert_non_null (mkdtemp (dir));
    char *db = s_copy_fixture ("cache-v1.db", dir, "index.db");
    assert_int_equal (s_user_version (db), 1);
    bf_cache_t *cache = NULL;
    assert_int_equal (bf_cache_open (&cache, dir, NULL), BF_OK);
    assert_true (s_user_version (db) >= 2);
    json_t *entry = NULL;
    const char *key = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    assert_int_equal (bf_cache_get_entry (cache, &entry, key, true), BF_OK);
    assert_int_equal (json_integer_value (json_object_get (entry, "hits")), 3);
    assert_string_equal (json_string_value (json_object_get (json_object_get (entry, "manifest"),
                                                               "device")), "up5k");
    json_decref (entry);
    /* the usage totals were computed from the old rows */
    int64_t bytes = 0, objects = 0;
    bf_cache_usage (cache, &bytes, &objects);
    assert_int_equal (objects, 2);
    assert_int_equal (bytes, 104090 + 2000);
    bf_cache_destroy (&cache);
    /* and the old rows name files that are not there: gc drops them */
    assert_int_equal (bf_cache_open (&cache, dir, NULL), BF_OK);
    json_t *report = NULL;
    assert_int_equal (bf_cache_gc (cache, BF_CACHE_TEMP_AGE_MS, &report), BF_OK);
    assert_int_equal (json_integer_value (json_object_get (report, "missing_files")), 2);
    json_decref (report);
    bf_cache_destroy (&cache);
    free (db);
    bf_remove_tree (dir);
}

static void
schema__v1_jobs_upgrade_in_place (void **state)
{
    (void) state;
    char dir[] = "/tmp/bf-test-schema-XXXXXX";
    assert_non_null (mkdtemp (dir));
    char *db = s_copy_fixture ("jobs-v1.db", dir, "jobs.db");
    bf_jobs_t *jobs = NULL;
    assert_int_equal (bf_jobs_open (&jobs, db), BF_OK);
    assert_true (s_user_version (db) >= 2);
    bf_job_t *job = NULL;
    assert_int_equal (bf_jobs_get (jobs, &job, "0123456789abcdef0123456789abcdef", false), BF_OK);
    assert_int_equal (job->state, BF_JOB_SUCCEEDED);
    assert_string_equal (job->worker, "old-worker");
    bf_job_free (job);
    assert_int_equal (bf_jobs_get (jobs, &job, "fedcba9876543210fedcba9876543210", false), BF_OK);
    assert_int_equal (job->state, BF_JOB_QUEUED);
    bf_job_free (job);
    /* the old queued job is still dispatchable */
    json_t *ready = bf_jobs_ready (jobs, bf_now_ms (), 10);
    assert_int_equal (json_array_size (ready), 1);
    json_decref (ready);
    /* ... in the fair order too (owner and tags of an old row: defaults) */
    json_t *classes = bf_jobs_ready_classes (jobs, bf_now_ms ());
    assert_int_equal (json_array_size (classes), 1);
    json_t *texts = json_pack ("[O]", json_object_get (json_array_get (classes, 0), "class"));
    ready = bf_jobs_ready_fair (jobs, bf_now_ms (), texts, 10);
    assert_int_equal (json_array_size (ready), 1);
    assert_string_equal (json_string_value (json_object_get (json_array_get (ready, 0), "id")),
                         "fedcba9876543210fedcba9876543210");
    json_decref (ready);
    json_decref (texts);
    json_decref (classes);
    bf_jobs_destroy (&jobs);
    /* a database from a newer bitfarm is refused, untouched */
    sqlite3 *h = NULL;
    assert_int_equal (sqlite3_open (db, &h), SQLITE_OK);
    assert_int_equal (sqlite3_exec (h, "PRAGMA user_version=42", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close (h);
    assert_int_equal (bf_jobs_open (&jobs, db), BF_EIO);
    assert_non_null (strstr (bf_error_last (), "schema version 42, newer than this bitfarm"));
    assert_int_equal (s_user_version (db), 42);
    free (db);
    bf_remove_tree (dir);
}

static void
opt_size__units_and_limits (void **state)
{
    (void) state;
    int64_t v = 0;
    assert_int_equal (bf_opt_size (&v, "--cache-max-size", "10G", 1, INT64_MAX / 2), BF_OK);
    assert_int_equal (v, 10LL << 30);
    assert_int_equal (bf_opt_size (&v, "--cache-max-size", "512MiB", 1, INT64_MAX / 2), BF_OK);
    assert_int_equal (v, 512LL << 20);
    assert_int_equal (bf_opt_size (&v, "--cache-max-size", "1.5k", 1, INT64_MAX / 2), BF_OK);
    assert_int_equal (v, 1536);
    assert_int_equal (bf_opt_size (&v, "--cache-max-size", "4096", 1, INT64_MAX / 2), BF_OK);
    assert_int_equal (v, 4096);
    assert_int_equal (bf_opt_size (&v, "--cache-max-size", "10X", 1, INT64_MAX / 2), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "invalid value '10X' for --cache-max-size"));
    assert_int_equal (bf_opt_size (&v, "--cache-max-size", "-1G", 1, INT64_MAX / 2), BF_EINVAL);
    assert_int_equal (bf_opt_size (&v, "--cache-max-size", "1k", 1 << 20, INT64_MAX), BF_EINVAL);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (schema__v1_cache_upgrades_in_place),
        cmocka_unit_test (schema__v1_jobs_upgrade_in_place),
        cmocka_unit_test (opt_size__units_and_limits),
    };
    return cmocka_run_group_tests_name ("schema", tests, NULL, NULL);
}
