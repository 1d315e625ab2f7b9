/*  bf_jobs - see bf_jobs.h. */
#include "bf_jobs.h"
#include "../common/bf_db.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct _bf_jobs_t {
    sqlite3 *db;
};

#define S_COLS "id, state, stage, failure_class, priority, attempt, worker, action, " \
               "cache_key, cache_hit, bitstream, report, log, error, submitted_at, " \
               "started_at, finished_at, manifest"

int
bf_jobs_open (bf_jobs_t **out, const char *path)
{
    bf_jobs_t *self = xcalloc (1, sizeof *self);
    int rc = bf_db_open (&self->db, path, bf_schema_jobs);
    if (rc != BF_OK) {
        free (self);
        *out = NULL;
        return rc;
    }
    *out = self;
    return BF_OK;
}

void
bf_jobs_destroy (bf_jobs_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sqlite3_close ((*self_p)->db);
    free (*self_p);
    *self_p = NULL;
}

bool
bf_jobs_state_final (const char *state)
{
    return state && (strcmp (state, "queued") != 0 && strcmp (state, "running") != 0);
}

static void
s_bind_str (sqlite3_stmt *st, int idx, const char *v)
{
    if (v)
        sqlite3_bind_text (st, idx, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null (st, idx);
}

static const char *
s_jstr (json_t *obj, const char *key)
{
    return json_string_value (json_object_get (obj, key));
}

int
bf_jobs_create (bf_jobs_t *self, char *id_out, json_t *manifest, const char *action,
                const char *cache_key, int priority, json_t *hit)
{
    char id[BF_JOB_ID_LEN + 1];
    if (bf_random_hex (id, BF_JOB_ID_LEN / 2) != BF_OK)
        return bf_error_set (BF_EIO, "no random source for a job id");
    char *mtext = json_dumps (manifest, JSON_COMPACT | JSON_SORT_KEYS);
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "INSERT INTO jobs (id, seq, state, stage, failure_class, priority, action, cache_key, "
        "cache_hit, manifest, bitstream, report, log, error, submitted_at, started_at, "
        "finished_at) VALUES (?1, (SELECT IFNULL(MAX(seq), 0) + 1 FROM jobs), ?2, ?3, ?4, ?5, "
        "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15)");
    int64_t now = bf_now_ms ();
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    if (hit) {
        bool ok = strcmp (s_jstr (hit, "outcome"), "succeeded") == 0;
        sqlite3_bind_text (st, 2, ok ? "succeeded" : "failed", -1, SQLITE_STATIC);
        s_bind_str (st, 3, ok ? "done" : s_jstr (hit, "stage"));
        s_bind_str (st, 4, ok ? NULL : "design");
        sqlite3_bind_int (st, 8, 1);
        s_bind_str (st, 10, s_jstr (hit, "bitstream"));
        s_bind_str (st, 11, s_jstr (hit, "report"));
        s_bind_str (st, 12, s_jstr (hit, "log"));
        s_bind_str (st, 13, s_jstr (hit, "error"));
        sqlite3_bind_int64 (st, 15, now);
    }
    else {
        sqlite3_bind_text (st, 2, "queued", -1, SQLITE_STATIC);
        sqlite3_bind_int (st, 8, 0);
    }
    sqlite3_bind_int (st, 5, priority);
    sqlite3_bind_text (st, 6, action, -1, SQLITE_STATIC);
    s_bind_str (st, 7, cache_key);
    sqlite3_bind_text (st, 9, mtext, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 14, now);
    int rc = BF_OK;
    if (sqlite3_step (st) != SQLITE_DONE)
        rc = bf_error_set (BF_EIO, "cannot record job: %s", sqlite3_errmsg (self->db));
    sqlite3_finalize (st);
    free (mtext);
    if (rc == BF_OK)
        memcpy (id_out, id, sizeof id);
    return rc;
}

int
bf_jobs_resolve (bf_jobs_t *self, char *id_out, const char *prefix)
{
    size_t len = strlen (prefix);
    if (len < BF_JOB_PREFIX_MIN || len > BF_JOB_ID_LEN)
        return bf_error_set (BF_EINVAL, "bad job id '%.40s' (want %d to %d hex characters)",
                             prefix, BF_JOB_PREFIX_MIN, BF_JOB_ID_LEN);
    char lower[BF_JOB_ID_LEN + 1];
    for (size_t i = 0; i < len; i++) {
        if (!isxdigit ((unsigned char) prefix[i]))
            return bf_error_set (BF_EINVAL, "bad job id '%.40s' (want hex characters)", prefix);
        lower[i] = (char) tolower ((unsigned char) prefix[i]);
    }
    lower[len] = '\0';
    char upper[BF_JOB_ID_LEN + 2];
    snprintf (upper, sizeof upper, "%s~", lower);   /* '~' sorts after every hex digit */
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT id FROM jobs WHERE id >= ? AND id < ? ORDER BY id LIMIT 2");
    sqlite3_bind_text (st, 1, lower, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, upper, -1, SQLITE_STATIC);
    int n = 0;
    while (sqlite3_step (st) == SQLITE_ROW) {
        if (n == 0)
            snprintf (id_out, BF_JOB_ID_LEN + 1, "%s", (const char *) sqlite3_column_text (st, 0));
        n++;
    }
    sqlite3_finalize (st);
    if (n == 0)
        return bf_error_set (BF_ENOTFOUND, "no job '%s'", lower);
    if (n > 1)
        return bf_error_set (BF_EAMBIGUOUS, "job id prefix '%s' is ambiguous", lower);
    return BF_OK;
}

static json_t *
s_row (sqlite3_stmt *st, bool with_manifest)
{
    static const char *names[] = { "id", "state", "stage", "failure_class", "priority",
                                   "attempt", "worker", "action", "cache_key", "cache_hit",
                                   "bitstream_sha256", "report_sha256", "log_sha256", "error",
                                   "submitted_at", "started_at", "finished_at" };
    json_t *j = json_object ();
    for (int i = 0; i < 17; i++) {
        int t = sqlite3_column_type (st, i);
        json_t *v;
        if (t == SQLITE_NULL)
            v = json_null ();
        else if (i == 9)
            v = json_boolean (sqlite3_column_int (st, i));
        else if (i >= 14) {
            char buf[40];
            v = json_string (bf_time_iso (buf, sizeof buf, sqlite3_column_int64 (st, i)));
        }
        else if (t == SQLITE_INTEGER)
            v = json_integer (sqlite3_column_int64 (st, i));
        else
            v = json_string ((const char *) sqlite3_column_text (st, i));
        json_object_set_new (j, names[i], v);
    }
    if (with_manifest) {
        json_t *m = json_loads ((const char *) sqlite3_column_text (st, 17), 0, NULL);
        json_object_set_new (j, "manifest", m ? m : json_null ());
    }
    return j;
}

int
bf_jobs_get (bf_jobs_t *self, json_t **out, const char *id, bool with_manifest)
{
    sqlite3_stmt *st = bf_db_prepare (self->db, "SELECT " S_COLS " FROM jobs WHERE id = ?");
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    int rc = BF_ENOTFOUND;
    if (sqlite3_step (st) == SQLITE_ROW) {
        *out = s_row (st, with_manifest);
        rc = BF_OK;
    }
    sqlite3_finalize (st);
    if (rc != BF_OK)
        bf_error_set (rc, "no job '%s'", id);
    return rc;
}

/*  The first column of every row of a prepared statement, as a new JSON
    array of strings; finalizes the statement. */
static json_t *
s_ids (sqlite3_stmt *st)
{
    json_t *arr = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW)
        json_array_append_new (arr, json_string ((const char *) sqlite3_column_text (st, 0)));
    sqlite3_finalize (st);
    return arr;
}

json_t *
bf_jobs_queued (bf_jobs_t *self, int limit)
{
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT id FROM jobs WHERE state = 'queued' ORDER BY priority DESC, seq LIMIT ?");
    sqlite3_bind_int (st, 1, limit);
    return s_ids (st);
}

json_t *
bf_jobs_running (bf_jobs_t *self)
{
    return s_ids (bf_db_prepare (self->db, "SELECT id FROM jobs WHERE state = 'running'"));
}

json_t *
bf_jobs_list (bf_jobs_t *self, int limit)
{
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT " S_COLS " FROM jobs ORDER BY seq DESC LIMIT ?");
    sqlite3_bind_int (st, 1, limit);
    json_t *arr = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW)
        json_array_append_new (arr, s_row (st, false));
    sqlite3_finalize (st);
    return arr;
}

static int
s_changed (bf_jobs_t *self, sqlite3_stmt *st, const char *what)
{
    int step = sqlite3_step (st);
    sqlite3_finalize (st);
    if (step != SQLITE_DONE)
        return bf_error_set (BF_EIO, "cannot %s: %s", what, sqlite3_errmsg (self->db));
    return sqlite3_changes (self->db) == 1 ? BF_OK : BF_EBUSY;
}

int
bf_jobs_start (bf_jobs_t *self, const char *id, const char *worker, const char *cache_key)
{
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "UPDATE jobs SET state = 'running', stage = 'dispatched', attempt = attempt + 1, "
        "worker = ?, cache_key = ?, started_at = ? WHERE id = ? AND state = 'queued'");
    sqlite3_bind_text (st, 1, worker, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, cache_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 3, bf_now_ms ());
    sqlite3_bind_text (st, 4, id, -1, SQLITE_STATIC);
    return s_changed (self, st, "start job");
}

int
bf_jobs_stage (bf_jobs_t *self, const char *id, const char *stage)
{
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "UPDATE jobs SET stage = ? WHERE id = ? AND state = 'running'");
    sqlite3_bind_text (st, 1, stage, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, id, -1, SQLITE_STATIC);
    return s_changed (self, st, "record stage");
}

int
bf_jobs_finish (bf_jobs_t *self, const char *id, json_t *result)
{
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "UPDATE jobs SET state = ?, failure_class = ?, stage = IFNULL(?, stage), error = ?, "
        "bitstream = ?, report = ?, log = ?, cache_hit = ?, finished_at = ? "
        "WHERE id = ? AND state IN ('queued', 'running')");
    s_bind_str (st, 1, s_jstr (result, "state"));
    s_bind_str (st, 2, s_jstr (result, "failure_class"));
    s_bind_str (st, 3, s_jstr (result, "stage"));
    s_bind_str (st, 4, s_jstr (result, "error"));
    s_bind_str (st, 5, s_jstr (result, "bitstream"));
    s_bind_str (st, 6, s_jstr (result, "report"));
    s_bind_str (st, 7, s_jstr (result, "log"));
    sqlite3_bind_int (st, 8, json_is_true (json_object_get (result, "cache_hit")));
    sqlite3_bind_int64 (st, 9, bf_now_ms ());
    sqlite3_bind_text (st, 10, id, -1, SQLITE_STATIC);
    return s_changed (self, st, "finish job");
}

int
bf_jobs_requeue (bf_jobs_t *self, const char *id)
{
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "UPDATE jobs SET state = 'queued', stage = NULL, worker = NULL "
        "WHERE id = ? AND state = 'running'");
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    return s_changed (self, st, "requeue job");
}

int
bf_jobs_toolchain_seen (bf_jobs_t *self, const char *id, const char *family, json_t *versions)
{
    char *v = json_dumps (versions, JSON_COMPACT | JSON_SORT_KEYS);
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "INSERT INTO toolchains (id, family, versions, last_seen) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen");
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, family, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, v ? v : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (st, 4, bf_now_ms ());
    int rc = s_changed (self, st, "record toolchain");
    free (v);
    return rc == BF_EBUSY ? BF_OK : rc;
}

int
bf_jobs_toolchain_latest (bf_jobs_t *self, char *out, const char *family)
{
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT id FROM toolchains WHERE family = ? ORDER BY last_seen DESC LIMIT 1");
    sqlite3_bind_text (st, 1, family, -1, SQLITE_STATIC);
    int rc = BF_ENOTFOUND;
    if (sqlite3_step (st) == SQLITE_ROW) {
        snprintf (out, 65, "%s", (const char *) sqlite3_column_text (st, 0));
        rc = BF_OK;
    }
    sqlite3_finalize (st);
    return rc;
}
