/*  bf_jobs - the broker's durable job table (SQLite, schema/jobs).

    Every state change is committed (WAL, synchronous=FULL) together with
    its row in the job's event history before the function returns, so the
    broker acknowledges nothing that a kill -9 could lose.  Job ids are 32
    lowercase hex characters: 128 random bits from OpenSSL's RAND_bytes.

    States: queued -> running -> succeeded | failed | cancelled | timed_out.
    Kinds: "build" (a manifest to build) and "program" (a bitstream to load
    into a board; see bf_boards.h).  A program job created by `submit
    --program` waits, queued, for its build (after_job, kept for the
    record) and is not ready until bf_jobs_set_bitstream gives it one.  Program jobs never coalesce.
    A running job that meets an infrastructure failure goes back to queued
    (bf_jobs_retry) with a back-off, until its attempts are used up.

    Coalescing (single-flight): a job created while another job with the
    same action digest, the same tags and the same toolchain pin (or none)
    is running "follows" that leader instead of being queued for a build of
    its own; a queued job about to be dispatched does the same
    (bf_jobs_follow).  A job never follows a queued one, so no job waits
    on a leader that cannot be dispatched.  When the leader succeeds or
    fails, every follower finishes with the same result in the same
    transaction.  When the leader is cancelled or times out (which says
    nothing about the design) its followers are queued on their own again
    (event "released").

    Times are milliseconds since the epoch (bf_now_ms) unless named _ms.
    Thread-safety: a bf_jobs_t belongs to one thread (the broker loop).
*/
#ifndef BF_JOBS_H_INCLUDED
#define BF_JOBS_H_INCLUDED

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include "../common/bf_job.h"

#define BF_JOB_PREFIX_MIN 4

typedef struct _bf_jobs_t bf_jobs_t;

/*  What a new job is made of.  Nothing is taken over: the caller keeps its
    references. */
typedef struct {
    const char *id;              /* the job id to use (BF_JOB_ID_LEN hex), or NULL: a new one */
    json_t *manifest;            /* normalized manifest */
    const char *action;          /* its action digest (bf_key_action) */
    const char *cache_key;       /* NULL when no toolchain is known yet */
    int priority;                /* higher runs first */
    int64_t timeout_ms;          /* wall-clock limit of one attempt, > 0 */
    int max_attempts;            /* >= 1 */
    json_t *tags;                /* array of worker tags required; NULL = none */
    json_t *hit;                 /* cache entry: create the job finished, or NULL */
    const char *toolchain;       /* the toolchain id a build is pinned to, or NULL: any */
    /* A program job (kind "program") when board is set: */
    const char *board;           /* the board to load */
    const char *after;           /* a build job whose bitstream it waits for, or NULL */
    const char *bitstream;       /* digest of the bitstream (NULL while after is set) */
    uint64_t bitstream_size;     /* its size, bytes */
    const char *token_hash;      /* sha256 of the reservation token it carries, or NULL */
    /* Who submitted it (CURVE brokers): */
    const char *owner;           /* Z85 public key, or NULL (a plain broker) */
    const char *owner_name;      /* the key's name, for people, or NULL */
    json_t *provenance;          /* checked (bf_provenance_check), or NULL: recorded with its
                                    commit, and as the event "source" */
} bf_job_spec_t;

/*  Opens (creating, migrating) the database at path.  BF_OK or BF_EIO. */
int bf_jobs_open (bf_jobs_t **out, const char *path);
void bf_jobs_destroy (bf_jobs_t **self_p);

/*  Group commit (bf_db_batch_begin): between bf_jobs_batch_begin and
    bf_jobs_batch_end every change below joins one transaction, each
    operation a savepoint of it (a failed one undoes only itself), and
    none is durable, nor may be acknowledged, until bf_jobs_batch_end
    (self, true) returns BF_OK (one fsync for the batch).  Without a batch
    each operation commits (and fsyncs) by itself, as it always did.
    BF_OK or BF_EIO with a detail; a failed end leaves nothing of the
    batch on disk.  The broker's thread only. */
int bf_jobs_batch_begin (bf_jobs_t *self);
int bf_jobs_batch_end (bf_jobs_t *self, bool commit);

/*  The database handle (borrowed: valid until bf_jobs_destroy), for the
    other tables of the jobs database to share it (bf_boards_open_on,
    bf_tokens_open_on) and so join its batches. */
sqlite3 *bf_jobs_db (bf_jobs_t *self);

/*  Creates a job.  With spec->hit the job is created finished, as a cache
    hit (its saved_ms, bf_jobs_set_saved, from the entry's "build_ms", in the
    same transaction).  Otherwise, if a job with the same action, tags and pin is running,
    the new job follows it (leader_out receives the leader's id, else ""), or
    else it is queued.  id_out and leader_out hold BF_JOB_ID_LEN + 1 bytes.
    BF_OK or BF_EIO. */
int bf_jobs_create (bf_jobs_t *self, char *id_out, char *leader_out, const bf_job_spec_t *spec);

/*  Resolves a full id or a unique prefix (at least BF_JOB_PREFIX_MIN hex
    chars) into id_out.  BF_OK, BF_EINVAL (malformed), BF_ENOTFOUND or
    BF_EAMBIGUOUS, each with a detail. */
int bf_jobs_resolve (bf_jobs_t *self, char *id_out, const char *prefix);

/*  The same among the jobs of one owner (a Z85 key; NULL: every job), as
    a non-admin client sees them: another owner's job is "no job", and
    makes no prefix ambiguous (docs/security.md, "Tenants"). */
int bf_jobs_resolve_owned (bf_jobs_t *self, char *id_out, const char *prefix,
                           const char *owner);

/*  The cache key (65 bytes into key_out) of one of owner's jobs that
    begins with prefix (lowercase hex, already checked).  BF_OK,
    BF_ENOTFOUND or BF_EAMBIGUOUS (two of its jobs' keys match), without
    a detail: the caller words it as the cache would. */
int bf_jobs_owner_key (bf_jobs_t *self, char *key_out, const char *prefix, const char *owner);

/*  The job record (bf_job.h), with its manifest when with_manifest.  A
    follower shows its leader's state, stage, worker and times while the
    leader is not finished.  *out is new; the caller frees it with
    bf_job_free.  BF_OK or BF_ENOTFOUND (with a detail). */
int bf_jobs_get (bf_jobs_t *self, bf_job_t **out, const char *id, bool with_manifest);

/*  The job's event history, oldest first, as a new JSON array of
    {"at", "event", "attempt", "worker", "reason"}. */
json_t *bf_jobs_events (bf_jobs_t *self, const char *id);

/*  Up to `limit` ids of queued leaders whose back-off has passed by `now`,
    builds and program jobs, in priority then FIFO order, as a new JSON
    array.  (The broker dispatches through bf_jobs_ready_fair and
    bf_jobs_ready_programs.) */
json_t *bf_jobs_ready (bf_jobs_t *self, int64_t now, int limit);

/*  The requirement classes of the ready builds (queued leaders whose
    back-off has passed by `now`): a new JSON array of {"class": TEXT,
    "tags": [...], "toolchain": ID-or-null}, one per distinct tags and pin.
    "class" is opaque: give it back to bf_jobs_ready_fair. */
json_t *bf_jobs_ready_classes (bf_jobs_t *self, int64_t now);

/*  Up to `limit` ready builds whose class is in `classes` (a JSON array
    of class texts, borrowed), in fair dispatch order: priority (higher
    first); within a priority, the job's turn, which is how many builds
    its owner runs now plus its place among its owner's ready builds of
    that priority (a round-robin across owners, docs/protocol.md 6.3);
    then submission order.  A new JSON array of {"id", "class"}. */
json_t *bf_jobs_ready_fair (bf_jobs_t *self, int64_t now, json_t *classes, int limit);

/*  The ready program jobs (with their bitstream, back-off passed) in
    priority then FIFO order: a new JSON array of {"id", "gate"}, where
    jobs with the same gate (board and reservation token) are blocked or
    free together. */
json_t *bf_jobs_ready_programs (bf_jobs_t *self, int64_t now);

/*  The earliest back-off end after `now` of a queued leader, or 0. */
int64_t bf_jobs_next_ready (bf_jobs_t *self, int64_t now);

/*  The most recent jobs first, as a new JSON array of job objects: every
    job when owner is NULL, else only that owner's (a Z85 key); with
    commit (lowercase hex, checked by the caller), only the jobs whose
    provenance's commit begins with it. */
json_t *bf_jobs_list (bf_jobs_t *self, int limit, const char *owner, const char *commit);

/*  bf_jobs_list with more filters (the HTTP API's /api/v1/jobs): each
    field NULL for any, else only jobs with that state name, that key
    name (owner_name, the submitting key's name), that required worker
    tag, that provenance remote (git_remote), whose commit begins with
    commit. */
typedef struct {
    const char *state, *owner_name, *tag, *repo, *commit;
} bf_jobs_filter_t;
json_t *bf_jobs_list_where (bf_jobs_t *self, int limit, const char *owner,
                            const bf_jobs_filter_t *f);

/*  The provenance of the most recent jobs (at most limit) with this cache
    key that carry one, of owner (NULL: any): a new JSON array of {"job",
    "provenance"}, newest first. */
json_t *bf_jobs_key_sources (bf_jobs_t *self, const char *key, const char *owner, int limit);

/*  One dispatch of a job (table attempts, schema/jobs/006_attempts.sql):
    a RESULT counts only when it names an attempt dispatched to the
    worker that sends it, and is stored under this cache_key.  Strings are
    "" when absent (program jobs have no toolchain or key). */
typedef struct {
    int64_t attempt;                        /* 1, 2, ... */
    char worker[65];                        /* worker name */
    char worker_key[41];                    /* Z85 CURVE key; "" on a plain broker */
    char toolchain[65];                     /* identity digest the build is for */
    char cache_key[65];                     /* the broker's key for that toolchain */
    int64_t dispatched_at;                  /* ms since the epoch */
} bf_attempt_t;

/*  queued -> running as attempt a->attempt (which must be the job's attempt
    + 1) on worker a->worker, with the attempt's time limit at deadline_at;
    the attempt row is written in the same transaction.  BF_OK, or BF_EBUSY
    when the job is not queued (or the attempt number is not the next). */
int bf_jobs_start (bf_jobs_t *self, const char *id, const bf_attempt_t *a, int64_t deadline_at);

/*  Attempt `attempt` of job id into out: BF_OK, or BF_ENOTFOUND (never
    dispatched, or dispatched before schema version 6). */
int bf_jobs_attempt_get (bf_jobs_t *self, bf_attempt_t *out, const char *id, int64_t attempt);

/*  A worker that re-registered still holds the job: it becomes (or stays)
    running on `worker` with its attempt count unchanged.  BF_OK, or
    BF_EBUSY when the job is finished. */
int bf_jobs_recover (bf_jobs_t *self, const char *id, const char *worker, int64_t deadline_at);

/*  Records the current stage of a running job (only when it changes).
    BF_OK, or BF_EBUSY when the job is not running. */
int bf_jobs_stage (bf_jobs_t *self, const char *id, const char *stage);

/*  Finishes a job that is not finished yet with result (bf_result_t: a
    final state, the failure class, stage, error, the result's object
    digests, whether it was a cache hit); reason goes to the event history.
    Followers finish too, or are released (see above); *followers_out,
    if given, receives how many were finished or re-pointed.  BF_OK, or
    BF_EBUSY when already finished (a job never records two results). */
int bf_jobs_finish (bf_jobs_t *self, const char *id, const bf_result_t *result,
                    const char *reason, int *followers_out);

/*  An attempt of a running (or, after a lost lease, queued) job failed for
    an infrastructure reason.  If attempts remain, the job is queued again
    not before now + backoff_ms and *final_out is false; otherwise it fails
    with class "infrastructure" and the reason as its error, and *final_out
    is true.  BF_OK, or BF_EBUSY when the job is already finished. */
int bf_jobs_retry (bf_jobs_t *self, const char *id, const char *reason, int64_t backoff_ms,
                   bool *final_out);

/*  A queued build with no leader follows a running job with the same
    action digest, tags and toolchain pin, if there is one (single flight
    decided at dispatch: a job never waits on a leader that is itself
    queued); followers it had follow that job too.  The leader's id goes to
    leader_out (BF_JOB_ID_LEN + 1 bytes).  BF_OK, BF_ENOTFOUND when there
    is no such running job (leader_out ""), or BF_EIO. */
int bf_jobs_follow (bf_jobs_t *self, char *leader_out, const char *id);

/* ---- retention (bf_jobs_retain.c; issue 20) ---- */

/*  Which finished jobs are kept (--keep-jobs): those that finished less
    than max_age_ms ago, or the newest max_count finished ones (by finish
    time); both 0: every job.  Only one of the two is set. */
typedef struct {
    int64_t max_age_ms;          /* 0: no age limit */
    int64_t max_count;           /* 0: no count limit */
} bf_jobs_keep_t;

#define BF_JOBS_KEEP_COUNT_MAX 1000000000000LL

/*  Parses a --keep-jobs value strictly: a duration with its unit ("30d",
    "12h", "90m", "45s", "500ms"; 1 s to 3650 d), a count of jobs (digits
    only, 1 to BF_JOBS_KEEP_COUNT_MAX), or "all".  BF_OK, or BF_EINVAL with
    a one-line detail naming option and value. */
int bf_jobs_keep_parse (bf_jobs_keep_t *out, const char *option, const char *value);

/*  The policy as text for people: "30d", "100000 jobs", "all". */
const char *bf_jobs_keep_text (char *buf, size_t len, const bf_jobs_keep_t *keep);

/*  Removes, in one transaction, up to `limit` finished jobs that `keep`
    does not keep at `now` (ms since the epoch), oldest finished first, with
    every row about them (events, attempts).  Never removes a queued or
    running job, nor one that is referred to: the leader of an unfinished
    follower, the build an unfinished program job waits for (after_job),
    a board's last job.  Cache entries and objects are never touched.
    Candidates come oldest first from the index jobs_finished, and a
    count compares with the number of finished jobs in job_counts (kept by
    triggers), so one call costs O(limit log n), never a walk of the jobs
    kept.  *ids_out receives a new JSON array of the ids removed (the
    caller removes their logs).  BF_OK or BF_EIO. */
int bf_jobs_retain (bf_jobs_t *self, json_t **ids_out, const bf_jobs_keep_t *keep, int64_t now,
                    int limit);

/*  bf_jobs_retain of the finished jobs that finished before `before`. */
int bf_jobs_prune (bf_jobs_t *self, json_t **ids_out, int64_t before, int limit);

/*  How many of owner's (NULL: all) jobs are queued and running: a new
    object {"queued": n, "running": n}, through the queue index (no walk
    of the finished jobs). */
json_t *bf_jobs_count_live (bf_jobs_t *self, const char *owner);

/*  Program jobs queued after a build that has finished: a new JSON array
    of {"id", "build", "state", "bitstream", "error"} (the build's state,
    bitstream digest and error). */
json_t *bf_jobs_after_done (bf_jobs_t *self);

/*  A program job waiting for its build gets the build's bitstream and
    becomes ready.  BF_OK, or BF_EBUSY when it is not a queued program job. */
int bf_jobs_set_bitstream (bf_jobs_t *self, const char *id, const char *bitstream,
                           uint64_t size);

/*  The running program job on `board` into id_out (BF_JOB_ID_LEN + 1
    bytes): BF_OK, or BF_ENOTFOUND when the board is not busy.  Busy is
    read from the job table, never stored apart, so it cannot drift. */
int bf_jobs_board_job (bf_jobs_t *self, char *id_out, const char *board);

/*  The reservation token hash a program job carries, into out (65 bytes);
    returns out, or NULL when it carries none. */
const char *bf_jobs_token_hash (bf_jobs_t *self, char *out, const char *id);

/*  All running jobs, as a new JSON array of {"id", "worker", "attempt",
    "deadline_at"}. */
json_t *bf_jobs_running (bf_jobs_t *self);

/*  Ids of running jobs whose deadline_at is before now, as a new array. */
json_t *bf_jobs_overdue (bf_jobs_t *self, int64_t now);

/*  Remembers a toolchain identity seen from a worker (versions: the tool
    version lines, shown to people).  first_seen is set once. */
int bf_jobs_toolchain_seen (bf_jobs_t *self, const char *id, const char *family, json_t *versions);

/*  The toolchain whose id starts with prefix (8 to 64 hex characters)
    among those ever seen, into out (65 bytes).  BF_OK, BF_EINVAL
    (malformed), BF_ENOTFOUND or BF_EAMBIGUOUS, each with a detail. */
int bf_jobs_toolchain_resolve (bf_jobs_t *self, char *out, const char *prefix);

/*  Every toolchain seen, oldest first: a new JSON array of {"id",
    "family", "versions", "first_seen", "last_seen"} (ms since the epoch). */
json_t *bf_jobs_toolchains (bf_jobs_t *self);

/*  A farm setting (table settings): its value into out (outlen bytes, cut
    to fit) and BF_OK, or BF_ENOTFOUND.  Setting value NULL deletes it. */
int bf_jobs_setting_get (bf_jobs_t *self, char *out, size_t outlen, const char *name);
int bf_jobs_setting_set (bf_jobs_t *self, const char *name, const char *value);

/*  Binds worker name to CURVE key (key "" on a plain broker) for good
    (table worker_names): BF_OK when the name is new or already bound to
    key (last_seen is updated), BF_EACCES with a detail when another key
    holds it.  Survives restarts; only bf_jobs_worker_release frees it. */
int bf_jobs_worker_bind (bf_jobs_t *self, const char *name, const char *key);

/*  Frees a worker name for another key: BF_OK or BF_ENOTFOUND. */
int bf_jobs_worker_release (bf_jobs_t *self, const char *name);

/* ---- cache statistics (bf_jobs_stats.c; issue 16, r16-stats) ---- */

/*  Records on job id, a cache hit, the build time it saved (ms: the hit
    entry's build_ms).  BF_OK or BF_EIO. */
int bf_jobs_set_saved (bf_jobs_t *self, const char *id, int64_t saved_ms);

/*  The distinct cache keys of owner's jobs (any state): a new JSON array
    of strings, in no order. */
json_t *bf_jobs_owner_keys (bf_jobs_t *self, const char *owner);

/*  What the build jobs submitted at or after `since` (ms since the epoch;
    0: all kept history) that ended succeeded or failed say about the
    cache: a new object {"since", "builds", "hits", "hit_rate", "saved_ms",
    "build_ms", "tags": [{"tag", <the same numbers>}, ...]} and, when the
    table has the git_remote column (schema/jobs/009_provenance.sql),
    "repositories": [{"repository" ("" for jobs not from git), <numbers>}].
    builds: jobs that ran the tools (not hits, not coalesced); hits: cache
    hits; saved_ms: the build time the hits avoided (each hit's saved_ms);
    build_ms: the time the builds took (dispatch to end).  A job counts
    under each of its tags.  Repositories count only repo_owner's jobs
    when it is not NULL (a non-admin's view); tags count every job. */
json_t *bf_jobs_cache_stats (bf_jobs_t *self, int64_t since, const char *repo_owner);

/* ---- metrics (bf_jobs_stats.c; issue 19) ---- */

/*  How many jobs of owner (NULL: all) are in each state: a new object
    {state: n}, only states that have jobs.  Read from job_counts, which
    triggers keep (schema/jobs/012_history.sql): no walk of the history. */
json_t *bf_jobs_count_states (bf_jobs_t *self, const char *owner);

/*  How many finished jobs ended with each failure class: {class: n}. */
json_t *bf_jobs_count_failures (bf_jobs_t *self);

/*  Histograms in seconds, with the nbounds upper bounds given (ascending;
    bounds the table job_hist_bounds lacks count 0): a new object
    {"queue_wait": h, "stages": {stage: h}} where h is {"count", "sum",
    "buckets": [cumulative counts, one per bound]}.  queue_wait: from
    submission to each dispatch of a job (a start, a cache hit, a follower
    given its leader's start); a stage: from its "stage" event to the
    job's next event (the next stage or the end), for the events the
    workers' LOG messages recorded (synth, pnr, pack).  Counted as it
    happens by triggers (schema/jobs/012_history.sql), seeded from the
    history kept at the upgrade: removing old jobs does not lower them,
    and a read costs O(stages x bounds), not O(history). */
json_t *bf_jobs_histograms (bf_jobs_t *self, const double *bounds, size_t nbounds);

#endif
