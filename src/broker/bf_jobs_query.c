/*  bf_jobs_query - the reads of the job table (bf_jobs.h): a row into a
    job record (bf_job.h), the job with its leader's progress, events, the
    ready queue, running and overdue jobs, program jobs' builds, the
    recent-jobs list. */
#include "bf_jobs_int.h"
#include "../common/bf_db.h"
#include "../common/bf_error.h"
#include "../common/bf_sha256.h"
#include "../common/bf_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static json_t *
s_time (sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type (st, col) == SQLITE_NULL || sqlite3_column_int64 (st, col) <= 0)
        return json_null ();
    char buf[40];
    return json_string (bf_time_iso (buf, sizeof buf, sqlite3_column_int64 (st, col)));
}

static json_t *
s_jtext (sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text (st, col);
    return t ? json_string ((const char *) t) : json_null ();
}

/*  One row of BF_JOBS_COLS into a job record. */
static void
s_row (bf_job_t *j, sqlite3_stmt *st, bool with_manifest)
{
    bf_job_init (j);
    snprintf (j->id, sizeof j->id, "%s", (const char *) sqlite3_column_text (st, 0));
    bf_job_state_parse (&j->state, (const char *) sqlite3_column_text (st, 1));
    j->stage = bf_db_column_dup (st, 2);
    bf_failure_parse (&j->failure, (const char *) sqlite3_column_text (st, 3));
    j->priority = sqlite3_column_int (st, 4);
    j->attempt = sqlite3_column_int (st, 5);
    j->worker = bf_db_column_dup (st, 6);
    j->action = bf_db_column_dup (st, 7);
    j->cache_key = bf_db_column_dup (st, 8);
    j->cache_hit = sqlite3_column_int (st, 9) != 0;
    j->bitstream = bf_db_column_dup (st, 10);
    j->report = bf_db_column_dup (st, 11);
    j->log = bf_db_column_dup (st, 12);
    j->error = bf_db_column_dup (st, 13);
    j->submitted_at = sqlite3_column_int64 (st, 14);
    j->started_at = sqlite3_column_int64 (st, 15);
    j->finished_at = sqlite3_column_int64 (st, 16);
    j->timeout_ms = sqlite3_column_int64 (st, 17);
    j->max_attempts = sqlite3_column_int (st, 18);
    int64_t not_before = sqlite3_column_int64 (st, 19);
    if (j->state == BF_JOB_QUEUED && not_before > bf_now_ms ())
        j->retry_at = not_before;
    j->follows = bf_db_column_dup (st, 20);
    j->tags = json_loads ((const char *) sqlite3_column_text (st, 21), 0, NULL);
    if (!j->tags)
        j->tags = json_array ();
    if (with_manifest) {
        j->manifest = json_loads ((const char *) sqlite3_column_text (st, 22), 0, NULL);
        if (!j->manifest)
            j->manifest = json_null ();
    }
    bf_job_kind_parse (&j->kind, (const char *) sqlite3_column_text (st, 23));
    if (j->kind == BF_KIND_PROGRAM) {
        j->board = bf_db_column_dup (st, 24);
        j->after = bf_db_column_dup (st, 25);
        j->reservation = sqlite3_column_type (st, 26) != SQLITE_NULL;
        j->bitstream_size = (uint64_t) sqlite3_column_int64 (st, 27);
    }
    j->owner = bf_db_column_dup (st, 28);
    j->owner_name = bf_db_column_dup (st, 29);
    j->toolchain = bf_db_column_dup (st, 30);
    const unsigned char *prov = sqlite3_column_text (st, 31);
    j->provenance = prov ? json_loads ((const char *) prov, 0, NULL) : NULL;
}

static int
s_get (bf_jobs_t *self, bf_job_t *out, const char *id, bool with_manifest)
{
    sqlite3_stmt *st = bf_db_stmt (self->db, "SELECT " BF_JOBS_COLS " FROM jobs WHERE id = ?");
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    int rc = BF_ENOTFOUND;
    if (sqlite3_step (st) == SQLITE_ROW) {
        s_row (out, st, with_manifest);
        rc = BF_OK;
    }
    bf_db_done (st);
    if (rc != BF_OK)
        bf_error_set (rc, "no job '%s'", id);
    return rc;
}

int
bf_jobs_get (bf_jobs_t *self, bf_job_t **out, const char *id, bool with_manifest)
{
    bf_job_t *job = xcalloc (1, sizeof *job);
    *out = NULL;
    int rc = s_get (self, job, id, with_manifest);
    if (rc != BF_OK) {
        free (job);
        return rc;
    }
    if (job->follows && !bf_job_state_final (job->state)) {
        /* A follower shows its leader's progress. */
        bf_job_t l;
        bf_job_init (&l);
        if (s_get (self, &l, job->follows, false) == BF_OK && !bf_job_state_final (l.state)) {
            job->state = l.state;
            free (job->stage);
            job->stage = l.stage ? xstrdup (l.stage) : NULL;
            free (job->worker);
            job->worker = l.worker ? xstrdup (l.worker) : NULL;
            job->started_at = l.started_at;
            job->retry_at = l.retry_at;
        }
        bf_job_release (&l);
    }
    *out = job;
    job = NULL;   /* transferred */
    return BF_OK;
}

int
bf_jobs_resolve_owned (bf_jobs_t *self, char *id_out, const char *prefix, const char *owner)
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
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT id FROM jobs WHERE id >= ?1 AND id < ?2 AND (?3 IS NULL OR owner = ?3) "
        "ORDER BY id LIMIT 2");
    sqlite3_bind_text (st, 1, lower, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, upper, -1, SQLITE_STATIC);
    bf_db_bind_str (st, 3, owner);
    int n = 0;
    while (sqlite3_step (st) == SQLITE_ROW) {
        if (n == 0)
            snprintf (id_out, BF_JOB_ID_LEN + 1, "%s", (const char *) sqlite3_column_text (st, 0));
        n++;
    }
    bf_db_done (st);
    if (n == 0)
        return bf_error_set (BF_ENOTFOUND, "no job '%s'", lower);
    if (n > 1)
        return bf_error_set (BF_EAMBIGUOUS, "job id prefix '%s' is ambiguous", lower);
    return BF_OK;
}

int
bf_jobs_resolve (bf_jobs_t *self, char *id_out, const char *prefix)
{
    return bf_jobs_resolve_owned (self, id_out, prefix, NULL);
}

int
bf_jobs_owner_key (bf_jobs_t *self, char *key_out, const char *prefix, const char *owner)
{
    size_t n = strlen (prefix);
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT DISTINCT cache_key FROM jobs WHERE owner = ?1 AND cache_key IS NOT NULL "
        "AND substr (cache_key, 1, ?2) = ?3 LIMIT 2");
    bf_db_bind_str (st, 1, owner);
    sqlite3_bind_int (st, 2, (int) n);
    sqlite3_bind_text (st, 3, prefix, -1, SQLITE_STATIC);
    int rows = 0;
    while (sqlite3_step (st) == SQLITE_ROW)
        if (rows++ == 0)
            snprintf (key_out, BF_SHA256_HEX_LEN + 1, "%s",
                      (const char *) sqlite3_column_text (st, 0));
    bf_db_done (st);
    return rows == 0 ? BF_ENOTFOUND : rows > 1 ? BF_EAMBIGUOUS : BF_OK;
}

json_t *
bf_jobs_events (bf_jobs_t *self, const char *id)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT at, event, attempt, worker, reason FROM events WHERE job = ? ORDER BY id");
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    json_t *arr = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW) {
        json_t *e = json_object ();
        json_object_set_new (e, "at", s_time (st, 0));
        json_object_set_new (e, "event", s_jtext (st, 1));
        json_object_set_new (e, "attempt", json_integer (sqlite3_column_int (st, 2)));
        json_object_set_new (e, "worker", s_jtext (st, 3));
        json_object_set_new (e, "reason", s_jtext (st, 4));
        json_array_append_new (arr, e);
    }
    bf_db_done (st);
    return arr;
}

/*  The first column of every row of a prepared statement, as a new JSON
    array of strings; finalizes the statement. */
static json_t *
s_ids (sqlite3_stmt *st)
{
    json_t *arr = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW)
        json_array_append_new (arr, json_string ((const char *) sqlite3_column_text (st, 0)));
    bf_db_done (st);
    return arr;
}

json_t *
bf_jobs_ready (bf_jobs_t *self, int64_t now, int limit)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT id FROM jobs WHERE state = 'queued' AND follows IS NULL AND not_before <= ? "
        "AND (after_job IS NULL OR bitstream IS NOT NULL) ORDER BY priority DESC, seq LIMIT ?");
    sqlite3_bind_int64 (st, 1, now);
    sqlite3_bind_int (st, 2, limit);
    return s_ids (st);
}

/*  A build's requirements as one text: its tags (canonical JSON) and pin. */
#define S_CLASS "tags || '|' || IFNULL(toolchain, '')"
#define S_READY_BUILD "state = 'queued' AND follows IS NULL AND not_before <= ?1 " \
                      "AND kind = 'build'"

json_t *
bf_jobs_ready_classes (bf_jobs_t *self, int64_t now)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT " S_CLASS ", tags, toolchain FROM jobs WHERE " S_READY_BUILD " GROUP BY 1");
    sqlite3_bind_int64 (st, 1, now);
    json_t *arr = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW) {
        json_t *tags = json_loads ((const char *) sqlite3_column_text (st, 1), 0, NULL);
        json_array_append_new (arr, json_pack ("{s:o, s:o, s:o}", "class", s_jtext (st, 0),
                                               "tags", tags ? tags : json_array (),
                                               "toolchain", s_jtext (st, 2)));
    }
    bf_db_done (st);
    return arr;
}

json_t *
bf_jobs_ready_fair (bf_jobs_t *self, int64_t now, json_t *classes, int limit)
{
    /* A job's turn: how many of its owner's builds run, plus its place
       among its owner's ready builds of the same priority.  Lower turns
       go first within a priority; among equal turns, the owner whose
       latest build started longest ago (round-robin: with one free slot
       each owner's turn is its place alone, and owners take it in turn). */
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "WITH run AS (SELECT owner, COUNT(*) AS n FROM jobs WHERE state = 'running' "
        "             AND kind = 'build' GROUP BY owner), "
        "q AS (SELECT id, priority, seq, owner, " S_CLASS " AS class FROM jobs "
        "      WHERE " S_READY_BUILD " AND " S_CLASS " IN (SELECT value FROM json_each (?2))), "
        "served AS (SELECT o.owner, (SELECT MAX (x.started_at) FROM jobs x "
        "           WHERE x.owner IS o.owner AND x.kind = 'build') AS at "
        "           FROM (SELECT DISTINCT owner FROM q) o), "
        "r AS (SELECT q.id, q.class, q.priority, q.seq, IFNULL (served.at, 0) AS served_at, "
        "      ROW_NUMBER () OVER (PARTITION BY q.priority, q.owner ORDER BY q.seq) "
        "      + IFNULL (run.n, 0) AS turn "
        "      FROM q LEFT JOIN run ON run.owner IS q.owner "
        "      LEFT JOIN served ON served.owner IS q.owner) "
        "SELECT id, class FROM r ORDER BY priority DESC, turn, served_at, seq LIMIT ?3");
    char *text = json_dumps (classes, JSON_COMPACT);
    sqlite3_bind_int64 (st, 1, now);
    sqlite3_bind_text (st, 2, text ? text : "[]", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int (st, 3, limit);
    free (text);
    json_t *arr = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW)
        json_array_append_new (arr, json_pack ("{s:o, s:o}", "id", s_jtext (st, 0), "class",
                                               s_jtext (st, 1)));
    bf_db_done (st);
    return arr;
}

json_t *
bf_jobs_ready_programs (bf_jobs_t *self, int64_t now)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT id, board || '|' || IFNULL(token_hash, '') FROM jobs WHERE state = 'queued' "
        "AND follows IS NULL AND not_before <= ? AND kind = 'program' AND bitstream IS NOT NULL "
        "ORDER BY priority DESC, seq");
    sqlite3_bind_int64 (st, 1, now);
    json_t *arr = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW)
        json_array_append_new (arr, json_pack ("{s:o, s:o}", "id", s_jtext (st, 0), "gate",
                                               s_jtext (st, 1)));
    bf_db_done (st);
    return arr;
}

int64_t
bf_jobs_next_ready (bf_jobs_t *self, int64_t now)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT MIN(not_before) FROM jobs WHERE state = 'queued' AND follows IS NULL "
        "AND not_before > ?");
    sqlite3_bind_int64 (st, 1, now);
    int64_t at = 0;
    if (sqlite3_step (st) == SQLITE_ROW)
        at = sqlite3_column_int64 (st, 0);
    bf_db_done (st);
    return at;
}

json_t *
bf_jobs_after_done (bf_jobs_t *self)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT p.id, b.id, b.state, b.bitstream, b.error FROM jobs p JOIN jobs b "
        "ON b.id = p.after_job WHERE p.after_job IS NOT NULL AND p.bitstream IS NULL "
        "AND p.state = 'queued' "
        "AND b.state NOT IN ('queued', 'running')");
    json_t *arr = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW)
        json_array_append_new (arr, json_pack ("{s:o, s:o, s:o, s:o, s:o}",
                                               "id", s_jtext (st, 0),
                                               "build", s_jtext (st, 1), "state", s_jtext (st, 2),
                                               "bitstream", s_jtext (st, 3), "error",
                                               s_jtext (st, 4)));
    bf_db_done (st);
    return arr;
}

int
bf_jobs_board_job (bf_jobs_t *self, char *id_out, const char *board)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT id FROM jobs WHERE board = ? AND state = 'running' LIMIT 1");
    sqlite3_bind_text (st, 1, board, -1, SQLITE_STATIC);
    int rc = BF_ENOTFOUND;
    if (sqlite3_step (st) == SQLITE_ROW) {
        snprintf (id_out, BF_JOB_ID_LEN + 1, "%s", (const char *) sqlite3_column_text (st, 0));
        rc = BF_OK;
    }
    bf_db_done (st);
    return rc;
}

const char *
bf_jobs_token_hash (bf_jobs_t *self, char *out, const char *id)
{
    sqlite3_stmt *st = bf_db_stmt (self->db, "SELECT token_hash FROM jobs WHERE id = ?");
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    const char *r = NULL;
    if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 0) != SQLITE_NULL) {
        snprintf (out, BF_SHA256_HEX_LEN + 1, "%s", (const char *) sqlite3_column_text (st, 0));
        r = out;
    }
    bf_db_done (st);
    return r;
}

json_t *
bf_jobs_running (bf_jobs_t *self)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT id, worker, attempt, deadline_at FROM jobs WHERE state = 'running'");
    json_t *arr = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW)
        json_array_append_new (arr, json_pack ("{s:o, s:o, s:i, s:I}", "id", s_jtext (st, 0),
                                               "worker", s_jtext (st, 1), "attempt",
                                               sqlite3_column_int (st, 2), "deadline_at",
                                               (json_int_t) sqlite3_column_int64 (st, 3)));
    bf_db_done (st);
    return arr;
}

json_t *
bf_jobs_overdue (bf_jobs_t *self, int64_t now)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT id FROM jobs WHERE state = 'running' AND deadline_at < ?");
    sqlite3_bind_int64 (st, 1, now);
    return s_ids (st);
}

json_t *
bf_jobs_list (bf_jobs_t *self, int limit, const char *owner, const char *commit)
{
    bf_jobs_filter_t f = { .commit = commit };
    return bf_jobs_list_where (self, limit, owner, &f);
}

json_t *
bf_jobs_list_where (bf_jobs_t *self, int limit, const char *owner, const bf_jobs_filter_t *f)
{
    /* Live jobs (the dashboard's ?state=running) through the queue index,
       then sorted: a walk of seq would read the whole kept history. */
    bool live = f->state && (strcmp (f->state, "queued") == 0
                             || strcmp (f->state, "running") == 0);
    sqlite3_stmt *st = bf_db_prepare (self->db, live
        ? "SELECT " BF_JOBS_COLS " FROM jobs INDEXED BY jobs_queue WHERE state = ?4 "
          "AND (?2 IS NULL OR owner = ?2) "
          "AND (?3 IS NULL OR substr (git_commit, 1, length (?3)) = ?3) "
          "AND (?5 IS NULL OR owner_name = ?5) "
          "AND (?6 IS NULL OR EXISTS (SELECT 1 FROM json_each (jobs.tags) t WHERE t.value = ?6)) "
          "AND (?7 IS NULL OR git_remote = ?7) "
          "ORDER BY seq DESC LIMIT ?1" :
        "SELECT " BF_JOBS_COLS " FROM jobs WHERE (?2 IS NULL OR owner = ?2) "
        "AND (?3 IS NULL OR substr (git_commit, 1, length (?3)) = ?3) "
        "AND (?4 IS NULL OR state = ?4) AND (?5 IS NULL OR owner_name = ?5) "
        "AND (?6 IS NULL OR EXISTS (SELECT 1 FROM json_each (jobs.tags) t WHERE t.value = ?6)) "
        "AND (?7 IS NULL OR git_remote = ?7) "
        "ORDER BY seq DESC LIMIT ?1");
    sqlite3_bind_int (st, 1, limit);
    bf_db_bind_str (st, 2, owner);
    bf_db_bind_str (st, 3, f->commit);
    bf_db_bind_str (st, 4, f->state);
    bf_db_bind_str (st, 5, f->owner_name);
    bf_db_bind_str (st, 6, f->tag);
    bf_db_bind_str (st, 7, f->repo);
    json_t *arr = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW)
    {
        bf_job_t job;
        s_row (&job, st, false);
        json_array_append_new (arr, bf_job_to_json (&job));
        bf_job_release (&job);
    }
    bf_db_done (st);
    return arr;
}


json_t *
bf_jobs_key_sources (bf_jobs_t *self, const char *key, const char *owner, int limit)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT id, provenance FROM jobs WHERE cache_key = ?1 AND provenance IS NOT NULL "
        "AND (?2 IS NULL OR owner = ?2) ORDER BY seq DESC LIMIT ?3");
    sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
    bf_db_bind_str (st, 2, owner);
    sqlite3_bind_int (st, 3, limit);
    json_t *arr = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW) {
        json_t *p = json_loads ((const char *) sqlite3_column_text (st, 1), 0, NULL);
        if (p)
            json_array_append_new (arr, json_pack ("{s:s, s:o}", "job",
                                                   (const char *) sqlite3_column_text (st, 0),
                                                   "provenance", p));
    }
    bf_db_done (st);
    return arr;
}
