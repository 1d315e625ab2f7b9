/*  bf_worker - see bf_worker.h. */
#include "bf_worker.h"
#include "bf_flow.h"
#include "bf_toolchain.h"
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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_LOG_FLUSH_BYTES 16384
#define S_LOG_FLUSH_MS    250
#define S_RECONNECT_MAX   32000
#define S_RESULT_LOG_MAX  (32u << 20)

/*  One running job: its thread (a zactor) and what the thread needs. */
typedef struct {
    char id[40];
    char cache_key[BF_SHA256_HEX_LEN + 1];
    char *job_dir;
    json_t *manifest;
    int64_t timeout_ms;
    atomic_int cancel;
    zactor_t *actor;
    /* the thread's log buffer */
    char *logbuf;
    size_t loglen;
    int64_t log_flushed_at;
    zsock_t *pipe;
    char stage[16];
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

static void
s_build_actor (zsock_t *pipe, void *args)
{
    s_job_t *job = args;
    job->pipe = pipe;
    job->logbuf = xmalloc (S_LOG_FLUSH_BYTES * 2);
    job->log_flushed_at = bf_mono_ms ();
    zsock_signal (pipe, 0);

    bf_flow_hooks_t hooks = { .on_stage = s_on_stage, .on_line = s_on_line, .arg = job,
                              .cancel = &job->cancel, .timeout_ms = job->timeout_ms };
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

    /* Wait for $TERM from zactor_destroy. */
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
    self->dealer = zsock_new (ZMQ_DEALER);
    bf_socket_policy (self->dealer);
    zsock_set_sndtimeo (self->dealer, 0);
    zsock_set_sndhwm (self->dealer, 10000);
    zsock_connect (self->dealer, "%s", self->cfg.broker);
    zpoller_add (self->poller, self->dealer);
    json_t *held = json_array ();
    for (s_job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        json_array_append_new (held, json_pack ("{s:s, s:b}", "job", j->id, "done", 0));
    for (s_pending_t *p = zlistx_first (self->pending); p; p = zlistx_next (self->pending))
        json_array_append_new (held, json_pack ("{s:s, s:b}", "job", p->id, "done", 1));
    json_t *tc = json_pack ("{s:s, s:O}", "id", self->tc.id, "versions", self->tc.versions);
    json_t *body = json_pack ("{s:s, s:i, s:[s], s:o, s:O, s:o}", "name", self->name, "slots",
                              self->cfg.slots, "families", "ice40", "toolchain", tc, "tags",
                              self->tags, "jobs", held);
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
    int64_t now = bf_mono_ms ();
    self->heartbeat_at = now + self->cfg.heartbeat_ms;
    self->broker_expires = now + (int64_t) self->cfg.heartbeat_ms * self->cfg.liveness;
    self->reconnect_at = 0;
}

typedef struct {
    const char *src_dir;
    zmsg_t *blobs;
} s_stage_ctx_t;

static int
s_write_input (void *arg, const char *path, const char *sha256, uint64_t size)
{
    s_stage_ctx_t *ctx = arg;
    zframe_t *f = zmsg_pop (ctx->blobs);
    if (!f)
        return bf_error_set (BF_EPROTO, "JOB has no blob for '%s'", path);
    char digest[BF_SHA256_HEX_LEN + 1];
    bf_sha256_hex (digest, zframe_data (f), zframe_size (f));
    int rc = BF_OK;
    if (strcmp (digest, sha256) != 0 || zframe_size (f) != size)
        rc = bf_error_set (BF_ECORRUPT, "input '%s' does not match its digest", path);
    else {
        char *full = xasprintf ("%s/%s", ctx->src_dir, path);
        char *copy = xstrdup (full);
        rc = bf_mkdir_p (dirname (copy), 0755);
        if (rc == BF_OK)
            rc = bf_file_write_atomic (full, zframe_data (f), zframe_size (f), 0644);
        free (copy);
        free (full);
    }
    zframe_destroy (&f);
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

static void
s_on_job (bf_worker_t *self, bf_msg_t *msg)
{
    const char *id, *key;
    int64_t timeout_ms = 0;
    json_t *norm = NULL;
    if (bf_body_str (&id, msg->body, "job", 32, true) != BF_OK) {
        bf_warn ("bad JOB: %s", bf_error_last ());
        return;
    }
    if (bf_body_str (&key, msg->body, "cache_key", BF_SHA256_HEX_LEN, true) != BF_OK
        || bf_body_int (&timeout_ms, msg->body, "timeout_ms", 1, INT64_MAX / 4, true) != BF_OK
        || bf_manifest_normalize (&norm, json_object_get (msg->body, "manifest")) != BF_OK) {
        s_reject (self, id, bf_error_last ());
        return;
    }
    if (self->draining || (int) zlistx_size (self->jobs) >= self->cfg.slots) {
        json_decref (norm);
        s_reject (self, id, self->draining ? "the worker is draining" : "no free slot");
        return;
    }
    char rnd[9];
    bf_random_hex (rnd, 4);
    s_job_t *job = xcalloc (1, sizeof *job);
    snprintf (job->id, sizeof job->id, "%s", id);
    snprintf (job->cache_key, sizeof job->cache_key, "%s", key);
    job->job_dir = xasprintf ("%s/jobs/%s-%s", self->work_dir, id, rnd);
    job->manifest = norm;
    job->timeout_ms = timeout_ms;
    atomic_init (&job->cancel, 0);
    char *src = xasprintf ("%s/src", job->job_dir);
    int rc = bf_mkdir_p (src, 0755);
    s_stage_ctx_t ctx = { src, msg->blobs };
    if (rc == BF_OK)
        rc = bf_manifest_each_input (norm, s_write_input, &ctx);
    free (src);
    if (rc != BF_OK) {
        s_reject (self, id, bf_error_last ());
        bf_remove_tree (job->job_dir);
        free (job->job_dir);
        json_decref (job->manifest);
        free (job);
        return;
    }
    /* The build thread must not take SIGINT/SIGTERM (they are the main
       loop's business), so they are blocked while it is created. */
    sigset_t block, old;
    sigemptyset (&block);
    sigaddset (&block, SIGINT);
    sigaddset (&block, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &block, &old);
    job->actor = zactor_new (s_build_actor, job);
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    zpoller_add (self->poller, job->actor);
    zlistx_add_end (self->jobs, job);
    bf_info ("job %s started in %s", id, job->job_dir);
}

static s_job_t *
s_find_job (bf_worker_t *self, const char *id)
{
    for (s_job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        if (strcmp (j->id, id) == 0)
            return j;
    return NULL;
}

static void
s_job_free (bf_worker_t *self, s_job_t *job)
{
    zpoller_remove (self->poller, job->actor);
    zactor_destroy (&job->actor);
    if (!self->cfg.keep_jobs)
        bf_remove_tree (job->job_dir);
    free (job->job_dir);
    json_decref (job->manifest);
    void *handle = zlistx_find (self->jobs, job);
    if (handle)
        zlistx_delete (self->jobs, handle);
    free (job);
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
        /* Kept until the broker acknowledges it; sent again on reconnect. */
        s_pending_t *p = xcalloc (1, sizeof *p);
        snprintf (p->id, sizeof p->id, "%s", job->id);
        p->msg = bf_msg_encode (BF_PROTO_WORKER, "RESULT", body, &msg);
        zlistx_add_end (self->pending, p);
        zmsg_t *copy = zmsg_dup (p->msg);
        if (zmsg_send (&copy, self->dealer) != 0) {
            bf_debug ("send RESULT failed: %s", zmq_strerror (errno));
            zmsg_destroy (&copy);
        }
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
    else if (strcmp (msg->command, "CANCEL") == 0) {
        const char *id;
        s_job_t *job;
        if (bf_body_str (&id, msg->body, "job", 32, true) == BF_OK && (job = s_find_job (self, id))) {
            bf_info ("job %s: cancelling", id);
            atomic_store (&job->cancel, 1);
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
        bf_info ("broker said DISCONNECT (%s); registering again", reason);
        s_connect (self);
    }
    else if (strcmp (msg->command, "HEARTBEAT") != 0)
        bf_warn ("unknown command '%s' from broker", msg->command);
    bf_msg_destroy (&msg);
}

/* ---------------------------------------------------------------------- */

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
    rc = bf_toolchain_identify (&self->tc, memo);
    free (memo);
    if (rc != BF_OK) {
        bf_worker_destroy (&self);
        return rc;
    }
    /* Job directories of a previous run are stale. */
    char *jobs = xasprintf ("%s/jobs", self->work_dir);
    bf_remove_tree (jobs);
    rc = bf_mkdir_p (jobs, 0755);
    free (jobs);
    if (rc != BF_OK) {
        bf_worker_destroy (&self);
        return rc;
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
        while ((m = zmsg_recv (j->actor))) {
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
    bf_info ("worker '%s': toolchain %.12s, %d slot(s), broker %s", self->name, self->tc.id,
             self->cfg.slots, self->cfg.broker);
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
        int64_t wait = self->heartbeat_at - now;
        if (self->reconnect_at && self->reconnect_at - now < wait)
            wait = self->reconnect_at - now;
        if (wait < 0)
            wait = 0;
        void *which = zpoller_wait (self->poller, (int) wait);
        if (which == self->dealer)
            s_on_broker (self);
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
    if (self->dealer)
        s_send_empty (self, "DISCONNECT");
    if (hard && zlistx_size (self->jobs) > 0)
        bf_warn ("stopping: killing %zu running build(s); the broker will retry them",
                 zlistx_size (self->jobs));
    s_stop_jobs (self);
    bf_info ("stopped");
    return BF_OK;
}

void
bf_worker_destroy (bf_worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_worker_t *self = *self_p;
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->dealer);
    zlistx_destroy (&self->jobs);
    if (self->pending) {
        for (s_pending_t *p = zlistx_first (self->pending); p; p = zlistx_next (self->pending)) {
            zmsg_destroy (&p->msg);
            free (p);
        }
        zlistx_destroy (&self->pending);
    }
    json_decref (self->tags);
    bf_toolchain_release (&self->tc);
    free (self->work_dir);
    free (self->name);
    free (self);
    *self_p = NULL;
}
