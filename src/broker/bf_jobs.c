/*  bf_jobs - see bf_jobs.h.  This file holds the writes: creating jobs and
    moving them through their states (start, recover, stage, finish,
    retry), coalescing, and the toolchains seen; bf_jobs_query.c reads;
    bf_jobs_retain.c removes old finished jobs. */
#include "bf_jobs_int.h"
#include "../common/bf_provenance.h"
#include "../common/bf_db.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_sha256.h"
#include "../common/bf_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>


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
    bf_db_close ((*self_p)->db);
    free (*self_p);
    *self_p = NULL;
}

int
bf_jobs_batch_begin (bf_jobs_t *self)
{
    return bf_db_batch_begin (self->db);
}

int
bf_jobs_batch_end (bf_jobs_t *self, bool commit)
{
    return bf_db_batch_end (self->db, commit);
}

sqlite3 *
bf_jobs_db (bf_jobs_t *self)
{
    return self->db;
}

static const char *
s_jstr (json_t *obj, const char *key)
{
    return json_string_value (json_object_get (obj, key));
}

/*  Steps a changing statement: BF_OK, BF_EBUSY when no row changed, or
    BF_EIO. */
static int
s_changed (bf_jobs_t *self, sqlite3_stmt *st, const char *what)
{
    return bf_db_step_changes (self->db, st, BF_EBUSY, what);
}

static int
s_begin (bf_jobs_t *self)
{
    return bf_db_begin (self->db);
}

static int
s_end (bf_jobs_t *self, int rc)
{
    return bf_db_end (self->db, rc);
}

/*  Appends an event for every job matching `where` (an SQL condition with
    one text parameter, bound to arg), taking attempt and worker from the
    job's row unless worker is given. */
static int
s_event_where (bf_jobs_t *self, const char *where, const char *arg, const char *event,
               const char *worker, const char *reason)
{
    char *sql = xasprintf ("INSERT INTO events (job, at, event, attempt, worker, reason) "
                           "SELECT id, ?1, ?2, attempt, IFNULL(?3, worker), ?4 FROM jobs "
                           "WHERE %s ORDER BY seq", where);
    sqlite3_stmt *st = bf_db_stmt (self->db, sql);
    free (sql);
    sqlite3_bind_int64 (st, 1, bf_now_ms ());
    sqlite3_bind_text (st, 2, event, -1, SQLITE_STATIC);
    bf_db_bind_str (st, 3, worker);
    bf_db_bind_str (st, 4, reason);
    sqlite3_bind_text (st, 5, arg, -1, SQLITE_STATIC);
    int rc = s_changed (self, st, "record event");
    return rc == BF_EBUSY ? BF_OK : rc;
}

static int
s_event (bf_jobs_t *self, const char *id, const char *event, const char *reason)
{
    return s_event_where (self, "id = ?5", id, event, NULL, reason);
}

int
bf_jobs_create (bf_jobs_t *self, char *id_out, char *leader_out, const bf_job_spec_t *spec)
{
    char id[BF_JOB_ID_LEN + 1];
    char leader[BF_JOB_ID_LEN + 1] = "";
    json_t *hit = spec->hit;
    if (spec->id)
        snprintf (id, sizeof id, "%s", spec->id);
    else if (bf_random_hex (id, BF_JOB_ID_LEN / 2) != BF_OK)
        return bf_error_set (BF_EIO, "no random source for a job id");
    int rc = s_begin (self);
    if (rc != BF_OK)
        return rc;
    char *mtext = json_dumps (spec->manifest, JSON_COMPACT | JSON_SORT_KEYS);
    char *tags = spec->tags ? json_dumps (spec->tags, JSON_COMPACT) : xstrdup ("[]");
    if (!hit && !spec->board) {           /* program jobs never coalesce */
        /* Only a running leader with the same requirements (tags, pin):
           one that the same workers run, and that is not stuck queued. */
        sqlite3_stmt *st = bf_db_stmt (self->db,
            "SELECT id FROM jobs WHERE action = ? AND state = 'running' AND follows IS NULL "
            "AND kind = 'build' AND toolchain IS ? AND tags = ? ORDER BY seq LIMIT 1");
        sqlite3_bind_text (st, 1, spec->action, -1, SQLITE_STATIC);
        bf_db_bind_str (st, 2, spec->toolchain);
        sqlite3_bind_text (st, 3, tags, -1, SQLITE_STATIC);
        if (sqlite3_step (st) == SQLITE_ROW)
            snprintf (leader, sizeof leader, "%s", (const char *) sqlite3_column_text (st, 0));
        bf_db_done (st);
    }
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "INSERT INTO jobs (id, seq, state, stage, failure_class, priority, action, cache_key, "
        "cache_hit, manifest, bitstream, report, log, error, submitted_at, started_at, "
        "finished_at, timeout_ms, max_attempts, follows, tags, toolchain) VALUES (?1, "
        "(SELECT IFNULL(MAX(seq), 0) + 1 FROM jobs), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
        "?12, ?13, ?14, ?15, ?15, ?16, ?17, ?18, ?19, ?20)");
    int64_t now = bf_now_ms ();
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    if (hit) {
        bool ok = strcmp (s_jstr (hit, "outcome"), "succeeded") == 0;
        sqlite3_bind_text (st, 2, ok ? "succeeded" : "failed", -1, SQLITE_STATIC);
        bf_db_bind_str (st, 3, ok ? "done" : s_jstr (hit, "stage"));
        bf_db_bind_str (st, 4, ok ? NULL : "design");
        sqlite3_bind_int (st, 8, 1);
        bf_db_bind_str (st, 10, s_jstr (hit, "bitstream"));
        bf_db_bind_str (st, 11, s_jstr (hit, "report"));
        bf_db_bind_str (st, 12, s_jstr (hit, "log"));
        bf_db_bind_str (st, 13, s_jstr (hit, "error"));
        sqlite3_bind_int64 (st, 15, now);
    }
    else {
        sqlite3_bind_text (st, 2, "queued", -1, SQLITE_STATIC);
        sqlite3_bind_int (st, 8, 0);
    }
    sqlite3_bind_int (st, 5, spec->priority);
    sqlite3_bind_text (st, 6, spec->action, -1, SQLITE_STATIC);
    bf_db_bind_str (st, 7, spec->cache_key);
    sqlite3_bind_text (st, 9, mtext, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 14, now);
    sqlite3_bind_int64 (st, 16, spec->timeout_ms);
    sqlite3_bind_int (st, 17, spec->max_attempts);
    bf_db_bind_str (st, 18, leader[0] ? leader : NULL);
    sqlite3_bind_text (st, 19, tags, -1, SQLITE_STATIC);
    bf_db_bind_str (st, 20, spec->toolchain);
    if (sqlite3_step (st) != SQLITE_DONE)
        rc = bf_error_set (BF_EIO, "cannot record job: %s", sqlite3_errmsg (self->db));
    bf_db_done (st);
    free (mtext);
    free (tags);
    if (rc == BF_OK && spec->board) {
        st = bf_db_stmt (self->db,
            "UPDATE jobs SET kind = 'program', board = ?, after_job = ?, token_hash = ?, "
            "bitstream = ?, bitstream_size = ? WHERE id = ?");
        bf_db_bind_str (st, 1, spec->board);
        bf_db_bind_str (st, 2, spec->after);
        bf_db_bind_str (st, 3, spec->token_hash);
        bf_db_bind_str (st, 4, spec->bitstream);
        sqlite3_bind_int64 (st, 5, (sqlite3_int64) spec->bitstream_size);
        sqlite3_bind_text (st, 6, id, -1, SQLITE_STATIC);
        rc = s_changed (self, st, "record program job");
    }
    if (rc == BF_OK && spec->owner) {
        st = bf_db_stmt (self->db, "UPDATE jobs SET owner = ?, owner_name = ? WHERE id = ?");
        bf_db_bind_str (st, 1, spec->owner);
        bf_db_bind_str (st, 2, spec->owner_name);
        sqlite3_bind_text (st, 3, id, -1, SQLITE_STATIC);
        rc = s_changed (self, st, "record owner");
    }
    if (rc == BF_OK && spec->provenance) {
        char *ptext = json_dumps (spec->provenance, JSON_COMPACT | JSON_SORT_KEYS);
        st = bf_db_stmt (self->db, "UPDATE jobs SET provenance = ?, git_commit = ?, "
                            "git_remote = ? WHERE id = ?");
        bf_db_bind_str (st, 1, ptext);
        bf_db_bind_str (st, 2, json_string_value (json_object_get (spec->provenance, "commit")));
        bf_db_bind_str (st, 3, json_string_value (json_object_get (spec->provenance, "remote")));
        sqlite3_bind_text (st, 4, id, -1, SQLITE_STATIC);
        rc = s_changed (self, st, "record provenance");
        free (ptext);
        char line[1024];
        bf_provenance_line (line, sizeof line, spec->provenance);
        if (rc == BF_OK)
            rc = s_event (self, id, "source", line);
    }
    /* A hit's saved build time in the same transaction: one commit (one
       fsync) per hit, not two (issue 20). */
    if (rc == BF_OK && hit)
        rc = bf_jobs_set_saved (self, id, json_integer_value (json_object_get (hit, "build_ms")));
    if (rc == BF_OK) {
        if (hit)
            rc = s_event (self, id, json_string_value (json_object_get (hit, "outcome")),
                          "cache hit");
        else if (leader[0]) {
            char *why = xasprintf ("identical to job %s; following it", leader);
            rc = s_event (self, id, "coalesced", why);
            free (why);
            /* The leader runs at the most urgent priority of its followers. */
            if (rc == BF_OK) {
                st = bf_db_stmt (self->db,
                    "UPDATE jobs SET priority = MAX(priority, ?) WHERE id = ?");
                sqlite3_bind_int (st, 1, spec->priority);
                sqlite3_bind_text (st, 2, leader, -1, SQLITE_STATIC);
                rc = s_changed (self, st, "raise priority");
            }
        }
        else
            rc = s_event (self, id, "queued", NULL);
    }
    rc = s_end (self, rc);
    if (rc == BF_OK) {
        memcpy (id_out, id, sizeof id);
        if (leader_out)
            memcpy (leader_out, leader, sizeof leader);
    }
    return rc;
}

int
bf_jobs_set_bitstream (bf_jobs_t *self, const char *id, const char *bitstream, uint64_t size)
{
    int rc = s_begin (self);
    if (rc != BF_OK)
        return rc;
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "UPDATE jobs SET bitstream = ?, bitstream_size = ? "
        "WHERE id = ? AND state = 'queued' AND kind = 'program' AND bitstream IS NULL");
    sqlite3_bind_text (st, 1, bitstream, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, (sqlite3_int64) size);
    sqlite3_bind_text (st, 3, id, -1, SQLITE_STATIC);
    rc = s_changed (self, st, "set the bitstream");
    if (rc == BF_OK)
        rc = s_event (self, id, "ready", "its build succeeded");
    return s_end (self, rc);
}

int
bf_jobs_start (bf_jobs_t *self, const char *id, const bf_attempt_t *a, int64_t deadline_at)
{
    int rc = s_begin (self);
    if (rc != BF_OK)
        return rc;
    const char *key = a->cache_key[0] ? a->cache_key : NULL;
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "UPDATE jobs SET state = 'running', stage = 'dispatched', attempt = attempt + 1, "
        "worker = ?, cache_key = ?, started_at = ?, deadline_at = ?, "
        "not_before = 0 WHERE id = ? AND state = 'queued' AND attempt + 1 = ?");
    sqlite3_bind_text (st, 1, a->worker, -1, SQLITE_STATIC);
    bf_db_bind_str (st, 2, key);
    sqlite3_bind_int64 (st, 3, bf_now_ms ());
    sqlite3_bind_int64 (st, 4, deadline_at);
    sqlite3_bind_text (st, 5, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 6, a->attempt);
    rc = s_changed (self, st, "start job");
    if (rc == BF_OK)
        rc = bf_jobs__attempt_insert (self, id, a);
    if (rc == BF_OK)
        rc = s_event (self, id, "running", NULL);
    return s_end (self, rc);
}

int
bf_jobs_recover (bf_jobs_t *self, const char *id, const char *worker, int64_t deadline_at)
{
    int rc = s_begin (self);
    if (rc != BF_OK)
        return rc;
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "UPDATE jobs SET state = 'running', worker = ?, deadline_at = ?, not_before = 0, "
        "stage = IFNULL(stage, 'recovered'), started_at = IFNULL(started_at, ?) "
        "WHERE id = ? AND state IN ('queued', 'running') AND follows IS NULL AND attempt > 0");
    sqlite3_bind_text (st, 1, worker, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, deadline_at);
    sqlite3_bind_int64 (st, 3, bf_now_ms ());
    sqlite3_bind_text (st, 4, id, -1, SQLITE_STATIC);
    rc = s_changed (self, st, "recover job");
    if (rc == BF_OK)
        rc = s_event (self, id, "recovered", "its worker registered again and still holds it");
    return s_end (self, rc);
}

int
bf_jobs_stage (bf_jobs_t *self, const char *id, const char *stage)
{
    int rc = s_begin (self);
    if (rc != BF_OK)
        return rc;
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "UPDATE jobs SET stage = ? WHERE id = ? AND state = 'running' AND stage IS NOT ?1");
    sqlite3_bind_text (st, 1, stage, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, id, -1, SQLITE_STATIC);
    rc = s_changed (self, st, "record stage");
    if (rc == BF_OK)
        rc = s_event (self, id, "stage", stage);
    return s_end (self, rc);
}

/*  The followers of a finished leader: they share a success or a failure;
    after a cancel or a timeout, the oldest one leads the rest. */
static int
s_followers (bf_jobs_t *self, const char *leader, const bf_result_t *result, int *count)
{
    const char *state = bf_job_state_name (result->state);
    int rc;
    sqlite3_stmt *st;
    if (strcmp (state, "succeeded") == 0 || strcmp (state, "failed") == 0) {
        char *why = xasprintf ("result of job %s", leader);
        rc = s_event_where (self, "follows = ?5 AND state = 'queued'", leader, state, NULL, why);
        free (why);
        if (rc != BF_OK)
            return rc;
        st = bf_db_stmt (self->db,
            "UPDATE jobs SET (state, failure_class, stage, error, bitstream, report, log, "
            "cache_hit, cache_key, attempt, started_at, finished_at) = (SELECT state, "
            "failure_class, stage, error, bitstream, report, log, cache_hit, cache_key, 0, "
            "started_at, finished_at FROM jobs WHERE id = ?1) "
            "WHERE follows = ?1 AND state = 'queued'");
        sqlite3_bind_text (st, 1, leader, -1, SQLITE_STATIC);
        rc = s_changed (self, st, "finish followers");
        if (rc == BF_OK)
            *count = sqlite3_changes (self->db);
        return rc == BF_EBUSY ? BF_OK : rc;
    }
    /* Cancelled or timed out: every follower is queued on its own again;
       the first of them dispatched leads the rest (bf_jobs_follow). */
    char *why = xasprintf ("job %s, which it followed, was %s; queued on its own", leader,
                           state);
    rc = s_event_where (self, "follows = ?5 AND state = 'queued'", leader, "released", NULL,
                        why);
    free (why);
    if (rc != BF_OK)
        return rc;
    st = bf_db_stmt (self->db,
        "UPDATE jobs SET follows = NULL WHERE follows = ?1 AND state = 'queued'");
    sqlite3_bind_text (st, 1, leader, -1, SQLITE_STATIC);
    rc = s_changed (self, st, "release followers");
    if (rc == BF_OK)
        *count = sqlite3_changes (self->db);
    return rc == BF_EBUSY ? BF_OK : rc;
}

int
bf_jobs_follow (bf_jobs_t *self, char *leader_out, const char *id)
{
    leader_out[0] = '\0';
    int rc = s_begin (self);
    if (rc != BF_OK)
        return rc;
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT l.id FROM jobs j JOIN jobs l ON l.action = j.action AND l.state = 'running' "
        "AND l.follows IS NULL AND l.kind = 'build' AND l.toolchain IS j.toolchain "
        "AND l.tags = j.tags AND l.id != j.id "
        "WHERE j.id = ? AND j.state = 'queued' AND j.follows IS NULL AND j.kind = 'build' "
        "ORDER BY l.seq LIMIT 1");
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    char leader[BF_JOB_ID_LEN + 1] = "";
    if (sqlite3_step (st) == SQLITE_ROW)
        snprintf (leader, sizeof leader, "%s", (const char *) sqlite3_column_text (st, 0));
    bf_db_done (st);
    if (!leader[0])
        return s_end (self, BF_ENOTFOUND);
    char *why = xasprintf ("identical to job %s, which is running; following it", leader);
    /* The job, and any followers it had (a leader queued again for a
       retry), follow the running one. */
    rc = s_event_where (self, "(id = ?5 OR follows = ?5) AND state = 'queued'", id,
                        "coalesced", NULL, why);
    free (why);
    if (rc == BF_OK) {
        st = bf_db_stmt (self->db,
            "UPDATE jobs SET follows = ?2 WHERE (id = ?1 OR follows = ?1) AND state = 'queued'");
        sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 2, leader, -1, SQLITE_STATIC);
        rc = s_changed (self, st, "follow a running job");
    }
    if (rc == BF_OK) {
        st = bf_db_stmt (self->db,
            "UPDATE jobs SET priority = MAX(priority, (SELECT priority FROM jobs WHERE id = ?1)) "
            "WHERE id = ?2");
        sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 2, leader, -1, SQLITE_STATIC);
        rc = s_changed (self, st, "raise priority");
    }
    rc = s_end (self, rc);
    if (rc == BF_OK)
        memcpy (leader_out, leader, sizeof leader);
    return rc;
}

/*  bf_jobs_finish inside an open transaction. */
static int
s_finish (bf_jobs_t *self, const char *id, const bf_result_t *result, const char *reason,
          int *count)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "UPDATE jobs SET state = ?, failure_class = ?, stage = IFNULL(?, stage), error = ?, "
        "bitstream = IFNULL(?, bitstream), report = ?, log = ?, cache_hit = ?, finished_at = ?, "
        "deadline_at = NULL WHERE id = ? AND state IN ('queued', 'running')");
    bf_db_bind_str (st, 1, bf_job_state_name (result->state));
    bf_db_bind_str (st, 2, bf_failure_name (result->failure));
    bf_db_bind_str (st, 3, result->stage);
    bf_db_bind_str (st, 4, result->error);
    bf_db_bind_str (st, 5, result->bitstream);
    bf_db_bind_str (st, 6, result->report);
    bf_db_bind_str (st, 7, result->log);
    sqlite3_bind_int (st, 8, result->cache_hit);
    sqlite3_bind_int64 (st, 9, bf_now_ms ());
    sqlite3_bind_text (st, 10, id, -1, SQLITE_STATIC);
    int rc = s_changed (self, st, "finish job");
    if (rc == BF_OK)
        rc = s_event (self, id, bf_job_state_name (result->state),
                      reason ? reason : result->error);
    if (rc == BF_OK)
        rc = s_followers (self, id, result, count);
    return rc;
}

int
bf_jobs_finish (bf_jobs_t *self, const char *id, const bf_result_t *result, const char *reason,
                int *followers_out)
{
    int count = 0;
    int rc = s_begin (self);
    if (rc != BF_OK)
        return rc;
    rc = s_end (self, s_finish (self, id, result, reason, &count));
    if (followers_out)
        *followers_out = rc == BF_OK ? count : 0;
    return rc;
}

int
bf_jobs_retry (bf_jobs_t *self, const char *id, const char *reason, int64_t backoff_ms,
               bool *final_out)
{
    *final_out = false;
    int rc = s_begin (self);
    if (rc != BF_OK)
        return rc;
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT attempt >= max_attempts FROM jobs WHERE id = ? "
        "AND state IN ('queued', 'running')");
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step (st);
    bool last = step == SQLITE_ROW && sqlite3_column_int (st, 0);
    bf_db_done (st);
    if (step != SQLITE_ROW)
        return s_end (self, BF_EBUSY);
    if (last) {
        char *error = xasprintf ("%s (attempts used up)", reason);
        bf_result_t res = { .state = BF_JOB_FAILED, .failure = BF_FAILURE_INFRASTRUCTURE,
                            .error = error };
        int count = 0;
        rc = s_finish (self, id, &res, error, &count);
        free (error);
        *final_out = true;
        return s_end (self, rc);
    }
    st = bf_db_stmt (self->db,
        "UPDATE jobs SET state = 'queued', stage = NULL, worker = NULL, deadline_at = NULL, "
        "not_before = ?, error = ? WHERE id = ?");
    sqlite3_bind_int64 (st, 1, bf_now_ms () + backoff_ms);
    sqlite3_bind_text (st, 2, reason, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, id, -1, SQLITE_STATIC);
    rc = s_changed (self, st, "requeue job");
    if (rc == BF_OK) {
        char *why = xasprintf ("%s; retry in %lld ms", reason, (long long) backoff_ms);
        rc = s_event (self, id, "retry", why);
        free (why);
    }
    return s_end (self, rc);
}
