/*  bf_jobs_identity - who did what in the job database: the attempts
    (which worker each dispatch went to, for which toolchain and cache
    key), worker names bound to keys, the toolchains seen and the farm's
    settings.  See bf_jobs.h and schema/jobs/006_attempts.sql. */
#include "bf_jobs_int.h"
#include "../common/bf_db.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_copy_col (char *out, size_t len, sqlite3_stmt *st, int col)
{
    const char *v = (const char *) sqlite3_column_text (st, col);
    snprintf (out, len, "%s", v ? v : "");
}

int
bf_jobs__attempt_insert (bf_jobs_t *self, const char *id, const bf_attempt_t *a)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "INSERT OR REPLACE INTO attempts (job, attempt, worker, worker_key, toolchain, "
        "cache_key, dispatched_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, a->attempt);
    sqlite3_bind_text (st, 3, a->worker, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 4, a->worker_key, -1, SQLITE_STATIC);
    bf_db_bind_str (st, 5, a->toolchain[0] ? a->toolchain : NULL);
    bf_db_bind_str (st, 6, a->cache_key[0] ? a->cache_key : NULL);
    sqlite3_bind_int64 (st, 7, a->dispatched_at ? a->dispatched_at : bf_now_ms ());
    return bf_db_step_changes (self->db, st, BF_EIO, "record attempt");
}

int
bf_jobs_attempt_get (bf_jobs_t *self, bf_attempt_t *out, const char *id, int64_t attempt)
{
    memset (out, 0, sizeof *out);
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT attempt, worker, worker_key, toolchain, cache_key, dispatched_at FROM attempts "
        "WHERE job = ? AND attempt = ?");
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, attempt);
    int rc = BF_ENOTFOUND;
    if (sqlite3_step (st) == SQLITE_ROW) {
        out->attempt = sqlite3_column_int64 (st, 0);
        s_copy_col (out->worker, sizeof out->worker, st, 1);
        s_copy_col (out->worker_key, sizeof out->worker_key, st, 2);
        s_copy_col (out->toolchain, sizeof out->toolchain, st, 3);
        s_copy_col (out->cache_key, sizeof out->cache_key, st, 4);
        out->dispatched_at = sqlite3_column_int64 (st, 5);
        rc = BF_OK;
    }
    bf_db_done (st);
    return rc;
}

int
bf_jobs_toolchain_seen (bf_jobs_t *self, const char *id, const char *family, json_t *versions)
{
    char *v = json_dumps (versions, JSON_COMPACT | JSON_SORT_KEYS);
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "INSERT INTO toolchains (id, family, versions, last_seen, first_seen) "
        "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen");
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, family, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, v ? v : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (st, 4, bf_now_ms ());
    int rc = bf_db_step_changes (self->db, st, BF_EBUSY, "record toolchain");
    free (v);
    return rc == BF_EBUSY ? BF_OK : rc;
}

int
bf_jobs_toolchain_resolve (bf_jobs_t *self, char *out, const char *prefix)
{
    size_t n = strlen (prefix);
    if (n < 8 || n > 64 || strspn (prefix, "0123456789abcdef") != n)
        return bf_error_set (BF_EINVAL, "bad toolchain '%.80s' (want 8 to 64 lowercase hex "
                             "characters of an identity, as `bitfarm workers` shows)", prefix);
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT id FROM toolchains WHERE substr (id, 1, ?2) = ?1 ORDER BY id LIMIT 2");
    sqlite3_bind_text (st, 1, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_int (st, 2, (int) n);
    int rows = 0;
    while (sqlite3_step (st) == SQLITE_ROW)
        if (rows++ == 0)
            snprintf (out, 65, "%s", (const char *) sqlite3_column_text (st, 0));
    bf_db_done (st);
    if (rows == 0)
        return bf_error_set (BF_ENOTFOUND, "no worker has reported toolchain '%s' (see `bitfarm "
                             "workers`)", prefix);
    if (rows > 1)
        return bf_error_set (BF_EAMBIGUOUS, "toolchain '%s' is ambiguous (give more characters)",
                             prefix);
    return BF_OK;
}

json_t *
bf_jobs_toolchains (bf_jobs_t *self)
{
    json_t *out = json_array ();
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT id, family, versions, IFNULL(first_seen, last_seen), last_seen FROM toolchains "
        "ORDER BY IFNULL(first_seen, last_seen), id");
    while (sqlite3_step (st) == SQLITE_ROW) {
        json_t *v = json_loads ((const char *) sqlite3_column_text (st, 2), 0, NULL);
        json_array_append_new (out, json_pack ("{s:s, s:s, s:o, s:I, s:I}",
            "id", (const char *) sqlite3_column_text (st, 0),
            "family", (const char *) sqlite3_column_text (st, 1),
            "versions", json_is_object (v) ? v : json_object (),
            "first_seen", (json_int_t) sqlite3_column_int64 (st, 3),
            "last_seen", (json_int_t) sqlite3_column_int64 (st, 4)));
        if (!json_is_object (v))
            json_decref (v);
    }
    bf_db_done (st);
    return out;
}

int
bf_jobs_setting_get (bf_jobs_t *self, char *out, size_t outlen, const char *name)
{
    sqlite3_stmt *st = bf_db_stmt (self->db, "SELECT value FROM settings WHERE name = ?");
    sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
    int rc = BF_ENOTFOUND;
    if (sqlite3_step (st) == SQLITE_ROW) {
        s_copy_col (out, outlen, st, 0);
        rc = BF_OK;
    }
    bf_db_done (st);
    return rc;
}

int
bf_jobs_setting_set (bf_jobs_t *self, const char *name, const char *value)
{
    sqlite3_stmt *st = bf_db_stmt (self->db, value
        ? "INSERT INTO settings (name, value) VALUES (?1, ?2) "
          "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        : "DELETE FROM settings WHERE name = ?1");
    sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
    if (value)
        sqlite3_bind_text (st, 2, value, -1, SQLITE_STATIC);
    int rc = bf_db_step_changes (self->db, st, BF_EBUSY, "record setting");
    return rc == BF_EBUSY ? BF_OK : rc;
}

int
bf_jobs_worker_bind (bf_jobs_t *self, const char *name, const char *key)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "INSERT INTO worker_names (name, key, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3) "
        "ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen "
        "WHERE worker_names.key = excluded.key");
    sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 3, bf_now_ms ());
    int rc = bf_db_step_changes (self->db, st, BF_EBUSY, "bind worker name");
    if (rc == BF_EBUSY)
        return bf_error_set (BF_EACCES, "worker name '%s' belongs to another key (an admin "
                             "frees it with `bitfarm workers --release %s`)", name, name);
    return rc;
}

int
bf_jobs_worker_release (bf_jobs_t *self, const char *name)
{
    sqlite3_stmt *st = bf_db_stmt (self->db, "DELETE FROM worker_names WHERE name = ?");
    sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
    int rc = bf_db_step_changes (self->db, st, BF_ENOTFOUND, "release worker name");
    if (rc == BF_ENOTFOUND)
        return bf_error_set (BF_ENOTFOUND, "no worker name '%s' is bound", name);
    return rc;
}
