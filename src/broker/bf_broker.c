/*  bf_broker - see bf_broker.h and docs/protocol.md. */
#include "bf_broker.h"
#include "bf_auth.h"
#include "bf_boards.h"
#include "bf_jobs.h"
#include "../cache/bf_cache.h"
#include "../cache/bf_janitor.h"
#include "../cache/bf_key.h"
#include "../common/bf_curve.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_manifest.h"
#include "../common/bf_report.h"
#include "../common/bf_proto.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define S_VERSION     "bitfarm 0.1.0"
#define S_LOG_MAX     (64u << 20)     /* bytes of live log kept per job */
#define S_WORKER_NAME 64
#define S_BACKOFF_MAX 60000           /* ms: the longest retry back-off */
#define S_DISPATCH_BATCH 64           /* queued jobs looked at per dispatch round */
#define S_PIN_CHECK_MS 5000           /* how often pins of finished jobs are dropped */
#define S_JANITOR_MS   1000           /* how often the janitor checks the cache's size */

typedef struct {
    char *rid;                  /* routing id, hex; the key in self->workers */
    zframe_t *rid_frame;
    char name[S_WORKER_NAME + 1];
    int slots;
    char toolchain[BF_SHA256_HEX_LEN + 1];
    json_t *versions;
    json_t *tags;               /* sorted array of strings */
    json_t *jobs;               /* object: job id -> true (a build) or "program"; the
                                   leases this worker holds */
    json_t *boards;             /* array of the names of the boards it owns */
    char key[BF_CURVE_KEY_LEN + 1]; /* its CURVE public key; "" on a plain broker */
    bool sandboxed;             /* READY said its builds run in bubblewrap */
    bool draining;              /* said DRAIN: gets no new jobs */
    int64_t expires_at;         /* monotonic ms: leases end unless renewed */
    int64_t connected_at;       /* wall ms */
} s_worker_t;

struct _bf_broker_t {
    bf_broker_config_t cfg;
    int64_t lease_ms;           /* heartbeat_ms * liveness */
    char *state_dir;
    char *endpoint;
    int lock_fd;                /* flock on STATE/broker.lock */
    zsock_t *router;
    bf_auth_t *auth;            /* CURVE and the allow-lists; NULL on a plain broker */
    /* The peer of the message being handled: */
    char peer_key[BF_CURVE_KEY_LEN + 1];  /* its public key; "" on a plain broker */
    char peer_name[BF_CURVE_NAME_MAX + 1]; /* the key's name, printable */
    unsigned peer_roles;        /* BF_AUTH_* bits; all of them on a plain broker */
    bf_jobs_t *jobs;
    bf_boards_t *boards;
    bf_cache_t *cache;
    bf_janitor_t *janitor;      /* LRU eviction under cfg.cache.max_size, in its own thread */
    int64_t pins_checked_at;    /* monotonic ms of the last check of stale cache pins */
    zhashx_t *workers;          /* rid hex -> s_worker_t */
    json_t *orphans;            /* job id -> monotonic ms when its lease ends: running jobs
                                   whose worker has not registered since a restart */
    int64_t heartbeat_at;       /* monotonic ms of the next heartbeat tick */
    int64_t next_ready;         /* wall ms when a backed-off job becomes ready; 0 = none */
    bool dispatch_needed;
    bool after_needed;          /* a job finished: program jobs may wait for it */
};

/* ---------------------------------------------------------------------- */
/*  Sending                                                                 */

/*  Sends msg to a peer, never blocking: ROUTER_MANDATORY and a zero send
    timeout (ZMQ_DONTWAIT) make an unknown or full peer an error, which is
    logged and otherwise ignored. */
static void
s_send (bf_broker_t *self, zframe_t *rid, zmsg_t **msg_p)
{
    zframe_t *copy = zframe_dup (rid);
    zmsg_prepend (*msg_p, &copy);
    if (zmsg_send (msg_p, self->router) != 0) {
        bf_debug ("send to peer failed: %s", zmq_strerror (errno));
        zmsg_destroy (msg_p);
    }
}

static void
s_reply (bf_broker_t *self, zframe_t *rid, const char *proto, const char *command,
         json_t *body, zmsg_t **blobs_p)
{
    zmsg_t *msg = bf_msg_encode (proto, command, body, blobs_p);
    s_send (self, rid, &msg);
}

/*  Replies ERROR to a client, with a one-line printf-formatted text. */
static void
s_reply_error (bf_broker_t *self, zframe_t *rid, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_reply_error (bf_broker_t *self, zframe_t *rid, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    json_t *body = json_pack ("{s:s}", "error", text);
    s_reply (self, rid, BF_PROTO_CLIENT, "ERROR", body, NULL);
    json_decref (body);
}

/*  Sends a worker a command whose body is {"job": id}. */
static void
s_worker_command (bf_broker_t *self, s_worker_t *w, const char *command, const char *id)
{
    json_t *body = json_pack ("{s:s}", "job", id);
    s_reply (self, w->rid_frame, BF_PROTO_WORKER, command, body, NULL);
    json_decref (body);
}

/* ---------------------------------------------------------------------- */
/*  Leases, retries and finishing                                           */

/*  Back-off before attempt `attempt` + 1: retry_backoff_ms doubled per
    attempt already made, at most S_BACKOFF_MAX, times a jitter factor in
    [0.5, 1.5) so that jobs failed together do not retry together. */
static int64_t
s_backoff (bf_broker_t *self, int64_t attempt)
{
    int64_t ms = self->cfg.retry_backoff_ms;
    for (int64_t i = 1; i < attempt && ms < S_BACKOFF_MAX; i++)
        ms *= 2;
    if (ms > S_BACKOFF_MAX)
        ms = S_BACKOFF_MAX;
    char hex[5];
    uint32_t rnd = 32768;
    if (bf_random_hex (hex, 2) == BF_OK)
        rnd = (uint32_t) strtoul (hex, NULL, 16);
    return ms / 2 + (int64_t) ((double) ms * rnd / 65536.0);
}

/*  Every connected worker that holds a lease on the job, except `except`,
    is told to stop it and loses the lease. */
static void
s_release_holders (bf_broker_t *self, const char *id, s_worker_t *except)
{
    for (s_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        if (w != except && json_object_get (w->jobs, id)) {
            s_worker_command (self, w, "CANCEL", id);
            json_object_del (w->jobs, id);
            self->dispatch_needed = true;
        }
    json_object_del (self->orphans, id);
}

/*  Records a job's result; workers still holding it are told to stop.
    BF_OK, or BF_EBUSY when the job had already finished. */
static int
s_finish (bf_broker_t *self, const char *id, json_t *res, const char *reason,
          s_worker_t *from)
{
    int followers = 0;
    int rc = bf_jobs_finish (self->jobs, id, res, reason, &followers);
    if (rc != BF_OK)
        return rc;
    const char *state = json_string_value (json_object_get (res, "state"));
    bf_info ("job %s %s%s%s%s", id, state, from ? " on worker '" : "", from ? from->name : "",
             from ? "'" : "");
    if (followers > 0) {
        bf_info ("job %s: %d coalesced job(s) %s", id, followers,
                 strcmp (state, "succeeded") == 0 || strcmp (state, "failed") == 0
                 ? "finished with it" : "now led by the oldest of them");
        self->dispatch_needed = true;
    }
    s_release_holders (self, id, from);
    self->after_needed = true;
    /* What the job pinned may be evicted now (followers' pins go with the
       next s_unpin_finished). */
    bf_cache_unpin (self->cache, id);
    return BF_OK;
}

/*  An attempt of a job failed for a reason outside the design: retry it
    after a back-off, or fail it once its attempts are used up. */
static void
s_attempt_failed (bf_broker_t *self, const char *id, const char *reason)
{
    json_t *job = NULL;
    if (bf_jobs_get (self->jobs, &job, id, false) != BF_OK)
        return;
    int64_t attempt = json_integer_value (json_object_get (job, "attempt"));
    json_decref (job);
    bool final = false;
    if (bf_jobs_retry (self->jobs, id, reason, s_backoff (self, attempt), &final) != BF_OK)
        return;
    if (final) {
        bf_warn ("job %s failed after %lld attempt(s): %s", id, (long long) attempt, reason);
        self->after_needed = true;      /* a program job may wait for it */
    }
    else
        bf_info ("job %s will be retried (attempt %lld failed: %s)", id, (long long) attempt,
                 reason);
    json_object_del (self->orphans, id);
    self->dispatch_needed = true;
}

/* ---------------------------------------------------------------------- */
/*  Workers                                                                 */

static void
s_worker_destroy (void **item_p)
{
    s_worker_t *w = *item_p;
    if (!w)
        return;
    free (w->rid);
    zframe_destroy (&w->rid_frame);
    json_decref (w->versions);
    json_decref (w->tags);
    json_decref (w->jobs);
    json_decref (w->boards);
    free (w);
    *item_p = NULL;
}

/*  A worker is gone: its leases end, and its jobs are retried. */
static void
s_worker_lost (bf_broker_t *self, s_worker_t *w, const char *why)
{
    bf_warn ("worker '%s' lost (%s); %zu job(s) go back to the queue", w->name, why,
             json_object_size (w->jobs));
    json_t *jobs = json_incref (w->jobs);
    char name[S_WORKER_NAME + 1];
    snprintf (name, sizeof name, "%s", w->name);
    zhashx_delete (self->workers, w->rid);
    const char *id;
    json_t *v;
    json_object_foreach (jobs, id, v) {
        char *reason = xasprintf ("worker '%s' lost: %s", name, why);
        s_attempt_failed (self, id, reason);
        free (reason);
    }
    json_decref (jobs);
    self->dispatch_needed = true;
}

/*  True when the worker has every tag in `tags`. */
static bool
s_worker_has_tags (s_worker_t *w, json_t *tags)
{
    size_t i, k;
    json_t *t, *u;
    json_array_foreach (tags, i, t) {
        bool found = false;
        json_array_foreach (w->tags, k, u)
            if (json_equal (t, u))
                found = true;
        if (!found)
            return false;
    }
    return true;
}

/*  A worker's tool version lines (READY toolchain.versions), as shown by
    WORKERS: only the four tools, strings only, escaped and cut to 160
    bytes; anything else a worker sends is dropped. */
static json_t *
s_tool_versions (json_t *in)
{
    static const char *tools[] = { "yosys", "yosys-abc", "nextpnr-ice40", "icepack" };
    json_t *out = json_object ();
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        const char *v = json_string_value (json_object_get (in, tools[i]));
        if (!v)
            continue;
        char shown[161];
        bf_log_escape (shown, sizeof shown, v);
        json_object_set_new (out, tools[i], json_string (shown));
    }
    return out;
}

/*  Can w build this job: its tags, and the toolchain it is pinned to
    (submit --toolchain), if any. */
static bool
s_worker_capable (s_worker_t *w, json_t *job)
{
    const char *pin = json_string_value (json_object_get (job, "toolchain"));
    return s_worker_has_tags (w, json_object_get (job, "tags"))
           && (!pin || strcmp (pin, w->toolchain) == 0);
}

/*  Build slots left: program jobs do not take one (a board takes one job
    at a time on its own). */
static int
s_free_slots (s_worker_t *w)
{
    if (w->draining)
        return 0;
    int builds = 0;
    const char *id;
    json_t *v;
    json_object_foreach (w->jobs, id, v)
        builds += json_is_true (v);
    return w->slots - builds;
}

/*  True when a job object (bf_jobs_get) is a program job. */
static bool
s_is_program (json_t *job)
{
    const char *kind = json_string_value (json_object_get (job, "kind"));
    return kind && strcmp (kind, "program") == 0;
}

/*  The connected worker that owns the board, or NULL. */
static s_worker_t *
s_board_owner (bf_broker_t *self, const char *board)
{
    for (s_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers)) {
        size_t i;
        json_t *v;
        json_array_foreach (w->boards, i, v)
            if (strcmp (json_string_value (v), board) == 0)
                return w;
    }
    return NULL;
}

/*  Why a program job cannot run on its board now (a new string), or NULL
    when it can; *owner_out gets the board's worker. */
static char *
s_board_blocked (bf_broker_t *self, json_t *job, s_worker_t **owner_out)
{
    const char *name = json_string_value (json_object_get (job, "board"));
    const char *id = json_string_value (json_object_get (job, "id"));
    *owner_out = NULL;
    json_t *b = bf_boards_get (self->boards, name);
    if (!b)
        return xasprintf ("board '%s', which no worker has declared", name);
    char *why = NULL;
    const char *health = json_string_value (json_object_get (b, "health"));
    char busy[BF_JOB_ID_LEN + 1], tok[BF_SHA256_HEX_LEN + 1];
    s_worker_t *w = s_board_owner (self, name);
    if (strcmp (health, "ok") != 0) {
        const char *reason = json_string_value (json_object_get (b, "health_reason"));
        why = xasprintf ("board '%s' is in %s (%s); `bitfarm board %s --enable` puts it back",
                         name, health, reason ? reason : "no reason given", name);
    }
    else if (!w)
        why = xasprintf ("board '%s': its worker '%s' is not connected", name,
                         json_string_value (json_object_get (b, "worker")));
    else if (w->draining)
        why = xasprintf ("board '%s': its worker '%s' is draining", name, w->name);
    else if (bf_jobs_board_job (self->jobs, busy, name) == BF_OK && strcmp (busy, id) != 0)
        why = xasprintf ("board '%s' is busy with job %s", name, busy);
    else if (bf_boards_reserved (b, bf_now_ms ())) {
        const char *mine = bf_jobs_token_hash (self->jobs, tok, id);
        const char *held = json_string_value (json_object_get (b, "token_hash"));
        if (!mine || strcmp (mine, held) != 0) {
            char when[40];
            bf_time_iso (when, sizeof when,
                         json_integer_value (json_object_get (b, "reserved_until")));
            why = xasprintf ("board '%s' is reserved by %s until %s%s", name,
                             json_string_value (json_object_get (b, "reserved_by")), when,
                             mine ? " (this job's token is not the holder's)" : "");
        }
    }
    json_decref (b);
    *owner_out = w;
    return why;
}

/*  The capable worker (all tags) with the most free slots, or NULL. */
static s_worker_t *
s_worker_for (bf_broker_t *self, json_t *job)
{
    s_worker_t *best = NULL;
    for (s_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers)) {
        if (s_free_slots (w) <= 0 || !s_worker_capable (w, job))
            continue;
        if (!best || s_free_slots (w) > s_free_slots (best))
            best = w;
    }
    return best;
}

/*  Why a queued job is not running yet, for `status`; a new string or NULL. */
static char *
s_wait_reason (bf_broker_t *self, json_t *job)
{
    const char *after = json_string_value (json_object_get (job, "after"));
    if (after && !json_is_string (json_object_get (job, "bitstream_sha256")))
        return xasprintf ("the bitstream of build job %s", after);
    if (s_is_program (job)) {
        const char *retry = json_string_value (json_object_get (job, "retry_at"));
        if (retry)
            return xasprintf ("retry back-off until %s", retry);
        s_worker_t *w;
        char *why = s_board_blocked (self, job, &w);
        return why ? why : xstrdup ("its turn: dispatch is under way");
    }
    const char *leader = json_string_value (json_object_get (job, "follows"));
    if (leader)
        return xasprintf ("the result of job %s, an identical build", leader);
    const char *retry_at = json_string_value (json_object_get (job, "retry_at"));
    if (retry_at)
        return xasprintf ("retry back-off until %s", retry_at);
    if (zhashx_size (self->workers) == 0)
        return xstrdup ("no worker is connected");
    json_t *tags = json_object_get (job, "tags");
    int capable = 0, draining = 0, slots = 0;
    for (s_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        if (s_worker_capable (w, job)) {
            capable++;
            draining += w->draining;
            slots += w->slots;
        }
    if (capable == 0) {
        const char *pin = json_string_value (json_object_get (job, "toolchain"));
        char *list = json_dumps (tags, JSON_COMPACT);
        char *r = pin && json_array_size (tags)
                  ? xasprintf ("no connected worker has toolchain %.12s and the tags %s", pin, list)
                  : pin ? xasprintf ("no connected worker has toolchain %.12s", pin)
                        : xasprintf ("no connected worker has the tags %s", list);
        free (list);
        return r;
    }
    if (draining == capable)
        return xstrdup ("every capable worker is draining");
    return xasprintf ("a free slot: all %d slot(s) of %d capable worker(s) are busy", slots,
                      capable);
}

static void s_finish_from_entry (bf_broker_t *self, const char *id, json_t *entry);

/*  Hands a ready program job to the worker owning its board, when the
    board is free for it.  Returns false when it must wait. */
static bool
s_dispatch_program (bf_broker_t *self, json_t *job)
{
    const char *id = json_string_value (json_object_get (job, "id"));
    const char *board = json_string_value (json_object_get (job, "board"));
    s_worker_t *w = NULL;
    char *why = s_board_blocked (self, job, &w);
    if (why) {
        bf_debug ("job %s waits: %s", id, why);
        free (why);
        return false;
    }
    int64_t timeout_ms = json_integer_value (json_object_get (job, "timeout_ms"));
    int64_t deadline = bf_now_ms () + timeout_ms + self->lease_ms;
    if (bf_jobs_start (self->jobs, id, w->name, NULL, deadline) != BF_OK)
        return true;
    char tok[BF_SHA256_HEX_LEN + 1];
    if (bf_jobs_token_hash (self->jobs, tok, id))
        bf_boards_renew (self->boards, board, tok, bf_now_ms ());
    json_object_set_new (w->jobs, id, json_string ("program"));
    json_int_t attempt = json_integer_value (json_object_get (job, "attempt")) + 1;
    json_t *body = json_pack ("{s:s, s:s, s:I, s:s, s:O, s:O, s:I}", "job", id, "kind",
                              "program", "attempt", attempt, "board", board, "bitstream",
                              json_object_get (job, "bitstream_sha256"), "size",
                              json_object_get (job, "bitstream_size"), "timeout_ms",
                              (json_int_t) timeout_ms);
    zmsg_t *msg = bf_msg_encode (BF_PROTO_WORKER, "JOB", body, NULL);
    s_send (self, w->rid_frame, &msg);
    json_decref (body);
    bf_info ("job %s: program board '%s' on worker '%s' (attempt %lld)", id, board, w->name,
             (long long) attempt);
    return true;
}

/*  Hands one ready job to a capable worker.  Returns false when the job
    had to stay queued for want of a worker. */
static bool
s_dispatch_one (bf_broker_t *self, const char *id)
{
    json_t *job = NULL;
    if (bf_jobs_get (self->jobs, &job, id, true) != BF_OK)
        return true;
    if (s_is_program (job)) {
        bool r = s_dispatch_program (self, job);
        json_decref (job);
        return r;
    }
    s_worker_t *w = s_worker_for (self, job);
    if (!w) {
        json_decref (job);
        return false;
    }
    json_t *manifest = json_object_get (job, "manifest");
    char key[BF_SHA256_HEX_LEN + 1];
    if (bf_key_compute_salted (key, manifest, w->toolchain, self->cfg.cache_salt) != BF_OK) {
        json_decref (job);
        return true;
    }
    /* The result may have been cached since the job was queued. */
    json_t *entry = NULL;
    if (bf_cache_get_entry (self->cache, &entry, key, false) == BF_OK) {
        bf_cache_count (self->cache, key, w->toolchain, true);
        s_finish_from_entry (self, id, entry);
        json_decref (entry);
        json_decref (job);
        return true;
    }
    int64_t timeout_ms = json_integer_value (json_object_get (job, "timeout_ms"));
    int64_t deadline = bf_now_ms () + timeout_ms + self->lease_ms;
    if (bf_jobs_start (self->jobs, id, w->name, key, deadline) != BF_OK) {
        json_decref (job);
        return true;
    }
    json_object_set_new (w->jobs, id, json_true ());
    json_int_t attempt = json_integer_value (json_object_get (job, "attempt")) + 1;
    if (attempt == 1)   /* a build the cache could not spare: a miss */
        bf_cache_count (self->cache, NULL, w->toolchain, false);
    json_t *body = json_pack ("{s:s, s:I, s:O, s:s, s:I}", "job", id, "attempt", attempt,
                              "manifest", manifest, "cache_key", key, "timeout_ms",
                              (json_int_t) timeout_ms);
    if (self->cfg.cache_salt)
        json_object_set_new (body, "salt", json_string (self->cfg.cache_salt));
    /* Inputs are not attached: the worker asks (WANT) for those its local
       cache lacks. */
    zmsg_t *msg = bf_msg_encode (BF_PROTO_WORKER, "JOB", body, NULL);
    s_send (self, w->rid_frame, &msg);
    bf_info ("job %s dispatched to worker '%s' (attempt %lld)", id, w->name,
             (long long) attempt);
    json_decref (body);
    json_decref (job);
    return true;
}

/*  Hands ready jobs to capable workers with free slots, in priority and
    then FIFO order.  A job no worker can take now does not hold back the
    jobs behind it that another worker can. */
static void
s_dispatch (bf_broker_t *self)
{
    self->dispatch_needed = false;
    int64_t now = bf_now_ms ();
    self->next_ready = bf_jobs_next_ready (self->jobs, now);
    json_t *ready = bf_jobs_ready (self->jobs, now, S_DISPATCH_BATCH);
    size_t i;
    json_t *jid;
    int dispatched = 0;
    json_array_foreach (ready, i, jid) {
        if (s_dispatch_one (self, json_string_value (jid)))
            dispatched++;
    }
    /* A full batch handled: there may be more behind it. */
    if (json_array_size (ready) == S_DISPATCH_BATCH && dispatched == S_DISPATCH_BATCH)
        self->dispatch_needed = true;
    json_decref (ready);
}

/* ---------------------------------------------------------------------- */
/*  Jobs and results                                                        */

static char *
s_log_path (bf_broker_t *self, const char *id)
{
    return xasprintf ("%s/logs/%s.log", self->state_dir, id);
}

static void
s_finish_from_entry (bf_broker_t *self, const char *id, json_t *entry)
{
    bool ok = strcmp (json_string_value (json_object_get (entry, "outcome")), "succeeded") == 0;
    json_t *res = json_pack ("{s:s, s:b}", "state", ok ? "succeeded" : "failed", "cache_hit", 1);
    if (!ok) {
        json_object_set_new (res, "failure_class", json_string ("design"));
        json_object_set (res, "stage", json_object_get (entry, "stage"));
    }
    else
        json_object_set_new (res, "stage", json_string ("done"));
    static const char *fields[] = { "error", "bitstream", "report", "log" };
    for (int i = 0; i < 4; i++)
        if (json_object_get (entry, fields[i]))
            json_object_set (res, fields[i], json_object_get (entry, fields[i]));
    s_finish (self, id, res, "cache hit", NULL);
    json_decref (res);
}

/* ---------------------------------------------------------------------- */
/*  Client commands                                                         */

static bool s_may_touch (bf_broker_t *self, zframe_t *rid, json_t *job, const char *what);

/*  A new job belongs to the key that asked for it (none on a plain broker). */
static void
s_set_owner (bf_broker_t *self, bf_job_spec_t *spec)
{
    spec->owner = self->peer_key[0] ? self->peer_key : NULL;
    spec->owner_name = self->peer_key[0] ? self->peer_name : NULL;
}
static json_t *s_program_opts (bf_broker_t *self, zframe_t *rid, json_t *opts, char *hash,
                               const char **th, int64_t *priority, int64_t *timeout_ms);
static int s_board_accepts (json_t *board, uint64_t size, json_t *manifest);
static int s_create_program (bf_broker_t *self, const char *id, const char *board,
                             const char *bitstream, uint64_t size, const char *after,
                             const char *token_hash, int priority, int64_t timeout_ms);

/*  An unpinned build may run on any connected worker, under that worker's
    toolchain: a result cached under the toolchain of any of them is a hit.
    On a hit, returns the entry and writes its key and toolchain into key
    and toolchain (65 bytes each); else NULL. */
static json_t *
s_hit_any_toolchain (bf_broker_t *self, json_t *norm, char *key, char *toolchain)
{
    for (s_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers)) {
        char k[BF_SHA256_HEX_LEN + 1];
        json_t *entry = NULL;
        if (strcmp (w->toolchain, toolchain) == 0
            || bf_key_compute_salted (k, norm, w->toolchain, self->cfg.cache_salt) != BF_OK
            || bf_cache_get_entry (self->cache, &entry, k, false) != BF_OK)
            continue;
        snprintf (key, BF_SHA256_HEX_LEN + 1, "%s", k);
        snprintf (toolchain, BF_SHA256_HEX_LEN + 1, "%s", w->toolchain);
        return entry;
    }
    return NULL;
}

static void
s_client_submit (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    json_t *norm = NULL, *entry = NULL, *tags = NULL, *board = NULL;
    json_t *in = json_object_get (msg->body, "manifest");
    if (bf_manifest_normalize (&norm, in) != BF_OK) {
        s_reply_error (self, rid, "%s", bf_error_last ());
        return;
    }
    /* submit --program: the board is checked before anything is built. */
    json_t *popts = json_object_get (msg->body, "program");
    char phash[BF_SHA256_HEX_LEN + 1];
    const char *pth = NULL;
    int64_t ppriority = 0, ptimeout = 0;
    if (popts) {
        board = s_program_opts (self, rid, popts, phash, &pth, &ppriority, &ptimeout);
        if (!board)
            goto out;
        if (s_board_accepts (board, 0, norm) != BF_OK) {
            s_reply_error (self, rid, "%s", bf_error_last ());
            goto out;
        }
    }
    int64_t priority = 0, timeout_ms = self->cfg.job_timeout_ms;
    if (bf_body_int (&priority, msg->body, "priority", -1000, 1000, false) == BF_EINVAL
        || bf_body_tags (&tags, msg->body, "tags") != BF_OK) {
        s_reply_error (self, rid, "%s", bf_error_last ());
        goto out;
    }
    if (bf_body_int (&timeout_ms, msg->body, "timeout_ms", 1000, self->cfg.job_timeout_max_ms,
                     false) == BF_EINVAL) {
        json_t *v = json_object_get (msg->body, "timeout_ms");
        s_reply_error (self, rid, "time limit %lld ms is out of range (1000 ms to %lld ms, "
                       "the broker's maximum)", json_is_integer (v)
                       ? (long long) json_integer_value (v) : -1LL,
                       (long long) self->cfg.job_timeout_max_ms);
        goto out;
    }
    /* The toolchain the key is computed for: the pinned one (submit
       --toolchain), else the one most recently registered; a dispatched
       build gets its worker's key again (s_dispatch_one). */
    char action[BF_SHA256_HEX_LEN + 1], key[BF_SHA256_HEX_LEN + 1] = "", toolchain[65] = "";
    bf_key_action (action, norm);
    const char *pin_prefix = NULL;
    if (bf_body_str (&pin_prefix, msg->body, "toolchain", 64, false) == BF_EINVAL) {
        s_reply_error (self, rid, "%s", bf_error_last ());
        goto out;
    }
    bool have_key;
    if (pin_prefix) {
        if (bf_jobs_toolchain_resolve (self->jobs, toolchain, pin_prefix) != BF_OK) {
            s_reply_error (self, rid, "%s", bf_error_last ());
            goto out;
        }
        have_key = true;
    }
    else
        have_key = bf_jobs_toolchain_latest (self->jobs, toolchain, "ice40") == BF_OK;
    if (have_key) {
        bf_key_compute_salted (key, norm, toolchain, self->cfg.cache_salt);
        if (bf_cache_get_entry (self->cache, &entry, key, false) != BF_OK)
            entry = NULL;
    }
    if (!entry && !pin_prefix && (entry = s_hit_any_toolchain (self, norm, key, toolchain)))
        have_key = true;
    char id[BF_JOB_ID_LEN + 1], leader[BF_JOB_ID_LEN + 1];
    if (bf_random_hex (id, BF_JOB_ID_LEN / 2) != BF_OK) {
        s_reply_error (self, rid, "no random source for a job id");
        goto out;
    }
    if (!entry) {
        /* Pin the inputs (and the key) for the job's lifetime, atomically
           with eviction: either all are there and stay, or NEED. */
        json_t *inputs = bf_manifest_input_digests (norm), *missing = NULL;
        int prc = bf_cache_pin (self->cache, id, inputs, have_key ? key : NULL, &missing);
        json_decref (inputs);
        if (prc == BF_ENOTFOUND) {
            json_t *body = json_pack ("{s:o}", "missing", missing);
            s_reply (self, rid, BF_PROTO_CLIENT, "NEED", body, NULL);
            json_decref (body);
            goto out;
        }
        if (prc != BF_OK) {
            s_reply_error (self, rid, "%s", bf_error_last ());
            goto out;
        }
    }
    bf_job_spec_t spec = { .id = id, .manifest = norm, .action = action,
                           .cache_key = have_key ? key : NULL, .priority = (int) priority,
                           .timeout_ms = timeout_ms, .max_attempts = self->cfg.max_attempts,
                           .tags = tags, .hit = entry,
                           .toolchain = pin_prefix ? toolchain : NULL };
    s_set_owner (self, &spec);
    if (bf_jobs_create (self->jobs, id, leader, &spec) != BF_OK) {
        bf_err ("%s", bf_error_last ());
        s_reply_error (self, rid, "%s", bf_error_last ());
        bf_cache_unpin (self->cache, id);
        goto out;
    }
    if (entry)   /* misses are counted when a build is dispatched */
        bf_cache_count (self->cache, key, toolchain, true);
    json_t *job = NULL;
    bf_jobs_get (self->jobs, &job, id, false);
    if (board) {
        /* The program job waits for the build (or, on a hit, goes now:
           s_release_after runs before the next dispatch). */
        char pid[BF_JOB_ID_LEN + 1];
        json_t *pjob = NULL;
        if (bf_random_hex (pid, BF_JOB_ID_LEN / 2) == BF_OK
            && s_create_program (self, pid, json_string_value (json_object_get (board, "name")),
                                 NULL, 0, id, pth, (int) ppriority, ptimeout) == BF_OK
            && bf_jobs_get (self->jobs, &pjob, pid, false) == BF_OK) {
            json_object_set_new (pjob, "build", job);
            job = pjob;
            self->after_needed = true;
        }
        else
            json_object_set_new (job, "program_error", json_string (bf_error_last ()));
    }
    s_reply (self, rid, BF_PROTO_CLIENT, "OK", job, NULL);
    json_decref (job);
    if (entry)
        bf_info ("job %s finished at once (cache hit)", id);
    else if (leader[0])
        bf_info ("job %s follows job %s (identical build)", id, leader);
    else {
        bf_info ("job %s queued", id);
        self->dispatch_needed = true;
    }
out:
    json_decref (board);
    json_decref (tags);
    json_decref (entry);
    json_decref (norm);
}

static void
s_client_upload (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    json_t *digests = json_object_get (msg->body, "digests");
    size_t n = json_array_size (digests);
    if (!json_is_array (digests) || n != zmsg_size (msg->blobs)) {
        s_reply_error (self, rid,
                       "field 'digests' must list one digest per blob frame");
        return;
    }
    const char **names = xcalloc (n + 1, sizeof *names);
    const void **data = xcalloc (n + 1, sizeof *data);
    size_t *lens = xcalloc (n + 1, sizeof *lens);
    int rc = BF_OK;
    zframe_t *f = zmsg_first (msg->blobs);
    for (size_t i = 0; i < n; i++, f = zmsg_next (msg->blobs)) {
        names[i] = json_string_value (json_array_get (digests, i));
        data[i] = zframe_data (f);
        lens[i] = zframe_size (f);
        if (!names[i])
            rc = bf_error_set (BF_EINVAL, "field 'digests' must hold strings");
        else if (lens[i] > BF_MAX_FILE_SIZE)
            rc = bf_error_set (BF_ETOOBIG, "uploaded file %.12s too big (%zu bytes, limit %u)",
                               names[i], lens[i], BF_MAX_FILE_SIZE);
        if (rc != BF_OK)
            break;
    }
    if (rc == BF_OK)
        rc = bf_cache_put_objects (self->cache, n, names, data, lens);
    bf_janitor_poke (self->janitor);
    if (rc != BF_OK)
        s_reply_error (self, rid, "%s", bf_error_last ());
    else {
        json_t *body = json_pack ("{s:i}", "stored", (int) n);
        s_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
        json_decref (body);
    }
    free (names);
    free (data);
    free (lens);
}

/*  Resolves the "id" field (a full id or a unique prefix) or replies with
    an error.  Returns true when id_out is set. */
static bool
s_client_job_id (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg, char *id_out)
{
    const char *prefix;
    if (bf_body_str (&prefix, msg->body, "id", BF_JOB_ID_LEN, true) != BF_OK
        || bf_jobs_resolve (self->jobs, id_out, prefix) != BF_OK) {
        s_reply_error (self, rid, "%s", bf_error_last ());
        return false;
    }
    return true;
}

static json_t *
s_worker_json (s_worker_t *w)
{
    json_t *jobs = json_array ();
    const char *id;
    json_t *v;
    json_object_foreach (w->jobs, id, v)
        json_array_append_new (jobs, json_string (id));
    char buf[40];
    json_t *o = json_pack ("{s:s, s:i, s:i, s:s, s:O, s:o, s:s, s:[s], s:O, s:b}", "name", w->name,
                      "slots", w->slots, "busy", (int) json_object_size (w->jobs),
                      "toolchain", w->toolchain, "versions", w->versions, "jobs", jobs,
                      "connected_at", bf_time_iso (buf, sizeof buf, w->connected_at),
                      "families", "ice40", "tags", w->tags, "draining", w->draining);
    json_object_set (o, "boards", w->boards);
    json_object_set_new (o, "sandbox", json_boolean (w->sandboxed));
    if (w->key[0])
        json_object_set_new (o, "key", json_string (w->key));
    return o;
}

static void
s_client_status (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    char id[BF_JOB_ID_LEN + 1];
    if (!s_client_job_id (self, rid, msg, id))
        return;
    bool events = false;
    if (bf_body_bool (&events, msg->body, "events", false) == BF_EINVAL) {
        s_reply_error (self, rid, "%s", bf_error_last ());
        return;
    }
    json_t *job = NULL;
    bf_jobs_get (self->jobs, &job, id, false);
    if (strcmp (json_string_value (json_object_get (job, "state")), "queued") == 0) {
        char *why = s_wait_reason (self, job);
        json_object_set_new (job, "waiting_for", json_string (why));
        free (why);
    }
    if (events)
        json_object_set_new (job, "events", bf_jobs_events (self->jobs, id));
    /* The report's summary: utilisation and clocks (bf_report.h). */
    const char *report = json_string_value (json_object_get (job, "report_sha256"));
    char *text = NULL;
    size_t len = 0;
    if (report && bf_cache_get_object (self->cache, &text, &len, report) == BF_OK) {
        json_t *summary = bf_report_summary (text, len);
        if (summary)
            json_object_set_new (job, "report", summary);
        free (text);
    }
    s_reply (self, rid, BF_PROTO_CLIENT, "OK", job, NULL);
    json_decref (job);
}

static void
s_client_logs (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    char id[BF_JOB_ID_LEN + 1];
    if (!s_client_job_id (self, rid, msg, id))
        return;
    int64_t offset = 0;
    if (bf_body_int (&offset, msg->body, "offset", 0, INT64_MAX, false) == BF_EINVAL) {
        s_reply_error (self, rid, "%s", bf_error_last ());
        return;
    }
    json_t *job = NULL;
    bf_jobs_get (self->jobs, &job, id, false);
    if (!s_may_touch (self, rid, job, "read its log")) {
        json_decref (job);
        return;
    }
    const char *digest = json_string_value (json_object_get (job, "log_sha256"));
    char *data = NULL;
    size_t len = 0;
    int rc;
    if (digest)
        rc = bf_cache_get_object (self->cache, &data, &len, digest);
    else {
        char *path = s_log_path (self, id);
        rc = bf_file_read (&data, &len, path, S_LOG_MAX);
        free (path);
    }
    if (rc != BF_OK) {
        data = xstrdup ("");
        len = 0;
    }
    size_t off = (size_t) offset < len ? (size_t) offset : len;
    zmsg_t *blobs = zmsg_new ();
    zmsg_addmem (blobs, data + off, len - off);
    json_t *body = json_pack ("{s:s, s:I, s:s, s:b}", "id", id, "size", (json_int_t) len,
                              "state", json_string_value (json_object_get (job, "state")),
                              "final", bf_jobs_state_final (json_string_value (
                                  json_object_get (job, "state"))));
    s_reply (self, rid, BF_PROTO_CLIENT, "OK", body, &blobs);
    json_decref (body);
    json_decref (job);
    free (data);
}

static void
s_client_fetch (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    char id[BF_JOB_ID_LEN + 1];
    if (!s_client_job_id (self, rid, msg, id))
        return;
    const char *what = "bitstream";
    if (bf_body_str (&what, msg->body, "what", 16, false) == BF_EINVAL
        || (strcmp (what, "bitstream") && strcmp (what, "report") && strcmp (what, "log"))) {
        s_reply_error (self, rid, "field 'what' must be bitstream, report or log");
        return;
    }
    json_t *job = NULL;
    bf_jobs_get (self->jobs, &job, id, false);
    if (strcmp (what, "log") == 0 && !s_may_touch (self, rid, job, "read its log")) {
        json_decref (job);
        return;
    }
    char field[32];
    snprintf (field, sizeof field, "%s_sha256", what);
    const char *digest = json_string_value (json_object_get (job, field));
    char *data = NULL;
    size_t len = 0;
    if (!digest) {
        s_reply_error (self, rid, "job %s has no %s (state %s)", id, what,
                       json_string_value (json_object_get (job, "state")));
    }
    else if (bf_cache_get_object (self->cache, &data, &len, digest) != BF_OK) {
        s_reply_error (self, rid, "the %s of job %s is no longer in the cache", what, id);
    }
    else {
        zmsg_t *blobs = zmsg_new ();
        zmsg_addmem (blobs, data, len);
        json_t *body = json_pack ("{s:s, s:s, s:s, s:I}", "id", id, "what", what, "sha256",
                                  digest, "size", (json_int_t) len);
        s_reply (self, rid, BF_PROTO_CLIENT, "OK", body, &blobs);
        json_decref (body);
    }
    free (data);
    json_decref (job);
}

static void
s_client_cancel (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    char id[BF_JOB_ID_LEN + 1];
    if (!s_client_job_id (self, rid, msg, id))
        return;
    json_t *job = NULL;
    bf_jobs_get (self->jobs, &job, id, false);
    bool may = s_may_touch (self, rid, job, "cancel it");
    json_decref (job);
    if (!may)
        return;
    json_t *res = json_pack ("{s:s, s:s, s:s}", "state", "cancelled", "failure_class",
                             "cancelled", "error", "cancelled by user");
    int rc = s_finish (self, id, res, "cancelled by user", NULL);
    json_decref (res);
    bf_jobs_get (self->jobs, &job, id, false);
    if (rc == BF_EBUSY)
        s_reply_error (self, rid, "job %s is already %s; nothing to cancel", id,
                       json_string_value (json_object_get (job, "state")));
    else if (rc != BF_OK)
        s_reply_error (self, rid, "%s", bf_error_last ());
    else
        s_reply (self, rid, BF_PROTO_CLIENT, "OK", job, NULL);
    json_decref (job);
}

/*  ENTRY {"key"}: a cache entry (full key or unique prefix of 8 or more
    hex characters) as stored (manifest, toolchain, outcome,
    objects, times, hits), for `bitfarm explain --diff`.  Not a lookup:
    counts nothing and touches nothing. */
static void
s_client_entry (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *prefix;
    char key[BF_SHA256_HEX_LEN + 1];
    json_t *entry = NULL;
    if (bf_body_str (&prefix, msg->body, "key", BF_SHA256_HEX_LEN, true) != BF_OK
        || bf_cache_resolve_key (self->cache, key, prefix) != BF_OK
        || bf_cache_get_entry (self->cache, &entry, key, true) != BF_OK)
        s_reply_error (self, rid, "%s", bf_error_last ());
    else
        s_reply (self, rid, BF_PROTO_CLIENT, "OK", entry, NULL);
    json_decref (entry);
}

/* ---------------------------------------------------------------------- */
/*  Boards: program jobs and reservations                                   */

/*  Checks that a bitstream of `size` bytes fits the board's device, and
    (when manifest is given) that the design was built for that device.
    BF_OK, or BF_EINVAL with a one-line detail. */
static int
s_board_accepts (json_t *board, uint64_t size, json_t *manifest)
{
    const char *name = json_string_value (json_object_get (board, "name"));
    const char *dev = json_string_value (json_object_get (board, "device"));
    const char *mdev = json_string_value (json_object_get (manifest, "device"));
    if (mdev && strcmp (mdev, dev) != 0)
        return bf_error_set (BF_EINVAL, "board '%s' holds an %s; the design is built for "
                             "an %s", name, dev, mdev);
    uint64_t want = 0;
    if (bf_manifest_device (dev, &want) && want && size && size != want)
        return bf_error_set (BF_EINVAL, "the bitstream is %llu bytes; board '%s' holds an %s, "
                             "whose bitstream is %llu bytes", (unsigned long long) size, name,
                             dev, (unsigned long long) want);
    return BF_OK;
}

/*  bf_body_str for free text a person reads back (a holder's name, a
    reason): also refuses control characters, so none reaches a terminal. */
static int
s_body_text (const char **out, json_t *body, const char *key, size_t max_len, bool required)
{
    int rc = bf_body_str (out, body, key, max_len, required);
    if (rc != BF_OK || !*out)
        return rc;
    for (const char *p = *out; *p; p++)
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            return bf_error_set (BF_EINVAL, "field '%s' has a control character", key);
    return BF_OK;
}

/*  The "token" field (a reservation token) as its SHA-256 into hash_out,
    or NULL when absent.  *bad is set on a malformed token. */
static const char *
s_token_hash (char *hash_out, json_t *body, bool *bad)
{
    const char *token = NULL;
    *bad = false;
    if (bf_body_str (&token, body, "token", BF_TOKEN_HEX_LEN, false) == BF_EINVAL
        || (token && (strlen (token) != BF_TOKEN_HEX_LEN
                      || strspn (token, "0123456789abcdef") != BF_TOKEN_HEX_LEN))) {
        *bad = true;
        bf_error_set (BF_EINVAL, "field 'token' must be a reservation token (%d hex "
                      "characters, from `bitfarm reserve`)", BF_TOKEN_HEX_LEN);
        return NULL;
    }
    if (!token)
        return NULL;
    bf_sha256_hex (hash_out, token, strlen (token));
    return hash_out;
}

/*  Creates a program job (id preset by the caller, its bitstream already
    pinned under that id when known).  BF_OK or an error with a detail. */
static int
s_create_program (bf_broker_t *self, const char *id, const char *board, const char *bitstream,
                  uint64_t size, const char *after, const char *token_hash, int priority,
                  int64_t timeout_ms)
{
    /* Program jobs never coalesce (bf_jobs_create); the action, which the
       table requires, is just a digest naming this job. */
    char action[BF_SHA256_HEX_LEN + 1];
    char *seed = xasprintf ("program %s", id);
    bf_sha256_hex (action, seed, strlen (seed));
    free (seed);
    json_t *manifest = json_pack ("{s:s, s:s}", "flow", "program", "board", board);
    char leader[BF_JOB_ID_LEN + 1];
    bf_job_spec_t spec = { .id = id, .manifest = manifest, .action = action,
                           .priority = priority, .timeout_ms = timeout_ms,
                           .max_attempts = self->cfg.max_attempts, .board = board,
                           .after = after, .bitstream = bitstream, .bitstream_size = size,
                           .token_hash = token_hash };
    s_set_owner (self, &spec);
    char out[BF_JOB_ID_LEN + 1];
    int rc = bf_jobs_create (self->jobs, out, leader, &spec);
    json_decref (manifest);
    if (rc == BF_OK) {
        bf_info ("job %s queued: program board '%s'%s%s", id, board,
                 after ? " after build job " : "", after ? after : "");
        self->dispatch_needed = true;
    }
    return rc;
}

/*  The program options of a request: board (required), token, priority,
    timeout.  Replies with an error and returns NULL when one is bad; else
    returns the board row (new reference). */
static json_t *
s_program_opts (bf_broker_t *self, zframe_t *rid, json_t *opts, char *hash, const char **th,
                int64_t *priority, int64_t *timeout_ms)
{
    const char *name;
    bool bad;
    *priority = 0;
    *timeout_ms = self->cfg.program_timeout_ms;
    json_t *board = NULL;
    if (bf_body_str (&name, opts, "board", 64, true) != BF_OK
        || (*th = s_token_hash (hash, opts, &bad), bad)
        || bf_body_int (priority, opts, "priority", -1000, 1000, false) == BF_EINVAL
        || bf_body_int (timeout_ms, opts, "timeout_ms", 1000, self->cfg.job_timeout_max_ms,
                        false) == BF_EINVAL
        || !(board = bf_boards_get (self->boards, name))) {
        s_reply_error (self, rid, "%s", bf_error_last ());
        return NULL;
    }
    return board;
}

/*  PROGRAM {"board", "source", "token"?, "priority"?, "timeout_ms"?}: a
    job that loads a bitstream into a board.  source is {"ref": JOB|KEY}
    (a finished build's job id, or a cache key, full or prefix) or
    {"sha256", "size"} of a bitstream uploaded first (NEED lists it when
    the broker lacks it). */
static void
s_client_program (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    char hash[BF_SHA256_HEX_LEN + 1], id[BF_JOB_ID_LEN + 1], full[BF_JOB_ID_LEN + 1];
    const char *th = NULL, *ref = NULL, *digest = NULL;
    int64_t priority, timeout_ms, size = 0;
    json_t *board = s_program_opts (self, rid, msg->body, hash, &th, &priority, &timeout_ms);
    if (!board)
        return;
    json_t *src = json_object_get (msg->body, "source"), *job = NULL, *entry = NULL;
    json_t *manifest = NULL;
    char bits[BF_SHA256_HEX_LEN + 1] = "";
    if (!json_is_object (src)
        || bf_body_str (&ref, src, "ref", BF_SHA256_HEX_LEN, false) == BF_EINVAL
        || bf_body_str (&digest, src, "sha256", BF_SHA256_HEX_LEN, false) == BF_EINVAL
        || (!ref && (!digest || !bf_sha256_is_hex (digest)
                     || bf_body_int (&size, src, "size", 1, BF_MAX_FILE_SIZE, true) != BF_OK))) {
        s_reply_error (self, rid, "field 'source' must be {\"ref\": JOB or CACHE_KEY} or "
                       "{\"sha256\", \"size\"} of an uploaded bitstream");
        goto out;
    }
    if (ref) {
        char key[BF_SHA256_HEX_LEN + 1];
        if (strlen (ref) <= BF_JOB_ID_LEN && bf_jobs_resolve (self->jobs, full, ref) == BF_OK) {
            bf_jobs_get (self->jobs, &job, full, true);
            const char *b = json_string_value (json_object_get (job, "bitstream_sha256"));
            if (strcmp (json_string_value (json_object_get (job, "state")), "succeeded") != 0
                || !b) {
                s_reply_error (self, rid, "job %s is %s; only a succeeded build has a bitstream "
                               "to program", full,
                               json_string_value (json_object_get (job, "state")));
                goto out;
            }
            snprintf (bits, sizeof bits, "%s", b);
            manifest = json_object_get (job, "manifest");
            if (s_is_program (job))
                manifest = NULL;
        }
        else if (bf_cache_resolve_key (self->cache, key, ref) == BF_OK
                 && bf_cache_get_entry (self->cache, &entry, key, true) == BF_OK
                 && json_is_string (json_object_get (entry, "bitstream"))) {
            snprintf (bits, sizeof bits, "%s",
                      json_string_value (json_object_get (entry, "bitstream")));
            manifest = json_object_get (entry, "manifest");
        }
        else {
            s_reply_error (self, rid, "'%.64s' is neither a finished build's job id nor a cache "
                           "key with a bitstream", ref);
            goto out;
        }
        char *data = NULL;
        size_t len = 0;
        if (bf_cache_get_object (self->cache, &data, &len, bits) != BF_OK) {
            s_reply_error (self, rid, "the bitstream %.12s is no longer in the cache; build it "
                           "again", bits);
            goto out;
        }
        free (data);
        size = (int64_t) len;
    }
    else
        snprintf (bits, sizeof bits, "%s", digest);
    if (s_board_accepts (board, (uint64_t) size, manifest) != BF_OK) {
        s_reply_error (self, rid, "%s", bf_error_last ());
        goto out;
    }
    if (bf_random_hex (id, BF_JOB_ID_LEN / 2) != BF_OK) {
        s_reply_error (self, rid, "no random source for a job id");
        goto out;
    }
    json_t *pins = json_pack ("[s]", bits), *missing = NULL;
    int prc = bf_cache_pin (self->cache, id, pins, NULL, &missing);
    json_decref (pins);
    if (prc == BF_ENOTFOUND) {
        json_t *body = json_pack ("{s:o}", "missing", missing);
        s_reply (self, rid, BF_PROTO_CLIENT, "NEED", body, NULL);
        json_decref (body);
        goto out;
    }
    json_decref (missing);
    if (prc != BF_OK
        || s_create_program (self, id, json_string_value (json_object_get (board, "name")), bits,
                             (uint64_t) size, NULL, th, (int) priority, timeout_ms) != BF_OK) {
        s_reply_error (self, rid, "%s", bf_error_last ());
        bf_cache_unpin (self->cache, id);
        goto out;
    }
    json_t *created = NULL;
    bf_jobs_get (self->jobs, &created, id, false);
    s_reply (self, rid, BF_PROTO_CLIENT, "OK", created, NULL);
    json_decref (created);
out:
    json_decref (entry);
    json_decref (job);
    json_decref (board);
}

/*  A board row as clients see it: the derived state, no token hash. */
static json_t *
s_board_view (bf_broker_t *self, json_t *b)
{
    json_t *o = json_deep_copy (b);
    const char *name = json_string_value (json_object_get (b, "name"));
    const char *health = json_string_value (json_object_get (b, "health"));
    int64_t now = bf_now_ms ();
    char busy[BF_JOB_ID_LEN + 1];
    s_worker_t *w = s_board_owner (self, name);
    bool reserved = bf_boards_reserved (b, now);
    const char *state = strcmp (health, "ok") != 0 ? health
                        : !w ? "offline"
                        : bf_jobs_board_job (self->jobs, busy, name) == BF_OK ? "busy"
                        : reserved ? "reserved" : "idle";
    json_object_set_new (o, "state", json_string (state));
    json_object_set_new (o, "job", strcmp (state, "busy") == 0 ? json_string (busy) : json_null ());
    json_object_del (o, "token_hash");
    if (reserved) {
        char when[40];
        bf_time_iso (when, sizeof when, json_integer_value (json_object_get (b, "reserved_until")));
        json_object_set_new (o, "reserved_until", json_string (when));
    }
    else {
        json_object_set_new (o, "reserved_by", json_null ());
        json_object_set_new (o, "reserved_until", json_null ());
    }
    json_object_del (o, "lease_ms");
    return o;
}

/*  RESERVE {"board" | "device", "ttl_ms", "by"}: a lease on a board, with a
    fresh token.  Replies {"board", "token", "reserved_by", "reserved_until",
    "ttl_ms"}, or ERROR {"error", "busy": true} when none is free now. */
static void
s_client_reserve (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *name = NULL, *device = NULL, *by = NULL;
    int64_t ttl = 15 * 60 * 1000;
    if (bf_body_str (&name, msg->body, "board", 64, false) == BF_EINVAL
        || bf_body_str (&device, msg->body, "device", 16, false) == BF_EINVAL
        || s_body_text (&by, msg->body, "by", 64, true) != BF_OK
        || bf_body_int (&ttl, msg->body, "ttl_ms", 1000, 24 * 3600 * 1000, false) == BF_EINVAL
        || (!name == !device
            && bf_error_set (BF_EINVAL, "give exactly one of 'board' and 'device'"))) {
        s_reply_error (self, rid, "%s", bf_error_last ());
        return;
    }
    char token[BF_TOKEN_HEX_LEN + 1], hash[BF_SHA256_HEX_LEN + 1];
    if (bf_random_hex (token, BF_TOKEN_HEX_LEN / 2) != BF_OK) {
        s_reply_error (self, rid, "no random source for a token");
        return;
    }
    bf_sha256_hex (hash, token, strlen (token));
    int64_t now = bf_now_ms ();
    json_t *all = bf_boards_all (self->boards);
    size_t i;
    json_t *b;
    int rc = BF_ENOTFOUND, candidates = 0;
    char *why = NULL;
    const char *got = NULL;
    json_array_foreach (all, i, b) {
        const char *bn = json_string_value (json_object_get (b, "name"));
        if (name ? strcmp (bn, name) != 0
                 : strcmp (json_string_value (json_object_get (b, "device")), device) != 0)
            continue;
        candidates++;
        if (!name && !s_board_owner (self, bn))
            continue;                               /* by device: only boards online now */
        rc = bf_boards_reserve (self->boards, bn, by, hash, ttl, now);
        if (rc == BF_OK) {
            got = bn;
            break;
        }
        free (why);
        why = xstrdup (bf_error_last ());
    }
    if (got) {
        json_t *row = bf_boards_get (self->boards, got);
        json_t *v = s_board_view (self, row);
        json_t *body = json_pack ("{s:s, s:s, s:s, s:O, s:I}", "board", got, "token", token,
                                  "reserved_by", by, "reserved_until",
                                  json_object_get (v, "reserved_until"), "ttl_ms",
                                  (json_int_t) ttl);
        bf_info ("board '%s' reserved by %s for %lld ms", got, by, (long long) ttl);
        s_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
        json_decref (body);
        json_decref (v);
        json_decref (row);
    }
    else {
        char *text = candidates == 0
                     ? (name ? xasprintf ("no board named '%.40s' (see `bitfarm boards`)", name)
                             : xasprintf ("no board holds an %.16s", device))
                     : why ? xstrdup (why)
                     : xasprintf ("no board with an %.16s is online", device);
        json_t *body = json_pack ("{s:s, s:b}", "error", text, "busy", candidates > 0);
        s_reply (self, rid, BF_PROTO_CLIENT, "ERROR", body, NULL);
        json_decref (body);
        free (text);
    }
    free (why);
    json_decref (all);
}

/*  RELEASE {"board", "token"}: ends the lease, if that token holds it. */
static void
s_client_release (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *name;
    char hash[BF_SHA256_HEX_LEN + 1];
    bool bad;
    const char *th = s_token_hash (hash, msg->body, &bad);
    if (bf_body_str (&name, msg->body, "board", 64, true) != BF_OK || bad
        || (!th && bf_error_set (BF_EINVAL, "field 'token' is required"))
        || bf_boards_release (self->boards, name, th) != BF_OK) {
        s_reply_error (self, rid, "%s", bf_error_last ());
        return;
    }
    bf_info ("board '%s' released", name);
    self->dispatch_needed = true;
    json_t *body = json_pack ("{s:s, s:b}", "board", name, "released", 1);
    s_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
    json_decref (body);
}

/*  BOARD {"board", "health": "ok" | "maintenance", "reason"?}: an
    operator enables a board (clearing error) or takes it out of service. */
static void
s_client_board (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *name, *health, *reason = NULL;
    if (bf_body_str (&name, msg->body, "board", 64, true) != BF_OK
        || bf_body_str (&health, msg->body, "health", 16, true) != BF_OK
        || s_body_text (&reason, msg->body, "reason", 200, false) == BF_EINVAL
        || ((strcmp (health, "ok") && strcmp (health, "maintenance"))
            && bf_error_set (BF_EINVAL, "field 'health' must be ok or maintenance, not '%.20s'",
                             health))
        || bf_boards_set_health (self->boards, name, health,
                                 reason ? reason : "set by an operator") != BF_OK) {
        s_reply_error (self, rid, "%s", bf_error_last ());
        return;
    }
    bf_info ("board '%s' set to %s%s%s", name, health, reason ? ": " : "", reason ? reason : "");
    self->dispatch_needed = true;
    json_t *row = bf_boards_get (self->boards, name);
    json_t *v = s_board_view (self, row);
    s_reply (self, rid, BF_PROTO_CLIENT, "OK", v, NULL);
    json_decref (v);
    json_decref (row);
}

/*  Program jobs whose build finished: they get its bitstream (pinned for
    them) and become ready, or fail when the build did not succeed. */
static void
s_release_after (bf_broker_t *self)
{
    json_t *done = bf_jobs_after_done (self->jobs);
    size_t i;
    json_t *d;
    json_array_foreach (done, i, d) {
        const char *id = json_string_value (json_object_get (d, "id"));
        const char *build = json_string_value (json_object_get (d, "build"));
        const char *state = json_string_value (json_object_get (d, "state"));
        const char *bits = json_string_value (json_object_get (d, "bitstream"));
        char *data = NULL;
        size_t len = 0;
        json_t *pins = bits ? json_pack ("[s]", bits) : NULL;
        if (strcmp (state, "succeeded") == 0 && bits
            && bf_cache_pin (self->cache, id, pins, NULL, NULL) == BF_OK
            && bf_cache_get_object (self->cache, &data, &len, bits) == BF_OK
            && bf_jobs_set_bitstream (self->jobs, id, bits, len) == BF_OK) {
            bf_info ("job %s: build %s succeeded; programming is next", id, build);
            self->dispatch_needed = true;
        }
        else {
            char *error = strcmp (state, "succeeded") == 0
                          ? xasprintf ("the bitstream of build job %s is no longer in the cache",
                                       build)
                          : xasprintf ("build job %s %s%s%s", build, state,
                                       json_string_value (json_object_get (d, "error")) ? ": " : "",
                                       json_string_value (json_object_get (d, "error"))
                                       ? json_string_value (json_object_get (d, "error")) : "");
            json_t *res = json_pack ("{s:s, s:s, s:s, s:s}", "state", "failed", "failure_class",
                                     strcmp (state, "failed") == 0 ? "design" : state, "stage",
                                     "build", "error", error);
            s_finish (self, id, res, error, NULL);
            json_decref (res);
            free (error);
        }
        free (data);
        json_decref (pins);
    }
    json_decref (done);
}

static void
s_client (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *c = msg->command;
    if (strcmp (c, "SUBMIT") == 0)
        s_client_submit (self, rid, msg);
    else if (strcmp (c, "UPLOAD") == 0)
        s_client_upload (self, rid, msg);
    else if (strcmp (c, "STATUS") == 0)
        s_client_status (self, rid, msg);
    else if (strcmp (c, "LOGS") == 0)
        s_client_logs (self, rid, msg);
    else if (strcmp (c, "FETCH") == 0)
        s_client_fetch (self, rid, msg);
    else if (strcmp (c, "CANCEL") == 0)
        s_client_cancel (self, rid, msg);
    else if (strcmp (c, "JOBS") == 0) {
        int64_t limit = 20;
        if (bf_body_int (&limit, msg->body, "limit", 1, 10000, false) == BF_EINVAL) {
            s_reply_error (self, rid, "%s", bf_error_last ());
            return;
        }
        json_t *body = json_pack ("{s:o}", "jobs", bf_jobs_list (self->jobs, (int) limit));
        s_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
        json_decref (body);
    }
    else if (strcmp (c, "WORKERS") == 0) {
        json_t *arr = json_array ();
        for (s_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
            json_array_append_new (arr, s_worker_json (w));
        json_t *body = json_pack ("{s:o}", "workers", arr);
        s_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
        json_decref (body);
    }
    else if (strcmp (c, "ENTRY") == 0)
        s_client_entry (self, rid, msg);
    else if (strcmp (c, "PROGRAM") == 0)
        s_client_program (self, rid, msg);
    else if (strcmp (c, "RESERVE") == 0)
        s_client_reserve (self, rid, msg);
    else if (strcmp (c, "RELEASE") == 0)
        s_client_release (self, rid, msg);
    else if (strcmp (c, "BOARD") == 0)
        s_client_board (self, rid, msg);
    else if (strcmp (c, "BOARDS") == 0) {
        json_t *all = bf_boards_all (self->boards), *arr = json_array ();
        size_t i;
        json_t *b;
        json_array_foreach (all, i, b)
            json_array_append_new (arr, s_board_view (self, b));
        json_t *body = json_pack ("{s:o}", "boards", arr);
        s_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
        json_decref (body);
        json_decref (all);
    }
    else if (strcmp (c, "PING") == 0) {
        json_t *body = json_pack ("{s:s}", "version", S_VERSION);
        char toolchain[BF_SHA256_HEX_LEN + 1];
        if (bf_jobs_toolchain_latest (self->jobs, toolchain, "ice40") == BF_OK)
            json_object_set_new (body, "toolchain", json_string (toolchain));
        if (self->cfg.cache_salt)
            json_object_set_new (body, "salt", json_string (self->cfg.cache_salt));
        s_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
        json_decref (body);
    }
    else {
        s_reply_error (self, rid, "unknown command '%s'", c);
    }
}

/* ---------------------------------------------------------------------- */
/*  Worker commands                                                         */

/*  READY's optional "jobs": [{"job": ID, "done": bool}, ...], the jobs the
    worker still runs (done false) or holds an unacknowledged result for.
    Returns a new object id -> done, or NULL with a detail. */
static json_t *
s_claimed_jobs (json_t *body)
{
    json_t *arr = json_object_get (body, "jobs");
    json_t *claimed = json_object ();
    if (!arr)
        return claimed;
    if (!json_is_array (arr) || json_array_size (arr) > 4096) {
        bf_error_set (BF_EINVAL, "field 'jobs' must be an array of at most 4096 jobs");
        json_decref (claimed);
        return NULL;
    }
    size_t i;
    json_t *j;
    json_array_foreach (arr, i, j) {
        const char *id;
        bool done = false;
        if (bf_body_str (&id, j, "job", BF_JOB_ID_LEN, true) != BF_OK
            || bf_body_bool (&done, j, "done", false) == BF_EINVAL
            || strlen (id) != BF_JOB_ID_LEN || strspn (id, "0123456789abcdef") != BF_JOB_ID_LEN) {
            bf_error_set (BF_EINVAL, "field 'jobs' must hold {\"job\": ID, \"done\": bool}");
            json_decref (claimed);
            return NULL;
        }
        json_object_set_new (claimed, id, json_boolean (done));
    }
    return claimed;
}

/*  The worker registered again (with the same routing id, or with the same
    name from a new socket): the old registration ends, and jobs it held
    that the new one does not claim are retried. */
static void
s_worker_replaced (bf_broker_t *self, const char *rid_hex, const char *name, json_t *claimed)
{
    zlistx_t *old = zlistx_new ();
    for (s_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        if (strcmp (w->rid, rid_hex) == 0 || strcmp (w->name, name) == 0)
            zlistx_add_end (old, w);
    for (s_worker_t *w = zlistx_first (old); w; w = zlistx_next (old)) {
        json_t *dropped = json_array ();
        const char *id;
        json_t *v;
        json_object_foreach (w->jobs, id, v)
            if (!json_object_get (claimed, id))
                json_array_append_new (dropped, json_string (id));
        bf_info ("worker '%s' registered again", w->name);
        zhashx_delete (self->workers, w->rid);
        size_t i;
        json_array_foreach (dropped, i, v) {
            char *reason = xasprintf ("worker '%s' registered again without it", name);
            s_attempt_failed (self, json_string_value (v), reason);
            free (reason);
        }
        json_decref (dropped);
    }
    zlistx_destroy (&old);
}

/*  Takes back the jobs a (re-)registering worker says it holds. */
static void
s_worker_recover (bf_broker_t *self, s_worker_t *w, json_t *claimed)
{
    const char *id;
    json_t *done;
    json_object_foreach (claimed, id, done) {
        json_t *job = NULL;
        if (bf_jobs_get (self->jobs, &job, id, false) != BF_OK) {
            s_worker_command (self, w, "CANCEL", id);
            continue;
        }
        const char *state = json_string_value (json_object_get (job, "state"));
        bool held = false;
        for (s_worker_t *o = zhashx_first (self->workers); o; o = zhashx_next (self->workers))
            held |= o != w && json_object_get (o->jobs, id) != NULL;
        if (bf_jobs_state_final (state)) {
            if (!json_is_true (done))
                s_worker_command (self, w, "CANCEL", id);
        }
        else {
            if (!held) {
                int64_t deadline = bf_now_ms ()
                                   + json_integer_value (json_object_get (job, "timeout_ms"))
                                   + self->lease_ms;
                if (bf_jobs_recover (self->jobs, id, w->name, deadline) == BF_OK) {
                    bf_info ("job %s recovered: worker '%s' still holds it", id, w->name);
                    json_object_del (self->orphans, id);
                }
            }
            if (!json_is_true (done))
                json_object_set_new (w->jobs, id, s_is_program (job) ? json_string ("program")
                                                                     : json_true ());
        }
        json_decref (job);
    }
}

static void
s_worker_ready (bf_broker_t *self, zframe_t *rid, const char *rid_hex, bf_msg_t *msg)
{
    const char *name, *toolchain;
    int64_t slots = 1;
    json_t *tc = json_object_get (msg->body, "toolchain");
    json_t *tags = NULL, *claimed = NULL;
    if (bf_body_str (&name, msg->body, "name", S_WORKER_NAME, true) != BF_OK
        || bf_body_int (&slots, msg->body, "slots", 1, 256, true) != BF_OK
        || !json_is_object (tc)
        || bf_body_str (&toolchain, tc, "id", BF_SHA256_HEX_LEN, true) != BF_OK
        || !bf_sha256_is_hex (toolchain)
        || bf_body_tags (&tags, msg->body, "tags") != BF_OK
        || !(claimed = s_claimed_jobs (msg->body))) {
        bf_warn ("bad READY from a worker: %s", bf_error_last ());
        json_t *body = json_pack ("{s:s}", "reason", bf_error_last ());
        s_reply (self, rid, BF_PROTO_WORKER, "DISCONNECT", body, NULL);
        json_decref (body);
        json_decref (tags);
        return;
    }
    json_t *boards = json_object_get (msg->body, "boards");
    if (boards && (!json_is_array (boards) || json_array_size (boards) > 64)) {
        bf_warn ("bad READY from worker '%s': field 'boards' must be an array of at most 64",
                 name);
        boards = NULL;
    }
    for (s_worker_t *o = zhashx_first (self->workers); o; o = zhashx_next (self->workers))
        if (strcmp (o->name, name) == 0 && strcmp (o->key, self->peer_key) != 0) {
            /* A name is not an identity: only the key that holds it may
               take it over (and with it its jobs and boards). */
            bf_warn ("refused READY from key '%s': worker name '%s' is held by another key",
                     self->peer_name, name);
            json_t *body = json_pack ("{s:s, s:b}", "reason", "worker name is in use by "
                                      "another key", "refused", 1);
            s_reply (self, rid, BF_PROTO_WORKER, "DISCONNECT", body, NULL);
            json_decref (body);
            json_decref (tags);
            json_decref (claimed);
            return;
        }
    bool sandboxed = false;     /* absent or malformed: assume the worst */
    bf_body_bool (&sandboxed, msg->body, "sandbox", false);
    s_worker_replaced (self, rid_hex, name, claimed);
    s_worker_t *w = xcalloc (1, sizeof *w);
    snprintf (w->key, sizeof w->key, "%s", self->peer_key);
    w->sandboxed = sandboxed;
    w->boards = json_array ();
    size_t bi;
    json_t *bv;
    json_array_foreach (boards, bi, bv) {
        const char *bname = json_string_value (json_object_get (bv, "name"));
        const char *dev = json_string_value (json_object_get (bv, "device"));
        const char *fam = json_string_value (json_object_get (bv, "family"));
        const char *pkg = json_string_value (json_object_get (bv, "package"));
        const char *cable = json_string_value (json_object_get (bv, "cable"));
        s_worker_t *other;
        if (!bname || !bf_tag_valid (bname) || !dev || !bf_manifest_device (dev, NULL) || !fam
            || strcmp (fam, "ice40") != 0 || !pkg || !bf_manifest_package (dev, pkg) || !cable
            || strlen (cable) > 200) {
            bf_warn ("worker '%s' declared a malformed board (#%zu); ignored", name, bi + 1);
            continue;
        }
        if ((other = s_board_owner (self, bname)) && strcmp (other->name, name) != 0) {
            bf_warn ("worker '%s' declared board '%s', which worker '%s' owns; ignored", name,
                     bname, other->name);
            continue;
        }
        if (bf_boards_declare (self->boards, name, bv) != BF_OK)
            bf_warn ("board '%s': %s", bname, bf_error_last ());
        else
            json_array_append_new (w->boards, json_string (bname));
    }
    w->rid = xstrdup (rid_hex);
    w->rid_frame = zframe_dup (rid);
    snprintf (w->name, sizeof w->name, "%s", name);
    w->slots = (int) slots;
    snprintf (w->toolchain, sizeof w->toolchain, "%s", toolchain);
    w->versions = s_tool_versions (json_object_get (tc, "versions"));
    w->tags = tags;
    w->jobs = json_object ();
    w->expires_at = bf_mono_ms () + self->lease_ms;
    w->connected_at = bf_now_ms ();
    zhashx_insert (self->workers, rid_hex, w);
    bf_jobs_toolchain_seen (self->jobs, toolchain, "ice40", w->versions);
    s_worker_recover (self, w, claimed);
    json_decref (claimed);
    bf_info ("worker '%s' ready: %d slot(s), %zu board(s), toolchain %.12s, %zu job(s) held%s",
             w->name, w->slots, json_array_size (w->boards), w->toolchain,
             json_object_size (w->jobs), w->sandboxed ? "" : "; UNSANDBOXED (--no-sandbox)");
    self->dispatch_needed = true;
}

/*  A program job's RESULT: the log is kept in the cache, the board's
    failure count moves, and the job succeeds, fails for good (bitstream or
    device), or is retried (infrastructure). */
static void
s_program_result (bf_broker_t *self, s_worker_t *w, json_t *job, bf_msg_t *msg,
                  const char *outcome, const char *cls, const char *error)
{
    const char *id = json_string_value (json_object_get (job, "id"));
    const char *board = json_string_value (json_object_get (job, "board"));
    const char *holder = json_string_value (json_object_get (job, "worker"));
    if (strcmp (json_string_value (json_object_get (job, "state")), "running") != 0 || !holder
        || strcmp (holder, w->name) != 0) {
        bf_info ("job %s: stale program result from worker '%s' ignored", id, w->name);
        return;
    }
    json_t *res = json_pack ("{s:s, s:O}", "stage", "program", "bitstream",
                             json_object_get (job, "bitstream_sha256"));
    const char *log = json_string_value (json_object_get (msg->body, "log"));
    zframe_t *f = zmsg_first (msg->blobs);
    if (log && f && bf_sha256_is_hex (log)) {
        const char *names[] = { log };
        const void *data[] = { zframe_data (f) };
        size_t lens[] = { zframe_size (f) };
        if (zframe_size (f) <= BF_MAX_FILE_SIZE
            && bf_cache_put_objects (self->cache, 1, names, data, lens) == BF_OK)
            json_object_set_new (res, "log", json_string (log));
    }
    bool ok = strcmp (outcome, "succeeded") == 0;
    bool final = ok || (cls && strcmp (cls, "bitstream") == 0);
    bool went_error = false;
    bf_boards_outcome (self->boards, board, id, !final, error, self->cfg.board_failures,
                       &went_error);
    if (went_error)
        bf_warn ("board '%s' is now in error after %d infrastructure failures in a row; "
                 "`bitfarm board %s --enable` puts it back", board, self->cfg.board_failures,
                 board);
    char tok[BF_SHA256_HEX_LEN + 1];
    if (bf_jobs_token_hash (self->jobs, tok, id))
        bf_boards_renew (self->boards, board, tok, bf_now_ms ());
    if (final) {
        json_object_set_new (res, "state", json_string (ok ? "succeeded" : "failed"));
        if (ok)
            json_object_set_new (res, "stage", json_string ("done"));
        else {
            json_object_set_new (res, "failure_class", json_string ("bitstream"));
            json_object_set_new (res, "error", json_string (error ? error : "load failed"));
        }
        s_finish (self, id, res, error, w);
    }
    else {
        char *reason = xasprintf ("infrastructure failure on board '%s': %s", board,
                                  error ? error : outcome);
        s_attempt_failed (self, id, reason);
        free (reason);
    }
    json_decref (res);
    self->dispatch_needed = true;
}

static void
s_worker_result (bf_broker_t *self, s_worker_t *w, bf_msg_t *msg)
{
    const char *id, *outcome, *key, *cls = NULL, *stage = NULL, *error = NULL;
    if (bf_body_str (&id, msg->body, "job", BF_JOB_ID_LEN, true) != BF_OK) {
        bf_warn ("bad RESULT from worker '%s': %s", w->name, bf_error_last ());
        return;
    }
    json_object_del (w->jobs, id);
    self->dispatch_needed = true;
    json_t *job = NULL;
    json_t *res = NULL;
    bool program = json_is_string (json_object_get (msg->body, "board"));
    key = "";
    if (bf_body_str (&outcome, msg->body, "outcome", 16, true) != BF_OK
        || (!program
            && bf_body_str (&key, msg->body, "cache_key", BF_SHA256_HEX_LEN, true) != BF_OK)
        || bf_body_str (&cls, msg->body, "failure_class", 32, false) == BF_EINVAL
        || bf_body_str (&stage, msg->body, "stage", 32, false) == BF_EINVAL
        || bf_body_str (&error, msg->body, "error", 4096, false) == BF_EINVAL) {
        bf_warn ("bad RESULT for job %s from worker '%s': %s", id, w->name, bf_error_last ());
        outcome = "lost";
        error = "the worker sent a malformed result";
    }
    if (bf_jobs_get (self->jobs, &job, id, true) != BF_OK) {
        bf_warn ("RESULT for unknown job %s from worker '%s' ignored", id, w->name);
        goto ack;
    }
    const char *state = json_string_value (json_object_get (job, "state"));
    if (bf_jobs_state_final (state)) {
        bf_info ("job %s: late result from worker '%s' discarded (already %s)", id, w->name,
                 state);
        goto ack;
    }
    if (s_is_program (job)) {
        s_program_result (self, w, job, msg, outcome, cls, error);
        goto ack;
    }
    res = json_pack ("{s:s}", "stage", stage ? stage : "done");
    /* Objects, then the entry naming them, under the cache's shared lock,
       so no eviction or gc runs in between. */
    bf_cache_hold (self->cache);
    json_t *manifest = json_object_get (job, "manifest");
    if (strcmp (outcome, "lost") != 0) {
        const void *bd[3];
        size_t bl[3], nb = bf_blobs_view (msg->blobs, 3, bd, bl);
        if (bf_cache_put_result_objects (self->cache, manifest, msg->body, nb, bd, bl) != BF_OK) {
            bf_warn ("job %s: result objects from worker '%s' rejected: %s", id, w->name,
                     bf_error_last ());
            outcome = "lost";
            error = "a result object failed verification";
        }
        else {
            static const char *objs[] = { "bitstream", "report", "log" };
            for (int i = 0; i < 3; i++)
                if (json_is_string (json_object_get (msg->body, objs[i])))
                    json_object_set (res, objs[i], json_object_get (msg->body, objs[i]));
        }
    }
    bool ok = strcmp (outcome, "succeeded") == 0;
    if (ok && !json_object_get (res, "bitstream")) {
        outcome = "lost";
        error = "success without a bitstream";
        ok = false;
    }
    bool failed = strcmp (outcome, "failed") == 0;
    if (ok || (failed && cls && strcmp (cls, "design") == 0)) {
        if (error)
            json_object_set_new (res, "error", json_string (error));
        if (bf_cache_put_result_entry (self->cache, key, manifest, w->toolchain, ok, res)
            != BF_OK)
            bf_warn ("job %s: cannot cache result: %s", id, bf_error_last ());
        json_object_set_new (res, "state", json_string (ok ? "succeeded" : "failed"));
        if (!ok)
            json_object_set_new (res, "failure_class", json_string ("design"));
        s_finish (self, id, res, error, w);
    }
    else if (failed && cls && strcmp (cls, "timeout") == 0) {
        json_object_set_new (res, "state", json_string ("timed_out"));
        json_object_set_new (res, "failure_class", json_string ("timeout"));
        json_object_set_new (res, "error", json_string (error ? error : "time limit reached"));
        s_finish (self, id, res, NULL, w);
    }
    else {
        /* Infrastructure trouble (or a worker's own cancel, or a rejected
           job): this attempt failed.  Only the current holder's word counts. */
        const char *holder = json_string_value (json_object_get (job, "worker"));
        if (strcmp (state, "running") == 0 && holder && strcmp (holder, w->name) == 0) {
            char *reason = xasprintf ("%s on worker '%s': %s", strcmp (outcome, "rejected") == 0
                                      ? "rejected" : "infrastructure failure", w->name,
                                      error ? error : outcome);
            s_attempt_failed (self, id, reason);
            free (reason);
        }
        else
            bf_info ("job %s: stale failure from worker '%s' ignored (%s)", id, w->name,
                     error ? error : outcome);
    }
    bf_cache_release (self->cache);
    bf_janitor_poke (self->janitor);
ack:
    /* The worker keeps a result until it hears this, and sends it again
       after a reconnect otherwise. */
    s_worker_command (self, w, "ACK", id);
    json_decref (res);
    json_decref (job);
}

static void
s_worker_log (bf_broker_t *self, s_worker_t *w, bf_msg_t *msg)
{
    const char *id;
    if (bf_body_str (&id, msg->body, "job", BF_JOB_ID_LEN, true) != BF_OK
        || !json_object_get (w->jobs, id))
        return;
    const char *stage;
    if (bf_body_str (&stage, msg->body, "stage", 32, false) == BF_OK)
        bf_jobs_stage (self->jobs, id, stage);
    zframe_t *f;
    if (zmsg_size (msg->blobs) == 0)
        return;
    char *path = s_log_path (self, id);
    int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    free (path);
    while ((f = zmsg_pop (msg->blobs))) {
        if (fd >= 0)
            bf_write_all (fd, zframe_data (f), zframe_size (f));
        zframe_destroy (&f);
    }
    if (fd >= 0)
        close (fd);
}

/*  WANT {"job", "digests"}: inputs of a job that the worker's local cache
    lacks.  Answered with INPUTS {"job", "digests"} and one blob per digest.
    Only inputs of a job this worker holds are served.  An input the
    broker no longer has intact fails the job: the client must upload it
    again, which a new submit does. */
static void
s_worker_want (bf_broker_t *self, s_worker_t *w, bf_msg_t *msg)
{
    const char *id;
    json_t *digests = json_object_get (msg->body, "digests");
    if (bf_body_str (&id, msg->body, "job", BF_JOB_ID_LEN, true) != BF_OK
        || !json_is_array (digests) || json_array_size (digests) > BF_MAX_FILES) {
        bf_warn ("bad WANT from worker '%s': %s", w->name,
                 json_is_array (digests) ? "too many digests" : bf_error_last ());
        return;
    }
    if (!json_object_get (w->jobs, id)) {
        bf_warn ("WANT from worker '%s' for job %s, which it does not hold, ignored", w->name,
                 id);
        return;
    }
    json_t *job = NULL;
    if (bf_jobs_get (self->jobs, &job, id, true) != BF_OK)
        return;
    json_t *inputs = s_is_program (job)
                     ? json_pack ("[O]", json_object_get (job, "bitstream_sha256"))
                     : bf_manifest_input_digests (json_object_get (job, "manifest"));
    json_decref (job);
    zmsg_t *blobs = zmsg_new ();
    char *error = NULL;
    uint64_t bytes = 0;
    size_t i;
    json_t *v;
    json_array_foreach (digests, i, v) {
        const char *d = json_string_value (v);
        bool known = false;
        size_t k;
        json_t *in;
        json_array_foreach (inputs, k, in)
            known |= d && strcmp (d, json_string_value (in)) == 0;
        char *data = NULL;
        size_t len = 0;
        if (!known)
            error = xasprintf ("worker asked for %.70s, which is not an input of the job",
                               d ? d : "a non-string");
        else if (bf_cache_get_object (self->cache, &data, &len, d) != BF_OK)
            error = xasprintf ("input %.12s is no longer intact in the broker's cache (%s); "
                               "submit again to upload it", d, bf_error_last ());
        if (error)
            break;
        zmsg_addmem (blobs, data, len);
        bytes += len;
        free (data);
    }
    json_decref (inputs);
    if (error) {
        bf_warn ("job %s: %s", id, error);
        json_t *res = json_pack ("{s:s, s:s, s:s}", "state", "failed", "failure_class",
                                 "infrastructure", "error", error);
        s_finish (self, id, res, error, NULL);
        json_decref (res);
        zmsg_destroy (&blobs);
        free (error);
        return;
    }
    bf_info ("job %s: sending %zu input(s), %llu bytes, to worker '%s'", id,
             json_array_size (digests), (unsigned long long) bytes, w->name);
    json_t *body = json_pack ("{s:s, s:O}", "job", id, "digests", digests);
    s_reply (self, w->rid_frame, BF_PROTO_WORKER, "INPUTS", body, &blobs);
    json_decref (body);
}

static void
s_worker (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    char *rid_hex = zframe_strhex (rid);
    s_worker_t *w = zhashx_lookup (self->workers, rid_hex);
    if (strcmp (msg->command, "READY") == 0)
        s_worker_ready (self, rid, rid_hex, msg);
    else if (!w) {
        /* A peer we do not know (or forgot): tell it to register again. */
        json_t *body = json_pack ("{s:s}", "reason", "unknown worker; send READY");
        s_reply (self, rid, BF_PROTO_WORKER, "DISCONNECT", body, NULL);
        json_decref (body);
    }
    else {
        w->expires_at = bf_mono_ms () + self->lease_ms;
        if (strcmp (msg->command, "HEARTBEAT") == 0)
            ;
        else if (strcmp (msg->command, "LOG") == 0)
            s_worker_log (self, w, msg);
        else if (strcmp (msg->command, "RESULT") == 0)
            s_worker_result (self, w, msg);
        else if (strcmp (msg->command, "WANT") == 0)
            s_worker_want (self, w, msg);
        else if (strcmp (msg->command, "DRAIN") == 0) {
            if (!w->draining)
                bf_info ("worker '%s' is draining: no new jobs; %zu running", w->name,
                         json_object_size (w->jobs));
            w->draining = true;
        }
        else if (strcmp (msg->command, "DISCONNECT") == 0)
            s_worker_lost (self, w, "it said goodbye");
        else
            bf_warn ("unknown command '%s' from worker '%s'", msg->command, w->name);
    }
    free (rid_hex);
}

/* ---------------------------------------------------------------------- */
/*  Who is asking                                                           */

/*  Sets self->peer_* for the sender of raw (its frames after the routing
    id): on a CURVE broker its public key (the ZAP User-Id libzmq attaches
    to each frame), the key's name and its roles from the allow-lists as
    they are now; on a plain broker every role. */
static void
s_identify (bf_broker_t *self, zmsg_t *raw)
{
    self->peer_key[0] = '\0';
    snprintf (self->peer_name, sizeof self->peer_name, "-");
    if (!self->auth) {
        self->peer_roles = BF_AUTH_WORKER | BF_AUTH_CLIENT | BF_AUTH_ADMIN;
        return;
    }
    zframe_t *first = zmsg_first (raw);
    const char *uid = first ? zframe_meta (first, "User-Id") : NULL;
    const char *name = NULL;
    self->peer_roles = bf_auth_roles (self->auth, uid, &name);
    if (uid && strlen (uid) == BF_CURVE_KEY_LEN)
        snprintf (self->peer_key, sizeof self->peer_key, "%s", uid);
    /* The name comes from a certificate file: keep it printable. */
    size_t n = 0;
    for (const char *c = name; c && *c && n < BF_CURVE_NAME_MAX; c++)
        self->peer_name[n++] = (*c > 0x20 && *c < 0x7f) ? *c : '?';
    if (n > 0)
        self->peer_name[n] = '\0';
}

/*  A message from a key whose roles do not allow it: a client command from
    a worker-only key, or a worker command from a client key (or a key
    revoked since it connected).  Workers get DISCONNECT with "refused",
    which makes them stop instead of registering again. */
static void
s_refuse (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    bool as_worker = strcmp (msg->proto, BF_PROTO_WORKER) == 0;
    char *why = xasprintf ("key '%s' (%.12s...) may not %s: it is not in the broker's %s",
                           self->peer_name, self->peer_key,
                           as_worker ? "register as a worker" : "use client commands",
                           as_worker ? "KEYS/workers" : "KEYS/clients or KEYS/admins");
    bf_warn ("refused %s from %s", msg->command, why);
    if (as_worker) {
        char *rid_hex = zframe_strhex (rid);
        s_worker_t *w = zhashx_lookup (self->workers, rid_hex);
        free (rid_hex);
        if (w)
            s_worker_lost (self, w, "its key was revoked");
        json_t *body = json_pack ("{s:s, s:b}", "reason", why, "refused", 1);
        s_reply (self, rid, BF_PROTO_WORKER, "DISCONNECT", body, NULL);
        json_decref (body);
    }
    else
        s_reply_error (self, rid, "%s", why);
    free (why);
}

/*  True when the peer may cancel job, or read its log: it submitted it,
    or it holds an admin key, or the broker is plain.  Otherwise replies
    with an error naming the job's owner and returns false. */
static bool
s_may_touch (bf_broker_t *self, zframe_t *rid, json_t *job, const char *what)
{
    if (!self->auth || (self->peer_roles & BF_AUTH_ADMIN))
        return true;
    const char *owner = json_string_value (json_object_get (job, "owner"));
    if (owner && strcmp (owner, self->peer_key) == 0)
        return true;
    const char *name = json_string_value (json_object_get (job, "owner_name"));
    s_reply_error (self, rid, "job %s belongs to key '%s'; only its owner or an admin key may "
                   "%s", json_string_value (json_object_get (job, "id")),
                   name ? name : "(none)", what);
    return false;
}

/* ---------------------------------------------------------------------- */

/*  Drops the cache pins of jobs that have finished (or never were
    created: a crash between pin and commit), so eviction may take what
    they held. */
static void
s_unpin_finished (bf_broker_t *self)
{
    json_t *owners = bf_cache_pin_owners (self->cache);
    size_t i;
    json_t *v;
    json_array_foreach (owners, i, v) {
        json_t *job = NULL;
        const char *id = json_string_value (v);
        if (bf_jobs_get (self->jobs, &job, id, false) != BF_OK
            || bf_jobs_state_final (json_string_value (json_object_get (job, "state"))))
            bf_cache_unpin (self->cache, id);
        json_decref (job);
    }
    json_decref (owners);
}

/*  Once per heartbeat interval: leases of silent workers and of orphaned
    jobs end, jobs over their time limit end, and heartbeats go out. */
static void
s_tick (bf_broker_t *self)
{
    int64_t now = bf_mono_ms ();
    if (now < self->heartbeat_at)
        return;
    self->heartbeat_at = now + self->cfg.heartbeat_ms;
    zlistx_t *lost = zlistx_new ();
    for (s_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        if (now >= w->expires_at)
            zlistx_add_end (lost, w);
    for (s_worker_t *w = zlistx_first (lost); w; w = zlistx_next (lost))
        s_worker_lost (self, w, "heartbeats stopped");
    zlistx_destroy (&lost);

    json_t *expired = json_array ();
    const char *id;
    json_t *v;
    json_object_foreach (self->orphans, id, v)
        if (now >= json_integer_value (v))
            json_array_append_new (expired, json_string (id));
    size_t i;
    json_array_foreach (expired, i, v)
        s_attempt_failed (self, json_string_value (v), "lease expired: its worker did not "
                          "register again after the broker restarted");
    json_decref (expired);

    json_t *overdue = bf_jobs_overdue (self->jobs, bf_now_ms ());
    json_array_foreach (overdue, i, v) {
        json_t *job = NULL;
        if (bf_jobs_get (self->jobs, &job, json_string_value (v), false) != BF_OK)
            continue;
        char *error = xasprintf ("no result within the time limit of %lld ms (broker lease)",
                                 (long long) json_integer_value (json_object_get (job,
                                                                                  "timeout_ms")));
        json_t *res = json_pack ("{s:s, s:s, s:s}", "state", "timed_out", "failure_class",
                                 "timeout", "error", error);
        s_finish (self, json_string_value (v), res, NULL, NULL);
        json_decref (res);
        free (error);
        json_decref (job);
    }
    json_decref (overdue);

    json_t *body = json_object ();
    for (s_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        s_reply (self, w->rid_frame, BF_PROTO_WORKER, "HEARTBEAT", body, NULL);
    json_decref (body);

    json_t *ended = bf_boards_expire (self->boards, bf_now_ms ());
    json_array_foreach (ended, i, v) {
        bf_info ("the reservation of board '%s' by %s expired", json_string_value (
                     json_object_get (v, "name")), json_string_value (json_object_get (v,
                                                                                  "reserved_by")));
        self->dispatch_needed = true;
    }
    json_decref (ended);

    /* Access times and hit counters go to the cache index in one batch. */
    if (bf_cache_flush (self->cache) != BF_OK)
        bf_warn ("cache: %s", bf_error_last ());
    if (now >= self->pins_checked_at + S_PIN_CHECK_MS) {
        self->pins_checked_at = now;
        s_unpin_finished (self);
    }
}

static int
s_lock_state (bf_broker_t *self)
{
    char *path = xasprintf ("%s/broker.lock", self->state_dir);
    self->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    int rc = BF_OK;
    if (self->lock_fd < 0)
        rc = bf_error_set (BF_EIO, "cannot open '%s': %s", path, strerror (errno));
    else if (flock (self->lock_fd, LOCK_EX | LOCK_NB) < 0)
        rc = bf_error_set (BF_EBUSY, "another broker is using the state directory '%s'",
                           self->state_dir);
    free (path);
    return rc;
}

int
bf_broker_new (bf_broker_t **out, const bf_broker_config_t *config)
{
    *out = NULL;
    bf_broker_t *self = xcalloc (1, sizeof *self);
    self->cfg = *config;
    self->lock_fd = -1;
    if (self->cfg.heartbeat_ms <= 0)
        self->cfg.heartbeat_ms = 1000;
    if (self->cfg.liveness <= 0)
        self->cfg.liveness = 3;
    if (self->cfg.job_timeout_ms <= 0)
        self->cfg.job_timeout_ms = 3600 * 1000;
    if (self->cfg.job_timeout_max_ms <= 0)
        self->cfg.job_timeout_max_ms = 86400 * 1000;
    if (self->cfg.job_timeout_max_ms < self->cfg.job_timeout_ms)
        self->cfg.job_timeout_max_ms = self->cfg.job_timeout_ms;
    if (self->cfg.max_attempts <= 0)
        self->cfg.max_attempts = 3;
    if (self->cfg.board_failures <= 0)
        self->cfg.board_failures = 3;
    if (self->cfg.program_timeout_ms <= 0)
        self->cfg.program_timeout_ms = 120000;
    if (self->cfg.retry_backoff_ms <= 0)
        self->cfg.retry_backoff_ms = 1000;
    self->lease_ms = (int64_t) self->cfg.heartbeat_ms * self->cfg.liveness;
    self->state_dir = xstrdup (config->state_dir);
    self->workers = zhashx_new ();
    zhashx_set_destructor (self->workers, s_worker_destroy);
    self->orphans = json_object ();
    int rc;
    char *p = xasprintf ("%s/logs", self->state_dir);
    rc = bf_mkdir_p (p, 0755);
    free (p);
    if (rc != BF_OK || (rc = s_lock_state (self)) != BF_OK)
        goto fail;
    p = xasprintf ("%s/jobs.db", self->state_dir);
    rc = bf_jobs_open (&self->jobs, p);
    if (rc == BF_OK)
        self->boards = bf_boards_new (self->jobs);
    free (p);
    if (rc != BF_OK)
        goto fail;
    p = xasprintf ("%s/cache", self->state_dir);
    rc = bf_cache_open (&self->cache, p, &config->cache);
    if (rc == BF_OK) {
        /* What a crash left behind: orphan files, rows without files, temp
           files older than an hour. */
        json_t *gc = NULL;
        if (bf_cache_gc (self->cache, BF_CACHE_TEMP_AGE_MS, &gc) != BF_OK)
            bf_warn ("cache gc: %s", bf_error_last ());
        else {
            char *text = json_dumps (gc, JSON_COMPACT);
            bf_info ("cache gc at start-up: %s", text);
            free (text);
        }
        json_decref (gc);
        s_unpin_finished (self);
        self->janitor = bf_janitor_new (p, &config->cache, S_JANITOR_MS);
    }
    free (p);
    if (rc != BF_OK)
        goto fail;
    /* Jobs that were running when the broker stopped keep a lease of two
       lease periods from now: time for their workers to register again
       and claim them.  After that they are retried. */
    json_t *running = bf_jobs_running (self->jobs);
    size_t i;
    json_t *j;
    int64_t until = bf_mono_ms () + 2 * self->lease_ms;
    json_array_foreach (running, i, j)
        json_object_set_new (self->orphans, json_string_value (json_object_get (j, "id")),
                             json_integer (until));
    if (json_array_size (running) > 0)
        bf_info ("%zu job(s) were running when the broker stopped; waiting %lld ms for their "
                 "workers", json_array_size (running), (long long) (2 * self->lease_ms));
    json_decref (running);
    if (config->cert_path && config->keys_dir) {
        /* zauth first: a CURVE server without a ZAP handler accepts any key. */
        if ((rc = bf_auth_new (&self->auth, config->keys_dir, config->cert_path)) != BF_OK)
            goto fail;
    }
    else if (!bf_endpoint_is_local (config->listen)) {
        if (!config->insecure) {
            rc = bf_error_set (BF_EACCES, "refusing to listen on '%s' without CURVE: give "
                               "--cert and --keys (see bitfarm keygen), or --insecure to "
                               "serve anyone who can reach it", config->listen);
            goto fail;
        }
        bf_warn ("INSECURE: listening on '%s' without CURVE (--insecure): anyone who can "
                 "reach it can submit designs, register as a worker and read every job",
                 config->listen);
    }
    self->router = zsock_new (ZMQ_ROUTER);
    bf_socket_policy (self->router);
    zsock_set_sndtimeo (self->router, 0);
    if (self->auth)
        bf_auth_server (self->auth, self->router);
    if (zsock_bind (self->router, "%s", config->listen) < 0) {
        rc = bf_error_set (BF_EINVAL, "cannot listen on '%s': %s", config->listen,
                           zmq_strerror (errno));
        goto fail;
    }
    self->endpoint = xstrdup (zsock_endpoint (self->router));
    self->dispatch_needed = true;
    self->after_needed = true;      /* builds that ended before a restart */
    *out = self;
    return BF_OK;
fail:
    bf_broker_destroy (&self);
    return rc;
}

const char *
bf_broker_endpoint (bf_broker_t *self)
{
    return self->endpoint;
}

int
bf_broker_run (bf_broker_t *self)
{
    zpoller_t *poller = zpoller_new (self->router, NULL);
    if (self->auth)
        bf_info ("listening on %s, CURVE (broker key %s; allow-lists in %s), state in %s",
                 self->endpoint, bf_auth_public (self->auth), self->cfg.keys_dir,
                 self->state_dir);
    else
        bf_info ("listening on %s, state in %s", self->endpoint, self->state_dir);
    while (!zsys_interrupted) {
        if (self->next_ready && bf_now_ms () >= self->next_ready)
            self->dispatch_needed = true;
        if (self->after_needed) {
            self->after_needed = false;
            s_release_after (self);
        }
        if (self->dispatch_needed)
            s_dispatch (self);
        int64_t wait = self->heartbeat_at - bf_mono_ms ();
        if (self->next_ready && self->next_ready - bf_now_ms () < wait)
            wait = self->next_ready - bf_now_ms ();
        if (wait < 0)
            wait = 0;
        zsock_t *which = zpoller_wait (poller, (int) wait);
        if (zpoller_terminated (poller))
            break;
        if (which) {
            zmsg_t *raw = zmsg_recv (self->router);
            if (!raw)
                break;
            zframe_t *rid = zmsg_pop (raw);
            s_identify (self, raw);
            bf_msg_t *msg = NULL;
            if (bf_msg_decode (&msg, &raw) != BF_OK) {
                char esc[300];
                bf_warn ("malformed message dropped: %s",
                         bf_log_escape (esc, sizeof esc, bf_error_last ()));
                s_reply_error (self, rid, "%s", bf_error_last ());
            }
            else if (strcmp (msg->proto, BF_PROTO_CLIENT) == 0) {
                if (self->peer_roles & BF_AUTH_CLIENT)
                    s_client (self, rid, msg);
                else
                    s_refuse (self, rid, msg);
            }
            else if (self->peer_roles & BF_AUTH_WORKER)
                s_worker (self, rid, msg);
            else
                s_refuse (self, rid, msg);
            bf_msg_destroy (&msg);
            zframe_destroy (&rid);
        }
        s_tick (self);
    }
    zpoller_destroy (&poller);
    /* Running jobs stay running in the database: their workers keep
       building and report to the next broker on this state directory. */
    json_t *body = json_pack ("{s:s}", "reason", "broker shutting down");
    for (s_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        s_reply (self, w->rid_frame, BF_PROTO_WORKER, "DISCONNECT", body, NULL);
    json_decref (body);
    bf_info ("stopped");
    return BF_OK;
}

void
bf_broker_destroy (bf_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_broker_t *self = *self_p;
    zsock_destroy (&self->router);
    bf_auth_destroy (&self->auth);
    zhashx_destroy (&self->workers);
    json_decref (self->orphans);
    bf_boards_destroy (&self->boards);
    bf_jobs_destroy (&self->jobs);
    bf_janitor_destroy (&self->janitor);
    bf_cache_destroy (&self->cache);
    if (self->lock_fd >= 0)
        close (self->lock_fd);
    free (self->state_dir);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}
