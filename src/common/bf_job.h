/*  bf_job - the job record: a typed job, its state, kind and failure
    class, and a job's result; with the one JSON codec for the wire
    (the job object of docs/protocol.md section 5, `bitfarm status
    --json`).  The broker's job table (bf_jobs) reads rows into it; the
    broker's handlers and scheduler work on it; JSON is made only at the
    edge, when a reply is sent.

    States: queued -> running -> succeeded | failed | cancelled | timed_out.
    Failure classes: design (the tools rejected the design), bitstream (a
    board rejected it), infrastructure (anything else: retried), timeout,
    cancelled.  Times are ms since the epoch, 0 for "not yet".
    Thread-safety: plain data; a bf_job_t belongs to one thread.
*/
#ifndef BF_JOB_H_INCLUDED
#define BF_JOB_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define BF_JOB_ID_LEN     32
#define BF_JOB_STAGE_MAX  15

typedef enum {
    BF_JOB_QUEUED = 0,
    BF_JOB_RUNNING,
    BF_JOB_SUCCEEDED,
    BF_JOB_FAILED,
    BF_JOB_CANCELLED,
    BF_JOB_TIMED_OUT
} bf_job_state_t;

typedef enum {
    BF_FAILURE_NONE = 0,
    BF_FAILURE_DESIGN,
    BF_FAILURE_BITSTREAM,
    BF_FAILURE_INFRASTRUCTURE,
    BF_FAILURE_TIMEOUT,
    BF_FAILURE_CANCELLED
} bf_failure_t;

typedef enum {
    BF_KIND_BUILD = 0,          /* a manifest to build */
    BF_KIND_PROGRAM             /* a bitstream to load into a board */
} bf_job_kind_t;

/*  Names as on the wire and in the database ("timed_out", "design",
    "program"), and back.  A parse returns false for an unknown name and
    leaves *out alone.  BF_FAILURE_NONE's name is NULL. */
const char *bf_job_state_name (bf_job_state_t state);
bool bf_job_state_parse (bf_job_state_t *out, const char *name);
const char *bf_failure_name (bf_failure_t failure);
bool bf_failure_parse (bf_failure_t *out, const char *name);
const char *bf_job_kind_name (bf_job_kind_t kind);
bool bf_job_kind_parse (bf_job_kind_t *out, const char *name);

/*  True for succeeded, failed, cancelled and timed_out. */
bool bf_job_state_final (bf_job_state_t state);

/*  A job, as the broker knows it.  Strings are owned (NULL: none). */
typedef struct {
    char id[BF_JOB_ID_LEN + 1];
    bf_job_kind_t kind;
    bf_job_state_t state;
    char *stage;                /* "synth", "pnr", "pack", "done", "program", ... */
    bf_failure_t failure;       /* BF_FAILURE_NONE unless failed and the like */
    char *error;                /* one line: the tool's first error, or the reason */
    int priority;               /* -1000..1000, higher first */
    int attempt, max_attempts;
    char *worker;               /* the worker of the current or last attempt */
    char *action, *cache_key;   /* digests (64 hex) */
    bool cache_hit;
    char *bitstream, *report, *log;  /* result object digests */
    int64_t submitted_at, started_at, finished_at;
    int64_t retry_at;           /* a queued job's back-off end; 0: none */
    int64_t timeout_ms;         /* the wall-clock limit of an attempt */
    char *follows;              /* the leader whose build it shares */
    json_t *tags;               /* array of the worker tags it needs; owned */
    json_t *manifest;           /* the normalized manifest, when read with it; owned */
    char *toolchain;            /* the toolchain it is pinned to */
    char *owner, *owner_name;   /* the submitting key (CURVE), and its name */
    /* Program jobs: */
    char *board;
    char *after;                /* the build whose bitstream it waits for */
    bool reservation;           /* carries a reservation token */
    uint64_t bitstream_size;    /* bytes */
    json_t *provenance;         /* where its sources came from (bf_provenance.h), or NULL; owned */
} bf_job_t;

/*  git's lifecycle: init zeroes, release frees the contents, free both. */
void bf_job_init (bf_job_t *job);
void bf_job_release (bf_job_t *job);
void bf_job_free (bf_job_t *job);

/*  The job object of the wire (protocol section 5): a new JSON object
    (caller decrefs), times in RFC 3339 UTC.  The manifest is included only
    when the record holds one. */
json_t *bf_job_to_json (const bf_job_t *job);

/*  How a job ends: what bf_jobs_finish records.  Strings are borrowed. */
typedef struct {
    bf_job_state_t state;       /* a final state */
    bf_failure_t failure;
    const char *stage;
    const char *error;
    const char *bitstream, *report, *log;   /* digests, or NULL */
    bool cache_hit;
} bf_result_t;

#endif
