/*  bf_jobs_stats - what the job table says about the cache, for
    `bitfarm cache stats` over the wire (CACHESTATS, docs/protocol.md):
    builds and hits in a time window, the build time the hits saved,
    per tag and per repository; and the cache keys of one owner's jobs
    (CACHELS for a non-admin key). */
#include "bf_jobs_int.h"
#include "../common/bf_db.h"
#include "../common/bf_error.h"

#include <string.h>

int
bf_jobs_set_saved (bf_jobs_t *self, const char *id, int64_t saved_ms)
{
    sqlite3_stmt *st = bf_db_stmt (self->db, "UPDATE jobs SET saved_ms = ? WHERE id = ?");
    sqlite3_bind_int64 (st, 1, saved_ms > 0 ? saved_ms : 0);
    sqlite3_bind_text (st, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step (st) == SQLITE_DONE
             ? BF_OK : bf_error_set (BF_EIO, "cannot record job %s: %s", id,
                                     sqlite3_errmsg (self->db));
    bf_db_done (st);
    return rc;
}

json_t *
bf_jobs_owner_keys (bf_jobs_t *self, const char *owner)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT DISTINCT cache_key FROM jobs WHERE owner = ? AND cache_key IS NOT NULL");
    bf_db_bind_str (st, 1, owner);
    json_t *out = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW)
        json_array_append_new (out, json_string ((const char *) sqlite3_column_text (st, 0)));
    bf_db_done (st);
    return out;
}

/*  The columns of one row of numbers: builds, hits, saved_ms, build_ms;
    over the build jobs that ended with an outcome (succeeded, failed) and
    were submitted at or after ?1.  A build: a job that ran the tools
    itself (not a hit, not coalesced onto another); its build_ms is the
    time from its (last) dispatch to its end. */
#define S_NUMBERS \
    "sum (CASE WHEN j.cache_hit = 0 AND j.follows IS NULL AND j.started_at IS NOT NULL " \
    "     THEN 1 ELSE 0 END), " \
    "sum (CASE WHEN j.cache_hit != 0 THEN 1 ELSE 0 END), " \
    "sum (CASE WHEN j.cache_hit != 0 THEN j.saved_ms ELSE 0 END), " \
    "sum (CASE WHEN j.cache_hit = 0 AND j.follows IS NULL AND j.started_at IS NOT NULL " \
    "     THEN max (j.finished_at - j.started_at, 0) ELSE 0 END) "
#define S_REPO \
    "coalesce (j.git_remote, CASE WHEN j.git_commit IS NOT NULL " \
    "THEN '(local repository)' ELSE '' END)"
#define S_WHERE \
    "j.kind = 'build' AND j.state IN ('succeeded', 'failed') AND j.submitted_at >= ?1 "

/*  A row's numbers (columns col..col+3) as an object, with its hit rate. */
static json_t *
s_numbers (sqlite3_stmt *st, int col)
{
    int64_t builds = sqlite3_column_int64 (st, col), hits = sqlite3_column_int64 (st, col + 1);
    double rate = builds + hits > 0 ? (double) hits / (double) (builds + hits) : 0.0;
    return json_pack ("{s:I, s:I, s:f, s:I, s:I}", "builds", (json_int_t) builds, "hits",
                      (json_int_t) hits, "hit_rate", rate, "saved_ms",
                      (json_int_t) sqlite3_column_int64 (st, col + 2), "build_ms",
                      (json_int_t) sqlite3_column_int64 (st, col + 3));
}

/*  Rows of (name, numbers) from sql, into a new array of objects with
    the name under `field`.  ?1 is since; ?2, when bound, the owner. */
static json_t *
s_groups (bf_jobs_t *self, const char *sql, const char *field, int64_t since,
          const char *owner)
{
    sqlite3_stmt *st = bf_db_stmt (self->db, sql);
    sqlite3_bind_int64 (st, 1, since);
    if (owner)
        sqlite3_bind_text (st, 2, owner, -1, SQLITE_STATIC);
    json_t *out = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW) {
        json_t *row = s_numbers (st, 1);
        const char *name = (const char *) sqlite3_column_text (st, 0);
        json_object_set_new (row, field, json_string (name ? name : ""));
        json_array_append_new (out, row);
    }
    bf_db_done (st);
    return out;
}

json_t *
bf_jobs_cache_stats (bf_jobs_t *self, int64_t since, const char *repo_owner)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT " S_NUMBERS "FROM jobs j WHERE " S_WHERE);
    sqlite3_bind_int64 (st, 1, since);
    json_t *out = sqlite3_step (st) == SQLITE_ROW ? s_numbers (st, 0) : json_object ();
    bf_db_done (st);
    json_object_set_new (out, "since", json_integer (since));
    json_object_set_new (out, "tags", s_groups (self,
        "SELECT t.value, " S_NUMBERS "FROM jobs j, json_each (j.tags) t WHERE " S_WHERE
        "GROUP BY t.value ORDER BY t.value", "tag", since, NULL));
    /* Per repository: the provenance's remote (schema/jobs/009_provenance.sql);
       a commit with no remote counts under "(local repository)", a job not
       built from git under "". */
    json_object_set_new (out, "repositories", s_groups (self, repo_owner
        ? "SELECT " S_REPO ", " S_NUMBERS "FROM jobs j WHERE " S_WHERE
          "AND j.owner = ?2 GROUP BY 1 ORDER BY 1"
        : "SELECT " S_REPO ", " S_NUMBERS "FROM jobs j WHERE " S_WHERE
          "GROUP BY 1 ORDER BY 1", "repository", since, repo_owner));
    return out;
}

/* ---- metrics (issue 19) ---- */

static json_t *
s_counts (bf_jobs_t *self, const char *sql, const char *owner)
{
    sqlite3_stmt *st = bf_db_stmt (self->db, sql);
    if (owner)
        sqlite3_bind_text (st, 1, owner, -1, SQLITE_STATIC);
    json_t *out = json_object ();
    while (sqlite3_step (st) == SQLITE_ROW)
        json_object_set_new (out, (const char *) sqlite3_column_text (st, 0),
                             json_integer (sqlite3_column_int64 (st, 1)));
    bf_db_done (st);
    return out;
}

json_t *
bf_jobs_count_states (bf_jobs_t *self, const char *owner)
{
    /* job_counts (schema/jobs/012_history.sql): kept by triggers, so a
       scrape does not walk the history. */
    return s_counts (self, owner ? "SELECT state, sum (n) FROM job_counts WHERE owner = ?1 "
                                   "GROUP BY state HAVING sum (n) > 0"
                                 : "SELECT state, sum (n) FROM job_counts GROUP BY state "
                                   "HAVING sum (n) > 0", owner);
}

json_t *
bf_jobs_count_failures (bf_jobs_t *self)
{
    return s_counts (self, "SELECT failure_class, sum (n) FROM job_counts WHERE failure_class "
                     "!= '' GROUP BY failure_class HAVING sum (n) > 0", NULL);
}

/*  One histogram of job_hist / job_hist_sums as {"count", "sum",
    "buckets"}: a bound the table does not have counts 0. */
static json_t *
s_histogram (bf_jobs_t *self, const char *metric, const char *stage, int64_t count, double sum,
             const double *bounds, size_t nbounds)
{
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT n FROM job_hist WHERE metric = ? AND stage = ? AND le = ?");
    json_t *b = json_array ();
    for (size_t i = 0; i < nbounds; i++) {
        sqlite3_bind_text (st, 1, metric, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 2, stage, -1, SQLITE_STATIC);
        sqlite3_bind_double (st, 3, bounds[i]);
        json_int_t n = sqlite3_step (st) == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : 0;
        json_array_append_new (b, json_integer (n));
        sqlite3_reset (st);
    }
    sqlite3_finalize (st);
    return json_pack ("{s:I, s:f, s:o}", "count", (json_int_t) count, "sum", sum, "buckets", b);
}

json_t *
bf_jobs_histograms (bf_jobs_t *self, const double *bounds, size_t nbounds)
{
    json_t *wait = NULL, *stages = json_object ();
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT metric, stage, count, sum FROM job_hist_sums ORDER BY metric, stage");
    while (sqlite3_step (st) == SQLITE_ROW) {
        const char *metric = (const char *) sqlite3_column_text (st, 0);
        const char *stage = (const char *) sqlite3_column_text (st, 1);
        json_t *h = s_histogram (self, metric, stage, sqlite3_column_int64 (st, 2),
                                 sqlite3_column_double (st, 3), bounds, nbounds);
        if (strcmp (metric, "queue_wait") == 0 && !wait)
            wait = h;
        else if (strcmp (metric, "stage") == 0 && json_object_size (stages) < 16)
            json_object_set_new (stages, stage, h);
        else
            json_decref (h);
    }
    sqlite3_finalize (st);
    if (!wait)
        wait = s_histogram (self, "queue_wait", "", 0, 0.0, bounds, nbounds);
    return json_pack ("{s:o, s:o}", "queue_wait", wait, "stages", stages);
}
