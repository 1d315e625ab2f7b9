/*  bf_jobs_retain - job history retention (bf_jobs.h, --keep-jobs): which
    finished jobs go, found oldest first through the index jobs_finished
    (schema/jobs/012_history.sql), and their removal with every row about
    them, in one transaction per batch.  Also the live-job counts that
    must not walk the history (the dashboard's FARM). */
#include "bf_jobs_int.h"
#include "../common/bf_db.h"
#include "../common/bf_error.h"
#include "../common/bf_opt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_AGE_MIN_MS 1000LL
#define S_AGE_MAX_MS (3650LL * 86400000)

int
bf_jobs_keep_parse (bf_jobs_keep_t *out, const char *option, const char *value)
{
    memset (out, 0, sizeof *out);
    size_t len = strlen (value);
    if (strcmp (value, "all") == 0)
        return BF_OK;
    if (len > 0 && len <= 13 && strspn (value, "0123456789") == len) {
        long long n = strtoll (value, NULL, 10);
        if (n >= 1 && n <= BF_JOBS_KEEP_COUNT_MAX) {
            out->max_count = n;
            return BF_OK;
        }
    }
    else if (len > 1 && len <= 24 && strspn (value, "0123456789") > 0
             && strspn (value, "0123456789") + strspn (value + strspn (value, "0123456789"),
                                                      "mshd") == len) {
        /* digits and then a unit: nothing else (no sign, blank or fraction) */
        int64_t ms = 0;
        if (bf_opt_duration_ms (&ms, option, value, S_AGE_MIN_MS, S_AGE_MAX_MS) == BF_OK) {
            out->max_age_ms = ms;
            return BF_OK;
        }
    }
    return bf_error_set (BF_EINVAL, "invalid value '%.64s' for %s (want a duration such as "
                         "30d or 12h, 1s..3650d; a count of jobs such as 100000; or all)",
                         value, option);
}

const char *
bf_jobs_keep_text (char *buf, size_t len, const bf_jobs_keep_t *keep)
{
    if (keep->max_count > 0)
        snprintf (buf, len, "the newest %lld finished jobs", (long long) keep->max_count);
    else if (keep->max_age_ms > 0 && keep->max_age_ms % 86400000 == 0)
        snprintf (buf, len, "%lldd", (long long) (keep->max_age_ms / 86400000));
    else if (keep->max_age_ms > 0 && keep->max_age_ms % 1000 == 0)
        snprintf (buf, len, "%llds", (long long) (keep->max_age_ms / 1000));
    else if (keep->max_age_ms > 0)
        snprintf (buf, len, "%lldms", (long long) keep->max_age_ms);
    else
        snprintf (buf, len, "all");
    return buf;
}

/*  The references that keep a finished job j (see bf_jobs.h). */
#define S_UNREFERENCED \
    "NOT EXISTS (SELECT 1 FROM jobs o WHERE o.follows = j.id " \
    "            AND o.state IN ('queued', 'running')) " \
    "AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.after_job = j.id " \
    "                AND o.state IN ('queued', 'running')) " \
    "AND NOT EXISTS (SELECT 1 FROM boards b WHERE b.last_job = j.id) "

/*  Up to limit ids of finished jobs that keep does not keep at now and
    nothing refers to, oldest first, into a new array.  An age is a range
    of the index jobs_finished; a count is the oldest (finished - count)
    entries of it, the number of finished jobs read from job_counts (kept
    by triggers) rather than counted: never a walk of the kept ones. */
static json_t *
s_candidates (bf_jobs_t *self, const bf_jobs_keep_t *keep, int64_t before, int64_t now,
              int limit)
{
    json_t *ids = json_array ();
    sqlite3_stmt *st;
    if (keep && keep->max_count > 0) {
        st = bf_db_prepare (self->db, "SELECT IFNULL (sum (n), 0) FROM job_counts "
                            "WHERE state NOT IN ('queued', 'running')");
        int64_t excess = sqlite3_step (st) == SQLITE_ROW
                         ? sqlite3_column_int64 (st, 0) - keep->max_count : 0;
        sqlite3_finalize (st);
        if (excess <= 0)
            return ids;
        st = bf_db_prepare (self->db,
            "SELECT j.id FROM (SELECT id FROM jobs INDEXED BY jobs_finished "
            "                  WHERE state NOT IN ('queued', 'running') "
            "                  ORDER BY finished_at, rowid LIMIT ?1) j "
            "WHERE " S_UNREFERENCED "LIMIT ?2");
        sqlite3_bind_int64 (st, 1, excess);
    }
    else {
        if (keep && keep->max_age_ms <= 0)
            return ids;                      /* keep every job */
        if (keep)
            before = now - keep->max_age_ms;
        st = bf_db_prepare (self->db,
            "SELECT j.id FROM jobs j INDEXED BY jobs_finished "
            "WHERE j.state NOT IN ('queued', 'running') AND j.finished_at < ?1 "
            "AND " S_UNREFERENCED "ORDER BY j.finished_at, j.rowid LIMIT ?2");
        sqlite3_bind_int64 (st, 1, before);
    }
    sqlite3_bind_int (st, 2, limit);
    while (sqlite3_step (st) == SQLITE_ROW)
        json_array_append_new (ids, json_string ((const char *) sqlite3_column_text (st, 0)));
    sqlite3_finalize (st);
    return ids;
}

/*  Deletes the jobs in ids (a JSON array text) with their rows, inside
    the caller's transaction: every table that holds a job id of its own
    (events, attempts); the references of other jobs to them were checked
    by s_candidates. */
static int
s_delete (bf_jobs_t *self, const char *text)
{
    static const char *const deletes[] = {
        "DELETE FROM events WHERE job IN (SELECT value FROM json_each (?))",
        "DELETE FROM attempts WHERE job IN (SELECT value FROM json_each (?))",
        "DELETE FROM jobs WHERE id IN (SELECT value FROM json_each (?))",
    };
    int rc = BF_OK;
    for (size_t i = 0; i < sizeof deletes / sizeof deletes[0] && rc == BF_OK; i++) {
        sqlite3_stmt *st = bf_db_prepare (self->db, deletes[i]);
        sqlite3_bind_text (st, 1, text, -1, SQLITE_STATIC);
        rc = bf_db_step_changes (self->db, st, BF_EBUSY, "prune job history");
        if (rc == BF_EBUSY)
            rc = BF_OK;
    }
    return rc;
}

static int
s_retain (bf_jobs_t *self, json_t **ids_out, const bf_jobs_keep_t *keep, int64_t before,
          int64_t now, int limit)
{
    *ids_out = NULL;
    json_t *ids = NULL;
    char *text = NULL;
    int rc = bf_db_begin (self->db);
    if (rc != BF_OK)
        return rc;
    ids = s_candidates (self, keep, before, now, limit);
    if (json_array_size (ids) > 0) {
        text = json_dumps (ids, JSON_COMPACT);
        rc = s_delete (self, text);
    }
    rc = bf_db_end (self->db, rc);
    if (rc == BF_OK) {
        *ids_out = ids;
        ids = NULL;   /* transferred */
    }
    free (text);
    json_decref (ids);
    return rc;
}

int
bf_jobs_retain (bf_jobs_t *self, json_t **ids_out, const bf_jobs_keep_t *keep, int64_t now,
                int limit)
{
    return s_retain (self, ids_out, keep, 0, now, limit);
}

int
bf_jobs_prune (bf_jobs_t *self, json_t **ids_out, int64_t before, int limit)
{
    return s_retain (self, ids_out, NULL, before, 0, limit);
}

json_t *
bf_jobs_count_live (bf_jobs_t *self, const char *owner)
{
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT state, count (*) FROM jobs INDEXED BY jobs_queue "
        "WHERE state IN ('queued', 'running') AND (?1 IS NULL OR owner = ?1) GROUP BY state");
    bf_db_bind_str (st, 1, owner);
    json_t *out = json_pack ("{s:i, s:i}", "queued", 0, "running", 0);
    while (sqlite3_step (st) == SQLITE_ROW)
        json_object_set_new (out, (const char *) sqlite3_column_text (st, 0),
                             json_integer (sqlite3_column_int64 (st, 1)));
    sqlite3_finalize (st);
    return out;
}
