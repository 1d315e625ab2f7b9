/*  bf_worker - see bf_worker.h. */
#include "bf_worker.h"
#include "bf_board.h"
#include "bf_flow.h"
#include "../common/bf_toolchain.h"
#include "../cache/bf_cache.h"
#include "../cache/bf_janitor.h"
#include "../cache/bf_key.h"
#include "../common/bf_curve.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_manifest.h"
#include "../common/bf_proto.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_LOG_FLUSH_BYTES 16384
#define S_LOG_FLUSH_MS    250
#define S_RECONNECT_MAX   32000
#define S_RESULT_LOG_MAX  (32u << 20)
#define S_DONE_CHECK_MS   5000       /* the XVC DONE check's time limit */

/*  One running job: its thread (a zactor) and what the thread needs. */
typedef struct {
    char id[40];
    char cache_key[BF_SHA256_HEX_LEN + 1];   /* the broker's key, echoed in RESULT */
    char l1_key[BF_SHA256_HEX_LEN + 1];      /* this worker's key, for its L1 */
    char *job_dir;
    json_t *manifest;
    json_t *inputs;              /* distinct input digests */
    bool wanting;                /* WANT sent; waiting for INPUTS */
    int64_t timeout_ms;
    atomic_int cancel;
    zactor_t *actor;
    /* the thread's log buffer */
    char *logbuf;
    size_t loglen;
    int64_t log_flushed_at;
    zsock_t *pipe;
    char stage[16];
    /* program jobs */
    const bf_sandbox_t *sandbox; /* the worker's, for builds */
    const bf_toolchain_t *toolchain; /* the worker's, for builds */
    const bf_board_t *board;     /* NULL for a build */
    char bitstream[BF_SHA256_HEX_LEN + 1];
    uint64_t bitstream_size;
    bool board_wait;             /* inputs here; waiting for the board to be free */
} s_job_t;

/*  A result sent to the broker and not yet acknowledged (ACK). */
typedef struct {
    char id[40];
    zmsg_t *msg;                 /* the whole RESULT message, kept to send again */
} s_pending_t;

struct _bf_worker_t {
    bf_worker_config_t cfg;
    char *work_dir;
    char *name;
    json_t *tags;
    bf_toolchain_t tc;
    zsock_t *dealer;
    zpoller_t *poller;
    zlistx_t *jobs;              /* s_job_t */
    zlistx_t *pending;           /* s_pending_t */
    int64_t heartbeat_at;        /* monotonic ms */
    int64_t broker_expires;      /* monotonic ms: the broker is presumed lost after this */
    int64_t reconnect_at;        /* monotonic ms of the next reconnect; 0 = none planned */
    int64_t reconnect_ivl;       /* ms: 1 s doubling to S_RECONNECT_MAX */
    bool draining;
    int64_t drain_deadline;      /* monotonic ms: give up waiting for ACKs */
    bf_cache_t *l1;              /* the local cache */
    bf_janitor_t *janitor;       /* its eviction thread */
    bf_board_t *boards;          /* from the config file */
    int nboards;
    pid_t *vboards;              /* bitfarm-vboard of each virtual board, or 0 */
    bf_sandbox_t sandbox;        /* where build tools run */
    bf_curve_t *curve;           /* CURVE to the broker; NULL: plain */
    char *refused;               /* the broker refused us, and why: stop, do not retry */
};

/*  SIGINT/SIGTERM count (bf_worker_signal). */
static volatile sig_atomic_t s_stop_signals = 0;

void
bf_worker_signal (int sig)
{
    (void) sig;
    if (s_stop_signals < 2)
        s_stop_signals++;
}

/* ---------------------------------------------------------------------- */
/*  The build thread                                                        */

static void
s_flush_log (s_job_t *job, bool force)
{
    int64_t now = bf_mono_ms ();
    if (!force && job->loglen < S_LOG_FLUSH_BYTES && now - job->log_flushed_at < S_LOG_FLUSH_MS)
        return;
    job->log_flushed_at = now;
    if (job->loglen == 0 && !force)
        return;
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "LOG");
    zmsg_addstr (msg, job->stage);
    zmsg_addmem (msg, job->logbuf, job->loglen);
    zmsg_send (&msg, job->pipe);
    job->loglen = 0;
}

static void
s_on_stage (void *arg, const char *stage)
{
    s_job_t *job = arg;
    s_flush_log (job, true);
    snprintf (job->stage, sizeof job->stage, "%s", stage);
    s_flush_log (job, true);
}

static void
s_on_line (void *arg, const char *line)
{
    s_job_t *job = arg;
    size_t n = strlen (line);
    if (job->loglen + n + 1 > S_LOG_FLUSH_BYTES * 2)
        s_flush_log (job, true);
    if (n + 1 > S_LOG_FLUSH_BYTES * 2)
        n = S_LOG_FLUSH_BYTES * 2 - 1;
    memcpy (job->logbuf + job->loglen, line, n);
    job->loglen += n;
    job->logbuf[job->loglen++] = '\n';
    s_flush_log (job, false);
}

/*  Adds a file from the job directory as a blob and its digest to body. */
static void
s_attach (json_t *body, zmsg_t *blobs, const char *field, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (bf_file_read (&data, &len, path, S_RESULT_LOG_MAX) != BF_OK)
        return;
    char digest[BF_SHA256_HEX_LEN + 1];
    bf_sha256_hex (digest, data, len);
    json_object_set_new (body, field, json_string (digest));
    zmsg_addmem (blobs, data, len);
    free (data);
}

/*  The start of a job thread: its log buffer, then the signal zactor_new
    waits for.  Returns the job. */
static s_job_t *
s_actor_begin (zsock_t *pipe, void *args)
{
    s_job_t *job = args;
    job->pipe = pipe;
    job->logbuf = xmalloc (S_LOG_FLUSH_BYTES * 2);
    job->log_flushed_at = bf_mono_ms ();
    zsock_signal (pipe, 0);
    return job;
}

/*  The end of a job thread: sends RESULT (body and blobs are taken) to
    the main loop, frees the log buffer, and waits for $TERM from
    zactor_destroy. */
static void
s_actor_finish (s_job_t *job, zsock_t *pipe, json_t *body, zmsg_t *blobs)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "RESULT");
    char *text = json_dumps (body, JSON_COMPACT);
    zmsg_addstr (msg, text);
    free (text);
    json_decref (body);
    zframe_t *f;
    while ((f = zmsg_pop (blobs)))
        zmsg_append (msg, &f);
    zmsg_destroy (&blobs);
    zmsg_send (&msg, pipe);
    free (job->logbuf);
    job->logbuf = NULL;
    for (;;) {
        zmsg_t *cmd = zmsg_recv (pipe);
        if (!cmd)
            break;
        char *word = zmsg_popstr (cmd);
        zmsg_destroy (&cmd);
        bool term = word && strcmp (word, "$TERM") == 0;
        free (word);
        if (term)
            break;
    }
}

static void
s_build_actor (zsock_t *pipe, void *args)
{
    s_job_t *job = s_actor_begin (pipe, args);

    bf_flow_hooks_t hooks = { .on_stage = s_on_stage, .on_line = s_on_line, .arg = job,
                              .cancel = &job->cancel, .timeout_ms = job->timeout_ms,
                              .sandbox = job->sandbox, .toolchain = job->toolchain };
    bf_flow_result_t res;
    if (bf_flow_run (&res, job->job_dir, job->manifest, &hooks) != BF_OK) {
        memset (&res, 0, sizeof res);
        snprintf (res.failure_class, sizeof res.failure_class, "infrastructure");
        snprintf (res.error, sizeof res.error, "%s", bf_error_last ());
    }
    s_flush_log (job, true);

    json_t *body = json_pack ("{s:s, s:s, s:s, s:s}", "job", job->id, "cache_key",
                              job->cache_key, "outcome", res.ok ? "succeeded" : "failed",
                              "stage", res.stage[0] ? res.stage : "setup");
    zmsg_t *blobs = zmsg_new ();
    if (res.ok) {
        char *p = xasprintf ("%s/out/top.bin", job->job_dir);
        s_attach (body, blobs, "bitstream", p);
        free (p);
        p = xasprintf ("%s/out/report.json", job->job_dir);
        s_attach (body, blobs, "report", p);
        free (p);
    }
    else {
        json_object_set_new (body, "failure_class", json_string (res.failure_class));
        json_object_set_new (body, "error", json_string (res.error));
    }
    char *p = xasprintf ("%s/build.log", job->job_dir);
    s_attach (body, blobs, "log", p);
    free (p);
    s_actor_finish (job, pipe, body, blobs);
}

/*  A line of bitfarm's own in the program log: streamed, and kept in the
    log file that becomes the job's stored log. */
static void
s_program_note (s_job_t *job, const char *log, const char *line)
{
    s_on_line (job, line);
    FILE *f = fopen (log, "ae");
    if (f) {
        fprintf (f, "%s\n", line);
        fclose (f);
    }
}

/*  The program thread: openFPGALoader loads job->job_dir/bitstream.bin
    into the board; the outcome is judged from its status and output (and
    DONE over XVC where configured). */
static void
s_program_actor (zsock_t *pipe, void *args)
{
    s_job_t *job = s_actor_begin (pipe, args);
    s_on_stage (job, "program");

    const bf_board_t *b = job->board;
    char *bin = xasprintf ("%s/bitstream.bin", job->job_dir);
    char *log = xasprintf ("%s/program.log", job->job_dir);
    char **argv = bf_board_argv (b, bin);
    char *cmdline = xstrdup ("$");
    for (int i = 0; argv[i]; i++) {
        char *next = xasprintf ("%s %s", cmdline, argv[i]);
        free (cmdline);
        cmdline = next;
    }
    s_program_note (job, log, cmdline);
    free (cmdline);
    bf_spawn_opts_t opts = { .argv = (const char *const *) argv, .cwd = job->job_dir,
                             .log_path = log, .timeout_ms = job->timeout_ms,
                             .on_line = s_on_line, .arg = job, .cancel = &job->cancel };
    bf_spawn_result_t r;
    char error[1024] = "";
    bf_load_class_t cls = BF_LOAD_INFRA;
    bool cancelled = false;
    if (bf_spawn_run (&r, &opts) != BF_OK)
        snprintf (error, sizeof error, "cannot run openFPGALoader: %s", bf_error_last ());
    else if (r.cancelled) {
        cancelled = true;
        snprintf (error, sizeof error, "cancelled");
    }
    else {
        char *out = NULL;
        size_t len = 0;
        if (bf_file_read (&out, &len, log, S_RESULT_LOG_MAX) != BF_OK)
            out = xstrdup ("");
        cls = bf_board_classify (&r, out, error, sizeof error);
        free (out);
        uint8_t ir = 0;
        if (cls == BF_LOAD_OK && b->done_check) {
            if (bf_board_xvc_ir_capture (&ir, b->ip, b->port, S_DONE_CHECK_MS) != BF_OK) {
                cls = BF_LOAD_INFRA;
                snprintf (error, sizeof error, "DONE check failed: %s", bf_error_last ());
            }
            else if (!(ir & 0x20)) {
                cls = BF_LOAD_BITSTREAM;
                snprintf (error, sizeof error, "bitstream or device error: DONE stayed low "
                          "after the load (IR capture 0x%02x): the device rejected the "
                          "configuration (CRC or configuration error)", ir);
            }
            char line[160];
            snprintf (line, sizeof line, "\nbitfarm: DONE check over XVC: IR capture 0x%02x, "
                      "DONE %s", ir, (ir & 0x20) ? "high" : "low");
            s_program_note (job, log, line);
        }
    }
    if (error[0]) {
        char line[1100];
        snprintf (line, sizeof line, "\nbitfarm: %s", error);
        s_program_note (job, log, line);
    }
    s_flush_log (job, true);
    bf_board_argv_free (argv);

    json_t *body = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}", "job", job->id, "kind",
                              "program", "board", b->name, "bitstream", job->bitstream,
                              "stage", "program", "outcome",
                              cls == BF_LOAD_OK && !cancelled ? "succeeded" : "failed");
    if (cls != BF_LOAD_OK || cancelled) {
        json_object_set_new (body, "failure_class",
                             json_string (cancelled ? "cancelled"
                                          : cls == BF_LOAD_BITSTREAM ? "bitstream"
                                          : "infrastructure"));
        json_object_set_new (body, "error", json_string (error));
    }
    zmsg_t *blobs = zmsg_new ();
    s_attach (body, blobs, "log", log);
    free (bin);
    free (log);
    s_actor_finish (job, pipe, body, blobs);
}

/* ---------------------------------------------------------------------- */
/*  Talking to the broker                                                   */

static void
s_send (bf_worker_t *self, const char *command, json_t *body, zmsg_t **blobs_p)
{
    zmsg_t *msg = bf_msg_encode (BF_PROTO_WORKER, command, body, blobs_p);
    if (zmsg_send (&msg, self->dealer) != 0) {
        bf_debug ("send %s failed: %s", command, zmq_strerror (errno));
        zmsg_destroy (&msg);
    }
}

static void s_send_want (bf_worker_t *self, s_job_t *job, json_t *missing);

/*  (Re-)registers with a fresh socket: READY names every job this worker
    still runs or holds an unacknowledged result for, so the broker keeps
    them; then the unacknowledged results are sent again. */
static void
s_connect (bf_worker_t *self)
{
    if (self->dealer) {
        zpoller_remove (self->poller, self->dealer);
        zsock_destroy (&self->dealer);
    }
    if (self->curve && bf_curve_monitor (self->curve))
        zpoller_remove (self->poller, bf_curve_monitor (self->curve));
    self->dealer = zsock_new (ZMQ_DEALER);
    bf_socket_policy (self->dealer);
    zsock_set_sndtimeo (self->dealer, 0);
    zsock_set_sndhwm (self->dealer, 10000);
    if (self->curve) {
        bf_curve_apply (self->curve, self->dealer);
        zpoller_add (self->poller, bf_curve_monitor (self->curve));
    }
    zsock_connect (self->dealer, "%s", self->cfg.broker);
    zpoller_add (self->poller, self->dealer);
    json_t *held = json_array ();
    for (s_job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        json_array_append_new (held, json_pack ("{s:s, s:b}", "job", j->id, "done", 0));
    for (s_pending_t *p = zlistx_first (self->pending); p; p = zlistx_next (self->pending))
        json_array_append_new (held, json_pack ("{s:s, s:b}", "job", p->id, "done", 1));
    json_t *tc = json_pack ("{s:s, s:O}", "id", self->tc.id, "versions", self->tc.versions);
    json_t *boards = json_array ();
    for (int i = 0; i < self->nboards; i++)
        json_array_append_new (boards, bf_board_json (&self->boards[i]));
    json_t *body = json_pack ("{s:s, s:i, s:[s], s:o, s:O, s:o, s:o, s:b}", "name", self->name,
                              "slots", self->cfg.slots, "families", "ice40", "toolchain", tc,
                              "tags", self->tags, "jobs", held, "boards", boards,
                              "sandbox", self->sandbox.enabled);
    s_send (self, "READY", body, NULL);
    json_decref (body);
    if (self->draining) {
        body = json_object ();
        s_send (self, "DRAIN", body, NULL);
        json_decref (body);
    }
    for (s_pending_t *p = zlistx_first (self->pending); p; p = zlistx_next (self->pending)) {
        zmsg_t *copy = zmsg_dup (p->msg);
        if (zmsg_send (&copy, self->dealer) != 0)
            zmsg_destroy (&copy);
    }
    /* A WANT may have been lost with the old socket. */
    for (s_job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        if (j->wanting) {
            json_t *missing = NULL;
            if (bf_cache_pin (self->l1, j->id, j->inputs, NULL, &missing) == BF_ENOTFOUND)
                s_send_want (self, j, missing);
            json_decref (missing);
        }
    int64_t now = bf_mono_ms ();
    self->heartbeat_at = now + self->cfg.heartbeat_ms;
    self->broker_expires = now + (int64_t) self->cfg.heartbeat_ms * self->cfg.liveness;
    self->reconnect_at = 0;
}

typedef struct {
    bf_worker_t *self;
    const char *src_dir;
} s_stage_ctx_t;

/*  Writes one input from the L1 cache (verified on read) into the job's
    source tree. */
static int
s_write_input (void *arg, const char *path, const char *sha256, uint64_t size)
{
    s_stage_ctx_t *ctx = arg;
    char *data = NULL;
    size_t len = 0;
    int rc = bf_cache_get_object (ctx->self->l1, &data, &len, sha256);
    if (rc != BF_OK)
        return bf_error_set (rc, "input '%s' (%.12s) is not in the local cache: %s", path,
                             sha256, bf_error_last ());
    if (len != size)
        rc = bf_error_set (BF_ECORRUPT, "input '%s' is %zu bytes, not %llu", path, len,
                           (unsigned long long) size);
    else {
        char *full = xasprintf ("%s/%s", ctx->src_dir, path);
        char *copy = xstrdup (full);
        rc = bf_mkdir_p (dirname (copy), 0755);
        if (rc == BF_OK)
            rc = bf_file_write_atomic (full, data, len, 0644);
        free (copy);
        free (full);
    }
    free (data);
    return rc;
}

static void
s_reject (bf_worker_t *self, const char *id, const char *why)
{
    bf_warn ("job %s rejected: %s", id, why);
    json_t *body = json_pack ("{s:s, s:s, s:s, s:s}", "job", id, "outcome", "rejected",
                              "cache_key", "", "error", why);
    s_send (self, "RESULT", body, NULL);
    json_decref (body);
}

static s_job_t *
s_find_job (bf_worker_t *self, const char *id)
{
    for (s_job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        if (strcmp (j->id, id) == 0)
            return j;
    return NULL;
}

static void s_start_job (bf_worker_t *self, s_job_t *job);

/*  The job other than `except` whose load is running on the board, or NULL. */
static s_job_t *
s_board_busy (bf_worker_t *self, const bf_board_t *board, const s_job_t *except)
{
    for (s_job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        if (j != except && j->board == board && j->actor)
            return j;
    return NULL;
}

/*  The board's next program job, if one waits for it, starts. */
static void
s_board_next (bf_worker_t *self, const bf_board_t *board)
{
    if (s_board_busy (self, board, NULL))
        return;
    for (s_job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        if (j->board == board && j->board_wait) {
            j->board_wait = false;
            bf_info ("job %s: board '%s' is free now", j->id, board->name);
            s_start_job (self, j);
            return;
        }
}

static void
s_job_free (bf_worker_t *self, s_job_t *job)
{
    const bf_board_t *board = job->board;
    if (job->actor) {
        zpoller_remove (self->poller, job->actor);
        zactor_destroy (&job->actor);
    }
    if (job->job_dir && !self->cfg.keep_jobs)
        bf_remove_tree (job->job_dir);
    bf_cache_unpin (self->l1, job->id);
    free (job->job_dir);
    json_decref (job->manifest);
    json_decref (job->inputs);
    void *handle = zlistx_find (self->jobs, job);
    if (handle)
        zlistx_delete (self->jobs, handle);
    free (job);
    if (board && !zsys_interrupted)
        s_board_next (self, board);
}

/*  Queues a RESULT for the broker: kept until its ACK, sent again after a
    reconnect.  Takes over *msg_p (the blobs). */
static void
s_post_result (bf_worker_t *self, const char *id, json_t *body, zmsg_t **blobs_p)
{
    s_pending_t *p = xcalloc (1, sizeof *p);
    snprintf (p->id, sizeof p->id, "%s", id);
    p->msg = bf_msg_encode (BF_PROTO_WORKER, "RESULT", body, blobs_p);
    zlistx_add_end (self->pending, p);
    zmsg_t *copy = zmsg_dup (p->msg);
    if (zmsg_send (&copy, self->dealer) != 0) {
        bf_debug ("send RESULT failed: %s", zmq_strerror (errno));
        zmsg_destroy (&copy);
    }
}

/*  A job whose key the L1 cache holds: the result, with the original
    build's log, goes back at once.  Returns false on an L1 miss. */
static bool
s_l1_hit (bf_worker_t *self, s_job_t *job)
{
    /* A peek: each object is read and verified once, below, as it is
       attached; a corrupt one is quarantined and makes this a miss. */
    json_t *entry = NULL;
    if (bf_cache_get_entry (self->l1, &entry, job->l1_key, true) != BF_OK)
        return false;
    bool ok = strcmp (json_string_value (json_object_get (entry, "outcome")), "succeeded") == 0;
    json_t *body = json_pack ("{s:s, s:s, s:s, s:s, s:s}", "job", job->id, "cache_key",
                              job->cache_key, "outcome", ok ? "succeeded" : "failed", "stage",
                              ok ? "done" : json_string_value (json_object_get (entry, "stage")),
                              "l1", "hit");
    if (!ok) {
        json_object_set_new (body, "failure_class", json_string ("design"));
        json_object_set (body, "error", json_object_get (entry, "error"));
    }
    zmsg_t *blobs = zmsg_new ();
    static const char *objs[] = { "bitstream", "report", "log" };
    bool complete = true;
    for (int i = 0; i < 3 && complete; i++) {
        const char *d = json_string_value (json_object_get (entry, objs[i]));
        char *data = NULL;
        size_t len = 0;
        if (!d)
            continue;
        if (bf_cache_get_object (self->l1, &data, &len, d) != BF_OK)
            complete = false;
        else {
            json_object_set_new (body, objs[i], json_string (d));
            zmsg_addmem (blobs, data, len);
        }
        free (data);
    }
    if (complete) {
        bf_cache_count (self->l1, job->l1_key, self->tc.id, true);
        bf_info ("job %s %s (local cache hit: no tool run, nothing downloaded)", job->id,
                 ok ? "succeeded" : "failed");
        s_post_result (self, job->id, body, &blobs);
    }
    zmsg_destroy (&blobs);
    json_decref (body);
    json_decref (entry);
    return complete;
}

/*  Writes the inputs from L1 into a fresh job directory and starts the
    build thread.  On failure the job is rejected (the broker retries it)
    and freed. */
static void
s_start_job (bf_worker_t *self, s_job_t *job)
{
    s_job_t *busy = job->board ? s_board_busy (self, job->board, job) : NULL;
    if (busy) {
        bf_info ("job %s waits: board '%s' is busy with job %s", job->id, job->board->name,
                 busy->id);
        job->board_wait = true;
        return;
    }
    char rnd[9];
    bf_random_hex (rnd, 4);
    job->job_dir = xasprintf ("%s/jobs/%s-%s", self->work_dir, job->id, rnd);
    job->sandbox = &self->sandbox;
    job->toolchain = &self->tc;
    char *src = xasprintf ("%s/src", job->job_dir);
    int rc = bf_mkdir_p (src, 0755);
    s_stage_ctx_t ctx = { self, job->board ? job->job_dir : src };
    if (rc == BF_OK && job->board)
        rc = s_write_input (&ctx, "bitstream.bin", job->bitstream, job->bitstream_size);
    else if (rc == BF_OK)
        rc = bf_manifest_each_input (job->manifest, s_write_input, &ctx);
    free (src);
    if (rc != BF_OK) {
        s_reject (self, job->id, bf_error_last ());
        s_job_free (self, job);
        return;
    }
    /* The build thread must not take SIGINT/SIGTERM (they are the main
       loop's business), so they are blocked while it is created. */
    sigset_t block, old;
    sigemptyset (&block);
    sigaddset (&block, SIGINT);
    sigaddset (&block, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &block, &old);
    job->actor = zactor_new (job->board ? s_program_actor : s_build_actor, job);
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    zpoller_add (self->poller, job->actor);
    if (job->board)
        bf_info ("job %s: programming board '%s' with %.12s (%llu bytes)", job->id,
                 job->board->name, job->bitstream, (unsigned long long) job->bitstream_size);
    else
        bf_info ("job %s started in %s", job->id, job->job_dir);
}

static void
s_send_want (bf_worker_t *self, s_job_t *job, json_t *missing)
{
    json_t *body = json_pack ("{s:s, s:O}", "job", job->id, "digests", missing);
    s_send (self, "WANT", body, NULL);
    json_decref (body);
    job->wanting = true;
}

/*  Pins the job's inputs in L1 and starts it, or asks the broker for the
    inputs L1 lacks. */
static void
s_stage_or_want (bf_worker_t *self, s_job_t *job, bool first)
{
    json_t *missing = NULL;
    int rc = bf_cache_pin (self->l1, job->id, job->inputs, NULL, &missing);
    if (rc == BF_OK) {
        if (first)
            bf_info ("job %s: all %zu input(s) in the local cache; nothing to download",
                     job->id, json_array_size (job->inputs));
        job->wanting = false;
        s_start_job (self, job);
    }
    else if (rc == BF_ENOTFOUND && first) {
        bf_info ("job %s: %zu of %zu input(s) in the local cache; asking for %zu", job->id,
                 json_array_size (job->inputs) - json_array_size (missing),
                 json_array_size (job->inputs), json_array_size (missing));
        s_send_want (self, job, missing);
    }
    else {
        s_reject (self, job->id, rc == BF_ENOTFOUND ? "inputs missing after INPUTS"
                                                    : bf_error_last ());
        s_job_free (self, job);
    }
    json_decref (missing);
}

static int
s_build_jobs (bf_worker_t *self)
{
    int n = 0;
    for (s_job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        n += j->board == NULL;
    return n;
}

/*  JOB {"kind": "program", "board", "bitstream", "size", "timeout_ms"}. */
static void
s_on_program_job (bf_worker_t *self, bf_msg_t *msg, const char *id)
{
    const char *name, *digest;
    int64_t size = 0, timeout_ms = 0;
    if (bf_body_str (&name, msg->body, "board", BF_BOARD_NAME_MAX, true) != BF_OK
        || bf_body_str (&digest, msg->body, "bitstream", BF_SHA256_HEX_LEN, true) != BF_OK
        || !bf_sha256_is_hex (digest)
        || bf_body_int (&size, msg->body, "size", 1, BF_MAX_FILE_SIZE, true) != BF_OK
        || bf_body_int (&timeout_ms, msg->body, "timeout_ms", 1, INT64_MAX / 4, true) != BF_OK) {
        s_reject (self, id, bf_error_last ());
        return;
    }
    const bf_board_t *board = NULL;
    for (int i = 0; i < self->nboards; i++)
        if (strcmp (self->boards[i].name, name) == 0)
            board = &self->boards[i];
    if (!board || self->draining || s_find_job (self, id)) {
        char *why = board ? xstrdup (self->draining ? "the worker is draining" : "job already held")
                          : xasprintf ("no board named '%s' on this worker", name);
        s_reject (self, id, why);
        free (why);
        return;
    }
    s_job_t *job = xcalloc (1, sizeof *job);
    snprintf (job->id, sizeof job->id, "%s", id);
    job->board = board;
    snprintf (job->bitstream, sizeof job->bitstream, "%s", digest);
    job->bitstream_size = (uint64_t) size;
    job->inputs = json_pack ("[s]", digest);
    job->timeout_ms = timeout_ms;
    atomic_init (&job->cancel, 0);
    zlistx_add_end (self->jobs, job);
    s_stage_or_want (self, job, true);
}

static void
s_on_job (bf_worker_t *self, bf_msg_t *msg)
{
    const char *id, *key, *kind = NULL;
    int64_t timeout_ms = 0;
    json_t *norm = NULL;
    if (bf_body_str (&id, msg->body, "job", 32, true) != BF_OK) {
        bf_warn ("bad JOB: %s", bf_error_last ());
        return;
    }
    if (bf_body_str (&kind, msg->body, "kind", 16, false) == BF_OK && kind
        && strcmp (kind, "program") == 0) {
        s_on_program_job (self, msg, id);
        return;
    }
    if (bf_body_str (&key, msg->body, "cache_key", BF_SHA256_HEX_LEN, true) != BF_OK
        || bf_body_int (&timeout_ms, msg->body, "timeout_ms", 1, INT64_MAX / 4, true) != BF_OK
        || bf_manifest_normalize (&norm, json_object_get (msg->body, "manifest")) != BF_OK) {
        s_reject (self, id, bf_error_last ());
        return;
    }
    if (self->draining || s_build_jobs (self) >= self->cfg.slots || s_find_job (self, id)) {
        json_decref (norm);
        s_reject (self, id, self->draining ? "the worker is draining" : "no free slot");
        return;
    }
    s_job_t *job = xcalloc (1, sizeof *job);
    snprintf (job->id, sizeof job->id, "%s", id);
    snprintf (job->cache_key, sizeof job->cache_key, "%s", key);
    const char *salt = NULL;
    bf_body_str (&salt, msg->body, "salt", 64, false);
    bf_key_compute_salted (job->l1_key, norm, self->tc.id, salt);
    job->manifest = norm;
    job->inputs = bf_manifest_input_digests (norm);
    job->timeout_ms = timeout_ms;
    atomic_init (&job->cancel, 0);
    zlistx_add_end (self->jobs, job);
    if (s_l1_hit (self, job))
        s_job_free (self, job);
    else {
        bf_cache_count (self->l1, NULL, self->tc.id, false);
        s_stage_or_want (self, job, true);
    }
}

/*  INPUTS {"job", "digests"} + one blob per digest: what WANT asked for.
    Each blob is verified and stored in L1; then the job starts. */
static void
s_on_inputs (bf_worker_t *self, bf_msg_t *msg)
{
    const char *id;
    s_job_t *job;
    json_t *digests = json_object_get (msg->body, "digests");
    if (bf_body_str (&id, msg->body, "job", 32, true) != BF_OK || !(job = s_find_job (self, id))
        || !job->wanting) {
        bf_warn ("INPUTS for no job waiting for them ignored");
        return;
    }
    size_t n = json_array_size (digests);
    if (!json_is_array (digests) || n != zmsg_size (msg->blobs)) {
        s_reject (self, id, "INPUTS must carry one blob per digest");
        s_job_free (self, job);
        return;
    }
    const char **names = xcalloc (n + 1, sizeof *names);
    const void **data = xcalloc (n + 1, sizeof *data);
    size_t *lens = xcalloc (n + 1, sizeof *lens);
    zframe_t *f = zmsg_first (msg->blobs);
    for (size_t i = 0; i < n; i++, f = zmsg_next (msg->blobs)) {
        names[i] = json_string_value (json_array_get (digests, i));
        data[i] = zframe_data (f);
        lens[i] = zframe_size (f);
    }
    int rc = BF_OK;
    for (size_t i = 0; i < n && rc == BF_OK; i++)
        if (!names[i])
            rc = bf_error_set (BF_EPROTO, "INPUTS digests must be strings");
    if (rc == BF_OK)
        rc = bf_cache_put_objects (self->l1, n, names, data, lens);
    free (names);
    free (data);
    free (lens);
    if (rc != BF_OK) {
        s_reject (self, id, bf_error_last ());
        s_job_free (self, job);
        return;
    }
    bf_janitor_poke (self->janitor);
    s_stage_or_want (self, job, false);
}

/*  Stores a finished build's objects and entry in L1 (successes and design
    failures; builds are deterministic), from the RESULT body and its blobs
    (bitstream, report, log, in that order). */
static void
s_l1_store (bf_worker_t *self, s_job_t *job, json_t *body, zmsg_t *blobs)
{
    const char *outcome = json_string_value (json_object_get (body, "outcome"));
    const char *cls = json_string_value (json_object_get (body, "failure_class"));
    bool ok = outcome && strcmp (outcome, "succeeded") == 0;
    if (!ok && !(outcome && strcmp (outcome, "failed") == 0 && cls && strcmp (cls, "design") == 0))
        return;
    /* Objects, then the entry naming them, with no eviction in between. */
    bf_cache_hold (self->l1);
    int rc = bf_cache_put_result_objects (self->l1, job->manifest, body, blobs);
    if (rc == BF_OK)
        rc = bf_cache_put_result_entry (self->l1, job->l1_key, job->manifest, self->tc.id, ok,
                                        body);
    bf_cache_release (self->l1);
    if (rc != BF_OK)
        bf_warn ("job %s: not stored in the local cache: %s", job->id, bf_error_last ());
    bf_janitor_poke (self->janitor);
}

/*  A message from a build thread: relay logs and results to the broker. */
static void
s_on_actor (bf_worker_t *self, s_job_t *job)
{
    zmsg_t *msg = zmsg_recv (job->actor);
    if (!msg)
        return;
    char *kind = zmsg_popstr (msg);
    if (kind && strcmp (kind, "LOG") == 0) {
        char *stage = zmsg_popstr (msg);
        json_t *body = json_pack ("{s:s, s:s}", "job", job->id, "stage", stage ? stage : "");
        if (stage && !stage[0])
            json_object_del (body, "stage");
        zframe_t *chunk = zmsg_pop (msg);
        zmsg_t *blobs = zmsg_new ();
        if (chunk && zframe_size (chunk) > 0)
            zmsg_append (blobs, &chunk);
        zframe_destroy (&chunk);
        s_send (self, "LOG", body, &blobs);
        zmsg_destroy (&blobs);
        json_decref (body);
        free (stage);
    }
    else if (kind && strcmp (kind, "RESULT") == 0) {
        char *text = zmsg_popstr (msg);
        json_t *body = json_loads (text ? text : "{}", 0, NULL);
        free (text);
        bf_info ("job %s %s", job->id, json_string_value (json_object_get (body, "outcome")));
        if (body && !job->board)
            s_l1_store (self, job, body, msg);
        /* Kept until the broker acknowledges it; sent again on reconnect. */
        s_post_result (self, job->id, body, &msg);
        json_decref (body);
        s_job_free (self, job);
    }
    free (kind);
    zmsg_destroy (&msg);
}

static void
s_on_broker (bf_worker_t *self)
{
    zmsg_t *raw = zmsg_recv (self->dealer);
    bf_msg_t *msg = NULL;
    if (bf_msg_decode (&msg, &raw) != BF_OK) {
        bf_warn ("malformed message from broker: %s", bf_error_last ());
        return;
    }
    self->broker_expires = bf_mono_ms () + (int64_t) self->cfg.heartbeat_ms * self->cfg.liveness;
    self->reconnect_ivl = 1000;
    self->reconnect_at = 0;
    if (strcmp (msg->command, "JOB") == 0)
        s_on_job (self, msg);
    else if (strcmp (msg->command, "INPUTS") == 0)
        s_on_inputs (self, msg);
    else if (strcmp (msg->command, "CANCEL") == 0) {
        const char *id;
        s_job_t *job;
        if (bf_body_str (&id, msg->body, "job", 32, true) == BF_OK && (job = s_find_job (self, id))) {
            bf_info ("job %s: cancelling", id);
            atomic_store (&job->cancel, 1);
            if (!job->actor)
                s_job_free (self, job);   /* still waiting for its inputs */
        }
    }
    else if (strcmp (msg->command, "ACK") == 0) {
        const char *id;
        if (bf_body_str (&id, msg->body, "job", 32, true) == BF_OK)
            for (s_pending_t *p = zlistx_first (self->pending); p; p = zlistx_next (self->pending))
                if (strcmp (p->id, id) == 0) {
                    zmsg_destroy (&p->msg);
                    zlistx_delete (self->pending, zlistx_cursor (self->pending));
                    free (p);
                    break;
                }
    }
    else if (strcmp (msg->command, "DISCONNECT") == 0) {
        const char *reason = "";
        bf_body_str (&reason, msg->body, "reason", 256, false);
        bool refused = false;
        bf_body_bool (&refused, msg->body, "refused", false);
        if (refused) {
            free (self->refused);
            self->refused = xasprintf ("the broker refused this worker: %s", reason);
            bf_err ("%s", self->refused);
        }
        else {
            bf_info ("broker said DISCONNECT (%s); registering again", reason);
            s_connect (self);
        }
    }
    else if (strcmp (msg->command, "HEARTBEAT") != 0)
        bf_warn ("unknown command '%s' from broker", msg->command);
    bf_msg_destroy (&msg);
}

/* ---------------------------------------------------------------------- */

/*  Starts a bitfarm-vboard for each virtual board and learns its port.
    Each dies with the worker (PR_SET_PDEATHSIG) or at bf_worker_destroy. */
static int
s_start_vboards (bf_worker_t *self)
{
    self->vboards = xcalloc ((size_t) self->nboards + 1, sizeof *self->vboards);
    char *bin = self->cfg.vboard_bin ? xstrdup (self->cfg.vboard_bin)
                                     : bf_sibling_program ("bitfarm-vboard");
    char *dir = xasprintf ("%s/boards", self->work_dir);
    int rc = bf_mkdir_p (dir, 0755);
    for (int i = 0; rc == BF_OK && i < self->nboards; i++) {
        bf_board_t *b = &self->boards[i];
        if (!b->is_virtual)
            continue;
        char *port_file = xasprintf ("%s/%s.port", dir, b->name);
        char *state = xasprintf ("%s/%s.json", dir, b->name);
        char *log = xasprintf ("%s/%s.log", dir, b->name);
        remove (port_file);
        const char *argv[32] = { bin, "--port", "0", "--port-file", port_file, "--state-file",
                                 state, "--log-file", log };
        int n = 9;
        for (int k = 0; b->vboard_opts[k]; k++)
            argv[n++] = b->vboard_opts[k];
        argv[n] = NULL;
        pid_t pid = fork ();
        if (pid == 0) {
            prctl (PR_SET_PDEATHSIG, SIGTERM);
            sigset_t none;
            sigemptyset (&none);
            sigprocmask (SIG_SETMASK, &none, NULL);
            execvp (argv[0], (char *const *) argv);
            _exit (127);
        }
        self->vboards[i] = pid;
        for (int t = 0; pid > 0 && t < 500 && b->port == 0; t++) {
            char *text = NULL;
            size_t len;
            if (bf_file_read (&text, &len, port_file, 64) == BF_OK)
                b->port = atoi (text);
            free (text);
            int status;
            if (b->port == 0 && waitpid (pid, &status, WNOHANG) == pid) {
                self->vboards[i] = 0;
                break;
            }
            if (b->port == 0)
                usleep (10000);
        }
        if (b->port == 0)
            rc = bf_error_set (BF_EIO, "virtual board '%s': %s did not start (see %s)", b->name,
                               bin, log);
        else
            bf_info ("virtual board '%s': bitfarm-vboard on 127.0.0.1:%d, state in %s",
                     b->name, b->port, state);
        free (port_file);
        free (state);
        free (log);
    }
    free (dir);
    free (bin);
    return rc;
}

int
bf_worker_new (bf_worker_t **out, const bf_worker_config_t *config)
{
    *out = NULL;
    int rc = bf_mkdir_p (config->work_dir, 0755);
    if (rc != BF_OK)
        return rc;
    char real[PATH_MAX];
    if (!realpath (config->work_dir, real))
        return bf_error_set (BF_EIO, "cannot resolve '%s': %s", config->work_dir, strerror (errno));
    bf_worker_t *self = xcalloc (1, sizeof *self);
    self->cfg = *config;
    if (self->cfg.slots <= 0)
        self->cfg.slots = 1;
    if (self->cfg.heartbeat_ms <= 0)
        self->cfg.heartbeat_ms = 1000;
    if (self->cfg.liveness <= 0)
        self->cfg.liveness = 3;
    self->work_dir = xstrdup (real);
    if (config->name)
        self->name = xstrdup (config->name);
    else {
        char host[256] = "worker";
        gethostname (host, sizeof host - 1);
        self->name = xasprintf ("%s:%ld", host, (long) getpid ());
    }
    char *memo = xasprintf ("%s/toolchain.json", self->work_dir);
    rc = bf_toolchain_identify (&self->tc, config->tools_dir, memo);
    free (memo);
    if (rc != BF_OK) {
        bf_worker_destroy (&self);
        return rc;
    }
    /* Job directories of a previous run are stale. */
    char *jobs = xasprintf ("%s/jobs", self->work_dir);
    bf_remove_tree (jobs);
    rc = bf_mkdir_p (jobs, 0755);
    self->sandbox.enabled = !config->no_sandbox;
    self->sandbox.limits = config->limits;
    if (rc == BF_OK)
        rc = bf_sandbox_init (&self->sandbox, jobs);
    if (rc == BF_OK && self->tc.dir)
        bf_sandbox_show (&self->sandbox, self->tc.dir);
    if (rc == BF_OK && config->cert_path) {
        rc = bf_curve_new (&self->curve, config->cert_path, config->broker_key_path);
        char *certdir = xstrdup (config->cert_path);
        bf_sandbox_hide (&self->sandbox, dirname (certdir));
        free (certdir);
    }
    bf_sandbox_hide (&self->sandbox, self->work_dir);
    free (jobs);
    if (rc != BF_OK) {
        bf_worker_destroy (&self);
        return rc;
    }
    /* The local cache (L1), cleaned of what a crash left: orphans, and the
       pins of jobs that died with the previous run. */
    char *l1dir = config->cache_dir ? xstrdup (config->cache_dir)
                                    : xasprintf ("%s/cache", self->work_dir);
    bf_cache_opts_t copts = config->cache;
    if (copts.max_size == 0)
        copts.max_size = (uint64_t) 1 << 30;
    rc = bf_cache_open (&self->l1, l1dir, &copts);
    if (rc == BF_OK) {
        json_t *owners = bf_cache_pin_owners (self->l1);
        size_t i;
        json_t *v;
        json_array_foreach (owners, i, v)
            bf_cache_unpin (self->l1, json_string_value (v));
        json_decref (owners);
        bf_cache_gc (self->l1, BF_CACHE_TEMP_AGE_MS, NULL);
        self->janitor = bf_janitor_new (l1dir, &copts, 1000);
        bf_sandbox_hide (&self->sandbox, l1dir);
    }
    free (l1dir);
    if (rc != BF_OK) {
        bf_worker_destroy (&self);
        return rc;
    }
    if (config->config_file) {
        rc = bf_boards_load (&self->boards, &self->nboards, config->config_file);
        if (rc == BF_OK)
            rc = s_start_vboards (self);
        if (rc != BF_OK) {
            bf_worker_destroy (&self);
            return rc;
        }
    }
    self->tags = json_array ();
    for (const char *const *t = config->tags; t && *t; t++)
        json_array_append_new (self->tags, json_string (*t));
    self->jobs = zlistx_new ();
    self->pending = zlistx_new ();
    self->poller = zpoller_new (NULL);
    self->reconnect_ivl = 1000;
    *out = self;
    return BF_OK;
}

static void
s_send_empty (bf_worker_t *self, const char *command)
{
    json_t *body = json_object ();
    s_send (self, command, body, NULL);
    json_decref (body);
}

/*  Kills every running build and waits for its thread to finish. */
static void
s_stop_jobs (bf_worker_t *self)
{
    for (s_job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        atomic_store (&j->cancel, 1);
    while (zlistx_size (self->jobs) > 0) {
        s_job_t *j = zlistx_first (self->jobs);
        zmsg_t *m;
        while (j->actor && (m = zmsg_recv (j->actor))) {
            char *kind = zmsg_popstr (m);
            bool done = kind && strcmp (kind, "RESULT") == 0;
            free (kind);
            zmsg_destroy (&m);
            if (done)
                break;
        }
        s_job_free (self, j);
    }
}

/*  Drain progress: returns true when the worker may exit. */
static bool
s_drained (bf_worker_t *self, int64_t now)
{
    if (!self->draining) {
        self->draining = true;
        bf_info ("draining: no new jobs; waiting for %zu running job(s)",
                 zlistx_size (self->jobs));
        s_send_empty (self, "DRAIN");
    }
    if (zlistx_size (self->jobs) > 0)
        return false;
    if (zlistx_size (self->pending) == 0)
        return true;
    /* Every build is done; give the broker a few lease periods to take
       the results.  A result it never takes is retried on another worker. */
    if (self->drain_deadline == 0)
        self->drain_deadline = now + 4 * (int64_t) self->cfg.heartbeat_ms * self->cfg.liveness;
    if (now >= self->drain_deadline) {
        bf_warn ("drained, but the broker did not acknowledge %zu result(s)",
                 zlistx_size (self->pending));
        return true;
    }
    return false;
}

int
bf_worker_run (bf_worker_t *self)
{
    bf_info ("worker '%s': toolchain %.12s, %d slot(s), %d board(s), broker %s", self->name,
             self->tc.id, self->cfg.slots, self->nboards, self->cfg.broker);
    s_connect (self);
    bool hard = false;
    for (;;) {
        int64_t now = bf_mono_ms ();
        if (zsys_interrupted || s_stop_signals >= 2) {
            hard = true;
            break;
        }
        if (s_stop_signals == 1 && s_drained (self, now))
            break;
        if (self->refused) {
            hard = true;
            break;
        }
        int64_t wait = self->heartbeat_at - now;
        if (self->reconnect_at && self->reconnect_at - now < wait)
            wait = self->reconnect_at - now;
        if (wait < 0)
            wait = 0;
        void *which = zpoller_wait (self->poller, (int) wait);
        if (which == self->dealer)
            s_on_broker (self);
        else if (which && self->curve && which == bf_curve_monitor (self->curve)) {
            if (bf_curve_refused (self->curve)) {
                free (self->refused);
                self->refused = xstrdup (bf_error_last ());
                bf_err ("%s", self->refused);
            }
        }
        else if (which) {
            for (s_job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
                if ((void *) j->actor == which) {
                    s_on_actor (self, j);
                    break;
                }
        }
        now = bf_mono_ms ();
        if (now >= self->heartbeat_at) {
            s_send_empty (self, "HEARTBEAT");
            self->heartbeat_at = now + self->cfg.heartbeat_ms;
            bf_cache_flush (self->l1);
        }
        /* The broker is silent: reconnect with back-off, without ever
           blocking this loop (builds keep reporting meanwhile). */
        if (now >= self->broker_expires) {
            if (!self->reconnect_at) {
                bf_warn ("broker silent; reconnecting in %lld ms", (long long) self->reconnect_ivl);
                self->reconnect_at = now + self->reconnect_ivl;
                self->reconnect_ivl = self->reconnect_ivl * 2 > S_RECONNECT_MAX
                                      ? S_RECONNECT_MAX : self->reconnect_ivl * 2;
            }
            else if (now >= self->reconnect_at)
                s_connect (self);
        }
    }
    if (self->dealer && !self->refused)
        s_send_empty (self, "DISCONNECT");
    if (hard && zlistx_size (self->jobs) > 0)
        bf_warn ("stopping: killing %zu running build(s); the broker will retry them",
                 zlistx_size (self->jobs));
    s_stop_jobs (self);
    bf_info ("stopped");
    return self->refused ? bf_error_set (BF_EACCES, "%s", self->refused) : BF_OK;
}

void
bf_worker_destroy (bf_worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_worker_t *self = *self_p;
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->dealer);
    bf_curve_destroy (&self->curve);
    bf_sandbox_fini (&self->sandbox);
    free (self->refused);
    zlistx_destroy (&self->jobs);
    if (self->pending) {
        for (s_pending_t *p = zlistx_first (self->pending); p; p = zlistx_next (self->pending)) {
            zmsg_destroy (&p->msg);
            free (p);
        }
        zlistx_destroy (&self->pending);
    }
    json_decref (self->tags);
    for (int i = 0; self->vboards && i < self->nboards; i++)
        if (self->vboards[i] > 0) {
            kill (self->vboards[i], SIGTERM);
            waitpid (self->vboards[i], NULL, 0);
        }
    free (self->vboards);
    bf_boards_free (self->boards, self->nboards);
    bf_janitor_destroy (&self->janitor);
    bf_cache_destroy (&self->l1);
    bf_toolchain_release (&self->tc);
    free (self->work_dir);
    free (self->name);
    free (self);
    *self_p = NULL;
}
