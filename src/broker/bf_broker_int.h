/*  bf_broker_int - the broker's private declarations, shared by its rooms:
        bf_broker.c           the loop, socket I/O, peers' roles, the command tables
        bf_broker_sched.c     scheduling and dispatch, retries, the ends of jobs
        bf_broker_registry.c  the worker registry (READY, leases, recovery)
        bf_broker_wcmd.c      worker commands (RESULT, LOG, WANT)
        bf_broker_logs.c      state modes, live logs
        bf_broker_retain.c    job history retention (--keep-jobs), a batch per tick
        bf_broker_client.c    client commands (SUBMIT, STATUS, FETCH, ...)
        bf_broker_boards.c    board and program commands (PROGRAM, RESERVE, ...)
        bf_broker_toolchain.c the default toolchain's rule; TOOLCHAINS, SETTOOLCHAIN,
                              RELEASENAME
        bf_broker_tenants.c   who may see what: views, proofs of possession
        bf_broker_cache.c     the cache over the wire: CACHESTATS, CACHELS, ...
        bf_broker_regio.c     register requests: REGIO relayed, REGIORESULT checked
        bf_broker_waits.c     STATUS with wait_ms: questions held until their job changes
        bf_broker_http.c      the HTTP API's requests from bf_http's threads (inproc):
                              who asks (tokens), which commands, HTTP statuses
        bf_broker_tokens.c    TOKENCREATE, TOKENS, TOKENREVOKE (bf_tokens.h)
        bf_metrics.c          METRICS (Prometheus text) and FARM (the dashboard's summary)
        bf_broker_batch.c     group commit: one transaction per loop wake-up, replies
                              held until it is durable
    Not a public interface: only src/broker includes it.  Everything here
    runs on the broker's one thread (bf_broker.h).
*/
#ifndef BF_BROKER_INT_H_INCLUDED
#define BF_BROKER_INT_H_INCLUDED

#include "bf_broker.h"
#include "bf_auth.h"
#include "bf_boards.h"
#include "bf_jobs.h"
#include "bf_uploads.h"
#include "bf_http.h"
#include "bf_tokens.h"
#include "../cache/bf_cache.h"
#include "../cache/bf_janitor.h"
#include "../common/bf_curve.h"
#include "../common/bf_manifest.h"
#include "../common/bf_proto.h"

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define BF_BROKER_VERSION     "bitfarm 0.1.0"
#define BF_BROKER_LOG_MAX     ((64u << 20) + 4096) /* bytes of a live log read: the largest
                                                   cap (--job-log-max) and its marker */
#define BF_BROKER_WORKER_NAME 64
#define BF_BROKER_BACKOFF_MAX 60000           /* ms: the longest retry back-off */
#define BF_BROKER_DISPATCH_BATCH 64           /* ready builds read at a time in a round */
#define BF_BROKER_DISPATCH_PAGES 16           /* batches per round; the rest next round */
#define BF_BROKER_PIN_CHECK_MS 5000           /* how often pins of finished jobs are dropped */
#define BF_BROKER_JANITOR_MS   1000           /* how often the janitor checks the cache's size */

#define BF_BROKER_WORKER_BOARDS 64            /* boards one worker may declare */
#define BF_BROKER_WORKER_LEASES 4096          /* jobs one worker may hold (READY "jobs") */
#define BF_BROKER_REGIO_PENDING 256           /* register requests in flight, in all */
#define BF_BROKER_REGIO_BOARD   8             /* ... on one board (the worker's queue) */
#define BF_BROKER_WAITS_MAX   4096            /* STATUS questions held at once (bf_broker_waits.c) */
#define BF_BROKER_WAIT_MS_MAX 60000           /* the longest STATUS wait_ms */
#define BF_BROKER_TOOLS 4                     /* tools whose version lines WORKERS shows */

/*  A job a worker holds: the lease the broker gave it (dispatch, or the
    recovery of a job the worker still held after a restart). */
typedef enum { BF_LEASE_BUILD, BF_LEASE_PROGRAM } bf_lease_kind_t;
typedef struct {
    char job[BF_JOB_ID_LEN + 1];
    bf_lease_kind_t kind;
    int64_t attempt;            /* the attempt it was dispatched (or recovered) as */
} bf_broker_lease_t;

/*  A registered worker: what its READY said, checked, and the leases it
    holds.  Owned by self->workers (key: rid). */
typedef struct {
    char *rid;                  /* routing id, hex; the key in self->workers */
    zframe_t *rid_frame;
    char name[BF_BROKER_WORKER_NAME + 1];
    int slots;
    char toolchain[BF_SHA256_HEX_LEN + 1];
    char versions[BF_BROKER_TOOLS][161]; /* bf_broker_tools[i]'s version line, escaped; "" unknown */
    char tags[BF_TAGS_MAX][BF_TAG_MAX + 1]; /* sorted, distinct */
    size_t ntags;
    char boards[BF_BROKER_WORKER_BOARDS][BF_TAG_MAX + 1]; /* the boards it owns (names are tags) */
    size_t nboards;
    bf_broker_lease_t *leases;  /* the jobs it holds; nleases of them */
    size_t nleases, leases_cap;
    char key[BF_CURVE_KEY_LEN + 1]; /* its CURVE public key; "" on a plain broker */
    bool sandboxed;             /* READY said its builds run in bubblewrap */
    bool draining;              /* said DRAIN: gets no new jobs */
    int64_t expires_at;         /* monotonic ms: leases end unless renewed */
    int64_t connected_at;       /* wall ms */
} bf_broker_worker_t;

/*  The tools of bf_broker_worker_t.versions, in order. */
extern const char *const bf_broker_tools[BF_BROKER_TOOLS];

struct _bf_broker_t {
    bf_broker_config_t cfg;
    int64_t lease_ms;           /* heartbeat_ms * liveness */
    char *state_dir;
    char *endpoint;
    int lock_fd;                /* flock on STATE/broker.lock */
    zsock_t *router;
    struct _bf_rxguard_t *guard; /* bounds what one connection makes libzmq hold
                                   (bf_rxguard.h); NULL if no monitor */
    bf_auth_t *auth;            /* CURVE and the allow-lists; NULL on a plain broker */
    /* The peer of the message being handled: */
    char peer_key[BF_CURVE_KEY_LEN + 1];  /* its public key; "" on a plain broker */
    char peer_name[BF_CURVE_NAME_MAX + 1]; /* the key's name, printable */
    unsigned peer_roles;        /* BF_AUTH_* bits; all of them on a plain broker */
    bf_jobs_t *jobs;
    bf_boards_t *boards;
    bf_cache_t *cache;
    bf_janitor_t *janitor;      /* LRU eviction under cfg.cache.max_size, in its own thread */
    bf_uploads_t *uploads;      /* the uploads asked for (NEED), per client, with quotas */
    int64_t pins_checked_at;    /* monotonic ms of the last check of stale cache pins */
    int64_t pruned_at;          /* monotonic ms of the last look for old jobs; 0: due */
    bf_jobs_keep_t keep;        /* which finished jobs are kept (cfg.keep_jobs) */
    zhashx_t *workers;          /* rid hex -> bf_broker_worker_t */
    json_t *orphans;            /* job id -> monotonic ms when its lease ends: running jobs
                                   whose worker has not registered since a restart */
    int64_t heartbeat_at;       /* monotonic ms of the next heartbeat tick */
    int64_t next_ready;         /* wall ms when a backed-off job becomes ready; 0 = none */
    bool dispatch_needed;
    bool after_needed;          /* a job finished: program jobs may wait for it */
    zhashx_t *proven;           /* "KEY:DIGEST" -> "": inputs a client key proved it holds
                                   (bf_broker_tenants.c); NULL until the first */
    zhashx_t *regio;            /* request id -> a pending register request
                                   (bf_broker_regio.c); NULL until the first */
    zlistx_t *waits;            /* held STATUS questions (bf_broker_waits.c); NULL until the first */
    /* The HTTP API (bf_broker_http.c); NULL without --http */
    bf_tokens_t *tokens;        /* bearer tokens (always open: TOKENCREATE works without) */
    zsock_t *http_sock;         /* inproc ROUTER that bf_http's threads ask */
    char *http_ep;
    bf_http_t *http;
    zframe_t *capture_rid;      /* while an HTTP request is handled: replies to it */
    zmsg_t *captured;           /* ... are kept here instead of being sent */
    /* Group commit (bf_broker_batch.c) */
    bool batching;              /* a batch is open: sends wait in `held` for its commit */
    zlistx_t *held;             /* zmsg_t (routing id first) to send once the batch commits */
    char *fail_commit_on;       /* tests only ($BITFARM_TEST_FAIL_COMMIT): a command whose
                                   batch fails to commit, once; NULL: none */
    bool fail_this_batch;       /* ... this batch handled it */
    uint64_t batches, batched_msgs; /* batches committed; messages handled in them */
};

/* ---------------------------------------------------------------------- */
/*  bf_broker_batch.c: group commit.  Each wake-up of the loop handles what
    is ready (up to BF_BROKER_BATCH_MAX messages), its tick and its dispatch
    inside one transaction on the jobs database and one on the cache's
    index (bf_jobs_batch_begin, bf_cache_batch_begin), committed once: one
    fsync each for the lot.  Every message bf_broker_send is given
    meanwhile waits in self->held and goes out, in order, only after both
    commits succeeded: nothing is acknowledged before it is durable. */
#define BF_BROKER_BATCH_MAX 256

/*  Opens a batch.  When it cannot (a database busy past its timeout),
    returns false and nothing is held: each operation then commits by
    itself, as without group commit. */
bool bf_broker_batch_begin (bf_broker_t *self);

/*  Commits the batch (the cache's index first: the jobs may name its
    entries), then sends what it held.  When a commit fails, drops what
    it held unsent and returns BF_EIO with a detail: the broker's memory
    (leases, workers) may then say more than its disk, so the caller
    stops the broker, to be restarted from the durable state (systemd's
    Restart=on-failure). */
int bf_broker_batch_end (bf_broker_t *self);

/*  A message for a peer while a batch is open: kept until it commits
    (msg, with its routing id prepended, is taken). */
void bf_broker_batch_hold (bf_broker_t *self, zmsg_t **msg_p);

/*  Notes a command handled in the batch (counts it; the test hook). */
void bf_broker_batch_note (bf_broker_t *self, const char *command);

/*  Who the sender of the message being handled is for bf_uploads: its
    CURVE key, or "-" on a plain broker; *name_out (may be NULL) gets a
    printable name for messages.  Borrowed from self. */
const char *bf_broker_upload_client (bf_broker_t *self, const char **name_out);

/*  Answers a request whose inputs `missing` (a JSON array of digests,
    taken) the sender must upload: NEED, after recording that it may upload
    exactly those, at the sizes in `sizes` (digest -> bytes, borrowed),
    within its quota (bf_uploads); or ERROR when over the quota. */
void bf_broker_need (bf_broker_t *self, zframe_t *rid, json_t *missing, json_t *sizes);

/*  Command handlers (the tables in bf_broker.c): by routing id, for
    client commands and READY; and for a registered worker. */
typedef void (bf_broker_peer_fn) (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg);
typedef void (bf_broker_worker_fn) (bf_broker_t *self, bf_broker_worker_t *w, bf_msg_t *msg);

bf_broker_peer_fn bf_broker_client_submit, bf_broker_client_upload, bf_broker_client_status,
    bf_broker_client_logs, bf_broker_client_fetch, bf_broker_client_cancel, bf_broker_client_jobs,
    bf_broker_client_workers, bf_broker_client_entry, bf_broker_client_ping,
    bf_broker_client_program, bf_broker_client_boards, bf_broker_client_board,
    bf_broker_client_reserve, bf_broker_client_release, bf_broker_client_toolchains,
    bf_broker_client_set_toolchain, bf_broker_client_release_name, bf_broker_worker_ready;
/*  bf_broker_tokens.c and bf_metrics.c: the HTTP API (issue 19) */
bf_broker_peer_fn bf_broker_client_token_create, bf_broker_client_tokens,
    bf_broker_client_token_revoke, bf_broker_client_farm, bf_broker_client_metrics;
/*  bf_broker_cache.c: the cache over the wire (issue 16, r16-stats) */
bf_broker_peer_fn bf_broker_client_cache_stats, bf_broker_client_cache_ls,
    bf_broker_client_cache_show, bf_broker_client_cache_verify, bf_broker_client_cache_gc,
    bf_broker_client_cache_evict, bf_broker_client_cache_invalidate;
/*  bf_broker_regio.c: register requests (issue 17) */
bf_broker_peer_fn bf_broker_client_regio;
bf_broker_worker_fn bf_broker_worker_regio_result;
/*  Answers every pending register request whose deadline (monotonic ms)
    has passed with a one-line error. */
void bf_broker_regio_expire (bf_broker_t *self, int64_t now);
/*  Answers every pending register request sent to w (which is going
    away: lost, or registered again under a new routing id) with a
    one-line error saying why. */
void bf_broker_regio_worker_gone (bf_broker_t *self, bf_broker_worker_t *w, const char *why);
/*  bf_broker_waits.c: STATUS with "wait_ms" (docs/protocol.md 5.3) */
/*  Holds the current peer's STATUS of job id (resolved and visible to it)
    instead of answering it, when wait_ms (ms, the latest the asker wants
    its answer) leaves time to and the job is still what `seen` says
    ({"state", "stage", "attempt"}, borrowed).  Returns true when held;
    false when the caller answers now. */
bool bf_broker_waits_park (bf_broker_t *self, zframe_t *rid, const char *id, bool events,
                           int64_t wait_ms, json_t *seen);
/*  Answers the held questions of job id (NULL: of every job) whose job is
    no longer what their asker saw.  Call after changing a job. */
void bf_broker_waits_wake (bf_broker_t *self, const char *id);
/*  Answers the held questions whose time (monotonic ms) is up. */
void bf_broker_waits_expire (bf_broker_t *self, int64_t now);
/*  bf_broker_client.c: STATUS's answer for job id (resolved), to rid as
    the current peer sees it, with its events when asked. */
void bf_broker_status_reply (bf_broker_t *self, zframe_t *rid, const char *id, bool events);
bf_broker_worker_fn bf_broker_worker_log, bf_broker_worker_result, bf_broker_worker_want,
    bf_broker_worker_drain, bf_broker_worker_goodbye;

/* ---------------------------------------------------------------------- */
/*  bf_broker.c: the loop, socket I/O, who is asking, the command tables */

/*  Sends msg to a peer, never blocking: ROUTER_MANDATORY and a zero send
    timeout (ZMQ_DONTWAIT) make an unknown or full peer an error, which is
    logged and otherwise ignored. */
void
bf_broker_send (bf_broker_t *self, zframe_t *rid, zmsg_t **msg_p);

void
bf_broker_reply (bf_broker_t *self, zframe_t *rid, const char *proto, const char *command,
                 json_t *body, zmsg_t **blobs_p);

/*  Routes one decoded message from the current peer (self->peer_*): the
    role check and the owner rule from the command table, then the
    handler. */
void
bf_broker_handle (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg);

/* ---------------------------------------------------------------------- */
/*  bf_broker_http.c: the HTTP API's side of the loop */

/*  Opens the token table, and with cfg.http_addr binds the inproc socket,
    starts the HTTP server (bf_http_new) and writes cfg.http_url_file.
    BF_OK or an error with a detail. */
int bf_broker_http_start (bf_broker_t *self);

/*  Answers one request waiting on self->http_sock. */
void bf_broker_http_serve (bf_broker_t *self);

/*  Stops the HTTP server and closes the table (idempotent). */
void bf_broker_http_stop (bf_broker_t *self);

/*  Replies ERROR to a client, with a one-line printf-formatted text. */
void
bf_broker_error (bf_broker_t *self, zframe_t *rid, const char *fmt, ...);

/*  Sends a worker a command whose body is {"job": id}. */
void
bf_broker_worker_command (bf_broker_t *self, bf_broker_worker_t *w, const char *command,
                          const char *id);

/*  Drops the cache pins of jobs that have finished (or never were
    created: a crash between pin and commit), so eviction may take what
    they held. */
void
bf_broker_unpin_finished (bf_broker_t *self);


/*  Replies OK with the job object of job id (bf_job_to_json), with the
    fields of extra (borrowed; may be NULL) added; ERROR when there is no
    such job. */
void
bf_broker_reply_job (bf_broker_t *self, zframe_t *rid, const char *id, json_t *extra);

/* ---------------------------------------------------------------------- */
/*  bf_broker_sched.c: scheduling, dispatch and the ends of jobs */

/*  Records a job's result; workers still holding it are told to stop.
    BF_OK, or BF_EBUSY when the job had already finished. */
int
bf_broker_finish (bf_broker_t *self, const char *id, const bf_result_t *res, const char *reason,
                  bf_broker_worker_t *from);

/*  An attempt of a job failed for a reason outside the design: retry it
    after a back-off, or fail it once its attempts are used up. */
void
bf_broker_attempt_failed (bf_broker_t *self, const char *id, const char *reason);

/*  True when a job object (bf_jobs_get) is a program job. */
bool
bf_broker_is_program (const bf_job_t *job);

/*  The manifest of a build job read with it (bf_jobs_get with_manifest),
    decoded into *out (bf_manifest_decode: release it).  BF_OK, or
    BF_EINVAL with a detail for a program job or a stored manifest that
    does not decode. */
int
bf_broker_job_manifest (bf_manifest_t *out, const bf_job_t *job);

/*  The connected worker that owns the board, or NULL. */
bf_broker_worker_t *
bf_broker_board_owner (bf_broker_t *self, const char *board);

/*  Why a queued job is not running yet, for `status`; a new string or NULL. */
char *
bf_broker_wait_reason (bf_broker_t *self, const bf_job_t *job);

/*  Hands one ready job to a capable worker.  Returns false when the job
    had to stay queued for want of a worker. */
bool
bf_broker_dispatch_one (bf_broker_t *self, const char *id);

/*  Hands ready jobs to capable workers with free slots: program jobs to
    their boards; builds in fair order (priority, then a round-robin across
    owners, then FIFO: bf_jobs_ready_fair), looking only at builds some
    worker with a free slot can take, so jobs nobody can run hold back
    nothing (docs/protocol.md 6.3). */
void
bf_broker_dispatch (bf_broker_t *self);

/*  Program jobs whose build finished: they get its bitstream (pinned for
    them) and become ready, or fail when the build did not succeed. */
void
bf_broker_release_after (bf_broker_t *self);


/* ---------------------------------------------------------------------- */
/*  bf_broker_logs.c: state modes, live logs */

/*  STATE/logs/ID.log, the live log of a job (a new string). */
char *
bf_broker_log_path (bf_broker_t *self, const char *id);

/*  Creates STATE (0700) and STATE/logs (0700) if missing, and takes
    others' access off them (and the group's off logs) if they have it.
    BF_OK or BF_EIO with a detail. */
int
bf_broker_state_modes (bf_broker_t *self);

/*  Creates the file at path with mode 0600 if missing, and takes the
    group's and others' access off it and off its SQLite -wal and -shm
    files.  BF_OK or BF_EIO with a detail. */
int
bf_broker_private_file (const char *path);

/*  Removes a job's live log, if any (a warning when it cannot). */
void
bf_broker_drop_live_log (bf_broker_t *self, const char *id);

/*  bf_broker_retain.c: job history retention (--keep-jobs, self->keep).
    Called every tick; at most every minute (every quarter of the
    duration kept, when shorter) it looks for finished jobs that are not
    kept, and removes them with their events, attempts and live logs in
    batches: at most S_RETAIN_BATCHES of S_RETAIN_BATCH jobs and about
    S_RETAIN_BUDGET_MS of work per tick, the rest at the next ticks, so the
    loop never stalls.  The cache's entries and objects (a result's log
    among them) are the cache's own, evicted by its cap (bf_janitor.h).
    now is monotonic ms. */
void
bf_broker_prune (bf_broker_t *self, int64_t now);

/*  self->keep from cfg.keep_jobs, else cfg.job_history_ms (the option's
    old name).  BF_OK or BF_EINVAL with a detail. */
int
bf_broker_retain_init (bf_broker_t *self);


/* ---------------------------------------------------------------------- */
/*  bf_broker_registry.c: the worker registry */

void
bf_broker_worker_destroy (void **item_p);

/*  A worker is gone: its leases end, and its jobs are retried. */
void
bf_broker_worker_lost (bf_broker_t *self, bf_broker_worker_t *w, const char *why);

/*  Can w build this job: its tags, and the toolchain it is pinned to
    (submit --toolchain), if any. */
bool
bf_broker_worker_capable (bf_broker_worker_t *w, const bf_job_t *job);

json_t *
bf_broker_worker_json (bf_broker_worker_t *w);

/*  The lease w holds on job id, or NULL. */
bf_broker_lease_t *
bf_broker_worker_lease (bf_broker_worker_t *w, const char *id);

/*  w now holds job id as attempt `attempt` (replacing a lease on it). */
void
bf_broker_worker_take (bf_broker_worker_t *w, const char *id, bf_lease_kind_t kind,
                       int64_t attempt);

/*  w no longer holds job id.  Returns whether it did. */
bool
bf_broker_worker_drop (bf_broker_worker_t *w, const char *id);

/*  Does w own board `name`. */
bool
bf_broker_worker_has_board (const bf_broker_worker_t *w, const char *name);

/*  The farm's default toolchain into out (65 bytes): the one clients'
    cache keys are computed for when a submit is not pinned.  The rule
    (docs/security.md): an admin's choice (`bitfarm toolchains --default`)
    if any; else the identity most connected workers report, ties going to
    the one first seen; with no worker connected, the last identity so
    chosen.  BF_OK, or BF_ENOTFOUND when there is none yet. */
int
bf_broker_toolchain_default (bf_broker_t *self, char *out);


/* ---------------------------------------------------------------------- */
/*  bf_broker_wcmd.c: worker commands */

/*  A RESULT's log over the cap (cfg.job_log_max) is cut to it, with the
    truncation marker (bf_util.h), before anything is verified or stored:
    its blob is replaced and body "log" names the new digest.  Nothing
    changes for a RESULT without a log or within the cap. */
void
bf_broker_cap_result_log (bf_broker_t *self, bf_msg_t *msg);


/* ---------------------------------------------------------------------- */
/*  bf_broker_client.c: client commands */

/*  A new job belongs to the key that asked for it (none on a plain broker). */
void
bf_broker_set_owner (bf_broker_t *self, bf_job_spec_t *spec);


/* ---------------------------------------------------------------------- */
/*  bf_broker_tenants.c: who may see what (docs/security.md, "Tenants") */

/*  The owner whose jobs the current peer sees: its key, for a non-admin
    client of a CURVE broker; NULL (every job) for an admin key and on a
    plain broker. */
const char *
bf_broker_view (bf_broker_t *self);

/*  Of `digests` (an array of input digests), those the current peer has
    not proven it holds: not uploaded or proven by its key before, and
    without a proof in `proofs` (an object digest -> proof, bf_proof.h;
    may be NULL) that matches the stored object.  A new array; empty for
    an admin key and on a plain broker.  Proofs that match are
    remembered for the key. */
json_t *
bf_broker_unproven (bf_broker_t *self, json_t *digests, json_t *proofs);

/*  Records that the current peer holds the content of digest (it
    uploaded it, verified). */
void
bf_broker_proven (bf_broker_t *self, const char *digest);

/*  Resolves a cache key prefix within the current peer's view: any entry
    for an admin (bf_cache_resolve_key), else only the keys of its own
    jobs whose entry exists.  BF_OK, or BF_EINVAL, BF_ENOTFOUND,
    BF_EAMBIGUOUS with the cache's own detail. */
int
bf_broker_entry_key (bf_broker_t *self, char *key_out, const char *prefix);

/*  True when the current peer may see the job with full id `id`. */
bool
bf_broker_job_visible (bf_broker_t *self, const char *id);

/*  Hides from a job object (bf_job_to_json, with "waiting_for" and
    "events" if any) what names a job the peer may not see: such a leader
    in "follows" becomes null, and such an id in "error", "waiting_for" or
    an event's "reason" becomes "(another key's job)".  Nothing for an
    admin key or on a plain broker. */
void
bf_broker_mask_job (bf_broker_t *self, json_t *job);


/* ---------------------------------------------------------------------- */
/*  bf_broker_boards.c: board and program commands */

/*  Checks that a bitstream of `size` bytes fits the board's device, and
    (when the manifest m is known, not NULL) that the design was built for
    that device.  BF_OK, or BF_EINVAL with a one-line detail. */
int
bf_broker_board_accepts (const bf_board_row_t *board, uint64_t size, const bf_manifest_t *m);

/*  Creates a program job (id preset by the caller, its bitstream already
    pinned under that id when known).  BF_OK or an error with a detail. */
int
bf_broker_create_program (bf_broker_t *self, const char *id, const char *board,
                          const char *bitstream, uint64_t size, const char *after,
                          const char *token_hash, int priority, int64_t timeout_ms);

/*  The program options of a request: board (required), token, priority,
    timeout.  Replies with an error and returns NULL when one is bad; else
    returns the board's row (new; bf_board_rows_free (row, 1)). */
bf_board_row_t *
bf_broker_program_opts (bf_broker_t *self, zframe_t *rid, json_t *opts, char *hash, const char **th,
                        int64_t *priority, int64_t *timeout_ms);

/*  A board row as clients see it: the derived state, no token hash. */
json_t *
bf_broker_board_view (bf_broker_t *self, const bf_board_row_t *b);

/*  A simulated board's model (docs/regio.md): for a program job loading
    bitstream into board, when board is virtual and the cache holds the
    entry that built the bitstream, a new {"key", "manifest"}; else NULL
    (bf_broker_sched.c).  WANT uses it too: the manifest's inputs are then
    inputs of the program job. */
json_t *bf_broker_model (bf_broker_t *self, const char *board, const char *bitstream);

#endif
