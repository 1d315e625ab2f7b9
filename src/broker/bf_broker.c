/*  bf_broker - the broker: its loop and socket I/O, who is asking (CURVE
    roles), and the command tables that route each message to its handler
    after one role check.  See bf_broker.h, bf_broker_int.h and
    docs/protocol.md.
*/
#include "bf_broker_int.h"
#include "../cache/bf_key.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_manifest.h"
#include "../common/bf_report.h"
#include "../common/bf_rxguard.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/*  Sends msg to a peer, never blocking: ROUTER_MANDATORY and a zero send
    timeout (ZMQ_DONTWAIT) make an unknown or full peer an error, which is
    logged and otherwise ignored.  While a batch is open (group commit) the
    message waits for its commit (bf_broker_batch_end). */
void
bf_broker_send (bf_broker_t *self, zframe_t *rid, zmsg_t **msg_p)
{
    if (self->capture_rid && rid == self->capture_rid) {
        /* an HTTP request's reply: bf_broker_http.c sends it on */
        zmsg_destroy (&self->captured);
        self->captured = *msg_p;
        *msg_p = NULL;
        return;
    }
    zframe_t *copy = zframe_dup (rid);
    zmsg_prepend (*msg_p, &copy);
    if (self->batching) {
        /* group commit: out when what it says is on disk */
        bf_broker_batch_hold (self, msg_p);
        return;
    }
    if (zmsg_send (msg_p, self->router) != 0) {
        bf_debug ("send to peer failed: %s", zmq_strerror (errno));
        zmsg_destroy (msg_p);
    }
}

void
bf_broker_reply (bf_broker_t *self, zframe_t *rid, const char *proto, const char *command,
                 json_t *body, zmsg_t **blobs_p)
{
    zmsg_t *msg = bf_msg_encode (proto, command, body, blobs_p);
    bf_broker_send (self, rid, &msg);
}

void
bf_broker_error (bf_broker_t *self, zframe_t *rid, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    json_t *body = json_pack ("{s:s}", "error", text);
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "ERROR", body, NULL);
    json_decref (body);
}

/*  Sends a worker a command whose body is {"job": id}. */
void
bf_broker_worker_command (bf_broker_t *self, bf_broker_worker_t *w, const char *command,
                          const char *id)
{
    json_t *body = json_pack ("{s:s}", "job", id);
    bf_broker_reply (self, w->rid_frame, BF_PROTO_WORKER, command, body, NULL);
    json_decref (body);
}

/*  Sets self->peer_* for the sender of a message whose ZAP User-Id is uid
    ("" or NULL: none): on a CURVE broker its public key (the User-Id
    libzmq attaches to each frame), the key's name and its roles from the allow-lists as
    they are now; on a plain broker every role. */
static void
s_identify (bf_broker_t *self, const char *uid)
{
    self->peer_key[0] = '\0';
    snprintf (self->peer_name, sizeof self->peer_name, "-");
    if (!self->auth) {
        self->peer_roles = BF_AUTH_WORKER | BF_AUTH_CLIENT | BF_AUTH_ADMIN;
        return;
    }
    if (uid && !uid[0])
        uid = NULL;
    const char *name = NULL;
    self->peer_roles = bf_auth_roles (self->auth, uid, &name);
    if (uid && strlen (uid) == BF_CURVE_KEY_LEN) {
        memcpy (self->peer_key, uid, BF_CURVE_KEY_LEN);
        self->peer_key[BF_CURVE_KEY_LEN] = '\0';
    }
    /* The name comes from a certificate file: keep it printable. */
    size_t n = 0;
    for (const char *c = name; c && *c && n < BF_CURVE_NAME_MAX; c++)
        self->peer_name[n++] = (*c > 0x20 && *c < 0x7f) ? *c : '?';
    if (n > 0)
        self->peer_name[n] = '\0';
}

/*  A message from a key whose roles do not allow it: a client command from
    a worker-only key, a worker command from a client key (or a key
    revoked since it connected), or an admin command (`doing` says what it
    does) from a client key.  Workers get DISCONNECT with "refused", which
    makes them stop instead of registering again. */
static void
s_refuse (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg, const char *doing)
{
    bool as_worker = strcmp (msg->proto, BF_PROTO_WORKER) == 0;
    char *why;
    if (doing && (self->peer_roles & BF_AUTH_CLIENT))
        why = xasprintf ("key '%s' (%.12s...) may not %s: only keys in the broker's "
                         "KEYS/admins may", self->peer_name, self->peer_key, doing);
    else
        why = xasprintf ("key '%s' (%.12s...) may not %s: it is not in the broker's %s",
                         self->peer_name, self->peer_key,
                         as_worker ? "register as a worker" : "use client commands",
                         as_worker ? "KEYS/workers" : "KEYS/clients or KEYS/admins");
    bf_warn ("refused %s from %s", msg->command, why);
    if (as_worker) {
        char *rid_hex = zframe_strhex (rid);
        bf_broker_worker_t *w = zhashx_lookup (self->workers, rid_hex);
        free (rid_hex);
        if (w)
            bf_broker_worker_lost (self, w, "its key was revoked");
        json_t *body = json_pack ("{s:s, s:b}", "reason", why, "refused", 1);
        bf_broker_reply (self, rid, BF_PROTO_WORKER, "DISCONNECT", body, NULL);
        json_decref (body);
    }
    else {
        json_t *body = json_pack ("{s:s, s:s}", "error", why, "class", "denied");
        bf_broker_reply (self, rid, BF_PROTO_CLIENT, "ERROR", body, NULL);
        json_decref (body);
    }
    free (why);
}

void
bf_broker_reply_job (bf_broker_t *self, zframe_t *rid, const char *id, json_t *extra)
{
    bf_job_t *job = NULL;
    if (bf_jobs_get (self->jobs, &job, id, false) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    json_t *body = bf_job_to_json (job);
    bf_broker_mask_job (self, body);
    if (extra)
        json_object_update (body, extra);
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
    json_decref (body);
    bf_job_free (job);
}

/*  Drops the cache pins of jobs that have finished (or never were
    created: a crash between pin and commit), so eviction may take what
    they held. */
void
bf_broker_unpin_finished (bf_broker_t *self)
{
    json_t *owners = bf_cache_pin_owners (self->cache);
    size_t i;
    json_t *v;
    json_array_foreach (owners, i, v) {
        bf_job_t *job = NULL;
        const char *id = json_string_value (v);
        if (bf_jobs_get (self->jobs, &job, id, false) != BF_OK
            || bf_job_state_final (job->state))
            bf_cache_unpin (self->cache, id);
        bf_job_free (job);
    }
    json_decref (owners);
}

/*  Once per heartbeat interval: leases of silent workers and of orphaned
    jobs end, jobs over their time limit end, and heartbeats go out. */
static void
s_tick (bf_broker_t *self)
{
    int64_t now = bf_mono_ms ();
    bf_broker_regio_expire (self, now);
    bf_broker_waits_expire (self, now);
    if (now < self->heartbeat_at)
        return;
    self->heartbeat_at = now + self->cfg.heartbeat_ms;
    zlistx_t *lost = zlistx_new ();
    for (bf_broker_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        if (now >= w->expires_at)
            zlistx_add_end (lost, w);
    for (bf_broker_worker_t *w = zlistx_first (lost); w; w = zlistx_next (lost))
        bf_broker_worker_lost (self, w, "heartbeats stopped");
    zlistx_destroy (&lost);

    json_t *expired = json_array ();
    const char *id;
    json_t *v;
    json_object_foreach (self->orphans, id, v)
        if (now >= json_integer_value (v))
            json_array_append_new (expired, json_string (id));
    size_t i;
    json_array_foreach (expired, i, v)
        bf_broker_attempt_failed (self, json_string_value (v), "lease expired: its worker did not "
                                  "register again after the broker restarted");
    json_decref (expired);

    json_t *overdue = bf_jobs_overdue (self->jobs, bf_now_ms ());
    json_array_foreach (overdue, i, v) {
        bf_job_t *job = NULL;
        if (bf_jobs_get (self->jobs, &job, json_string_value (v), false) != BF_OK)
            continue;
        char *error = xasprintf ("no result within the time limit of %lld ms (broker lease)",
                                 (long long) job->timeout_ms);
        bf_result_t res = { .state = BF_JOB_TIMED_OUT, .failure = BF_FAILURE_TIMEOUT,
                            .error = error };
        bf_broker_finish (self, job->id, &res, NULL, NULL);
        free (error);
        bf_job_free (job);
    }
    json_decref (overdue);

    json_t *body = json_object ();
    for (bf_broker_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        bf_broker_reply (self, w->rid_frame, BF_PROTO_WORKER, "HEARTBEAT", body, NULL);
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
    if (now >= self->pins_checked_at + BF_BROKER_PIN_CHECK_MS) {
        self->pins_checked_at = now;
        bf_broker_unpin_finished (self);
    }
    /* Uploads whose submit never came: their records end, and an object
       uploaded for one goes unless something took it since. */
    json_t *stale = bf_uploads_expire (self->uploads, now);
    json_array_foreach (stale, i, v) {
        bool dropped = false;
        if (bf_cache_drop_unreferenced (self->cache, json_string_value (v), &dropped) == BF_OK
            && dropped)
            bf_info ("upload %.12s was used by no job within --upload-grace: deleted",
                     json_string_value (v));
    }
    json_decref (stale);
    bf_broker_prune (self, now);
}

static int
s_lock_state (bf_broker_t *self)
{
    char *path = xasprintf ("%s/broker.lock", self->state_dir);
    self->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
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
    if (self->cfg.job_log_max == 0)
        self->cfg.job_log_max = 16u << 20;
    if (self->cfg.job_history_ms <= 0)
        self->cfg.job_history_ms = 30LL * 86400000;
    self->lease_ms = (int64_t) self->cfg.heartbeat_ms * self->cfg.liveness;
    self->state_dir = xstrdup (config->state_dir);
    self->workers = zhashx_new ();
    zhashx_set_destructor (self->workers, bf_broker_worker_destroy);
    self->orphans = json_object ();
    self->uploads = bf_uploads_new (self->cfg.upload_quota, self->cfg.upload_grace_ms);
    int rc = bf_broker_state_modes (self);   /* STATE and STATE/logs: none for others */
    char *p = NULL;
    if (rc != BF_OK || (rc = bf_broker_retain_init (self)) != BF_OK
        || (rc = s_lock_state (self)) != BF_OK)
        goto fail;
    p = xasprintf ("%s/jobs.db", self->state_dir);
    rc = bf_broker_private_file (p);     /* its -wal and -shm files take its mode */
    if (rc == BF_OK)
        rc = bf_jobs_open (&self->jobs, p);
    if (rc == BF_OK)   /* one connection: the boards' writes join the jobs' batches */
        self->boards = bf_boards_open_on (bf_jobs_db (self->jobs));
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
        bf_broker_unpin_finished (self);
        self->janitor = bf_janitor_new (p, &config->cache, BF_BROKER_JANITOR_MS);
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
    /* Before the bind, so that it sees every connection. */
    self->guard = bf_rxguard_new (self->router, BF_MSG_MAX);
    if (self->auth)
        bf_auth_server (self->auth, self->router);
    if (zsock_bind (self->router, "%s", config->listen) < 0) {
        rc = bf_error_set (BF_EINVAL, "cannot listen on '%s': %s", config->listen,
                           zmq_strerror (errno));
        goto fail;
    }
    self->endpoint = xstrdup (zsock_endpoint (self->router));
    if ((rc = bf_broker_http_start (self)) != BF_OK)
        goto fail;
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

/*  Every command a peer may send, who may send it, and its handler (as
    redis's command table and git's cmd_struct): the role check, and for
    commands on one job the owner rule (docs/security.md, "Tenants"),
    happen here, once, before any handler runs.  Client commands are
    answered through the peer's routing id; worker commands other than
    READY come only from a registered worker, whose lease each of them
    renews. */
typedef struct {
    const char *proto;          /* BF_PROTO_CLIENT or BF_PROTO_WORKER */
    const char *name;
    unsigned roles;             /* BF_AUTH_* bits, any of which may send it */
    bool one_job;               /* its "id" names one job, which must be in the peer's view
                                   (its own jobs; every job for an admin) */
    bf_broker_peer_fn *by_rid;  /* handler by routing id (clients, READY) */
    bf_broker_worker_fn *by_worker; /* handler for a registered worker; NULL: the lease
                                   renewal is all (HEARTBEAT) */
    const char *doing;          /* an admin command: what it does, for the refusal */
} s_command_t;

#define S_CLIENT BF_AUTH_CLIENT            /* admins hold BF_AUTH_CLIENT too */
#define S_ADMIN  BF_AUTH_ADMIN
#define S_WORKER BF_AUTH_WORKER
static const s_command_t s_commands[] = {
    { BF_PROTO_CLIENT, "SUBMIT", S_CLIENT, false, bf_broker_client_submit, NULL, NULL },
    { BF_PROTO_CLIENT, "UPLOAD", S_CLIENT, false, bf_broker_client_upload, NULL, NULL },
    { BF_PROTO_CLIENT, "STATUS", S_CLIENT, true, bf_broker_client_status, NULL, NULL },
    { BF_PROTO_CLIENT, "LOGS", S_CLIENT, true, bf_broker_client_logs, NULL, NULL },
    { BF_PROTO_CLIENT, "FETCH", S_CLIENT, true, bf_broker_client_fetch, NULL, NULL },
    { BF_PROTO_CLIENT, "CANCEL", S_CLIENT, true, bf_broker_client_cancel, NULL, NULL },
    { BF_PROTO_CLIENT, "JOBS", S_CLIENT, false, bf_broker_client_jobs, NULL, NULL },
    { BF_PROTO_CLIENT, "WORKERS", S_CLIENT, false, bf_broker_client_workers, NULL, NULL },
    { BF_PROTO_CLIENT, "ENTRY", S_CLIENT, false, bf_broker_client_entry, NULL, NULL },
    { BF_PROTO_CLIENT, "PING", S_CLIENT, false, bf_broker_client_ping, NULL, NULL },
    { BF_PROTO_CLIENT, "PROGRAM", S_CLIENT, false, bf_broker_client_program, NULL, NULL },
    { BF_PROTO_CLIENT, "BOARDS", S_CLIENT, false, bf_broker_client_boards, NULL, NULL },
    { BF_PROTO_CLIENT, "BOARD", S_ADMIN, false, bf_broker_client_board, NULL,
      "change a board's health" },
    { BF_PROTO_CLIENT, "RESERVE", S_CLIENT, false, bf_broker_client_reserve, NULL, NULL },
    { BF_PROTO_CLIENT, "RELEASE", S_CLIENT, false, bf_broker_client_release, NULL, NULL },
    { BF_PROTO_CLIENT, "TOOLCHAINS", S_CLIENT, false, bf_broker_client_toolchains, NULL, NULL },
    { BF_PROTO_CLIENT, "SETTOOLCHAIN", S_ADMIN, false, bf_broker_client_set_toolchain, NULL,
      "choose the default toolchain" },
    { BF_PROTO_CLIENT, "RELEASENAME", S_ADMIN, false, bf_broker_client_release_name, NULL,
      "release a worker name" },
    /* the cache over the wire (bf_broker_cache.c; issue 16, r16-stats) */
    { BF_PROTO_CLIENT, "CACHESTATS", S_CLIENT, false, bf_broker_client_cache_stats, NULL,
      NULL },
    { BF_PROTO_CLIENT, "CACHELS", S_CLIENT, false, bf_broker_client_cache_ls, NULL, NULL },
    { BF_PROTO_CLIENT, "CACHESHOW", S_CLIENT, false, bf_broker_client_cache_show, NULL, NULL },
    { BF_PROTO_CLIENT, "CACHEVERIFY", S_ADMIN, false, bf_broker_client_cache_verify, NULL,
      "verify the cache" },
    { BF_PROTO_CLIENT, "CACHEGC", S_ADMIN, false, bf_broker_client_cache_gc, NULL,
      "garbage-collect the cache" },
    { BF_PROTO_CLIENT, "CACHEEVICT", S_ADMIN, false, bf_broker_client_cache_evict, NULL,
      "evict cache entries" },
    { BF_PROTO_CLIENT, "CACHEINVALIDATE", S_ADMIN, false, bf_broker_client_cache_invalidate,
      NULL, "disown a toolchain's cache entries" },
    /* register I/O on programmed boards (bf_broker_regio.c; issue 17) */
    { BF_PROTO_CLIENT, "REGIO", S_CLIENT, false, bf_broker_client_regio, NULL, NULL },
    /* the HTTP API's tokens (bf_broker_tokens.c; issue 19) */
    { BF_PROTO_CLIENT, "TOKENCREATE", S_ADMIN, false, bf_broker_client_token_create, NULL,
      "create HTTP API tokens" },
    { BF_PROTO_CLIENT, "TOKENS", S_ADMIN, false, bf_broker_client_tokens, NULL,
      "list HTTP API tokens" },
    { BF_PROTO_CLIENT, "TOKENREVOKE", S_ADMIN, false, bf_broker_client_token_revoke, NULL,
      "revoke HTTP API tokens" },
    { BF_PROTO_WORKER, "READY", S_WORKER, false, bf_broker_worker_ready, NULL, NULL },
    { BF_PROTO_WORKER, "HEARTBEAT", S_WORKER, false, NULL, NULL, NULL },
    { BF_PROTO_WORKER, "LOG", S_WORKER, false, NULL, bf_broker_worker_log, NULL },
    { BF_PROTO_WORKER, "RESULT", S_WORKER, false, NULL, bf_broker_worker_result, NULL },
    { BF_PROTO_WORKER, "WANT", S_WORKER, false, NULL, bf_broker_worker_want, NULL },
    { BF_PROTO_WORKER, "DRAIN", S_WORKER, false, NULL, bf_broker_worker_drain, NULL },
    { BF_PROTO_WORKER, "DISCONNECT", S_WORKER, false, NULL, bf_broker_worker_goodbye, NULL },
    { BF_PROTO_WORKER, "REGIORESULT", S_WORKER, false, NULL, bf_broker_worker_regio_result,
      NULL },
};

/*  The owner rule of a command on one job: its "id" (a full id or a
    prefix) is resolved among the jobs in the peer's view, so another
    owner's job is "no job" and never makes a prefix ambiguous; on success
    "id" becomes the full id for the handler.  False (after replying) when
    the id names no job the peer may see.  A missing or malformed "id" is
    left to the handler. */
static bool
s_owner_allows (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *prefix = json_string_value (json_object_get (msg->body, "id"));
    char id[BF_JOB_ID_LEN + 1];
    if (!prefix || strlen (prefix) > BF_JOB_ID_LEN)
        return true;
    if (bf_jobs_resolve_owned (self->jobs, id, prefix, bf_broker_view (self)) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return false;
    }
    json_object_set_new (msg->body, "id", json_string (id));
    return true;
}

static const s_command_t *
s_command (const char *proto, const char *name)
{
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp (s_commands[i].proto, proto) == 0 && strcmp (s_commands[i].name, name) == 0)
            return &s_commands[i];
    return NULL;
}

void
bf_broker_handle (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    bool from_worker = strcmp (msg->proto, BF_PROTO_WORKER) == 0;
    const s_command_t *c = s_command (msg->proto, msg->command);
    unsigned roles = c ? c->roles : from_worker ? BF_AUTH_WORKER : S_CLIENT;
    if (!(self->peer_roles & roles)) {
        s_refuse (self, rid, msg, c ? c->doing : NULL);
        return;
    }
    if (c && c->one_job && !s_owner_allows (self, rid, msg))
        return;
    if (c && c->by_rid) {
        c->by_rid (self, rid, msg);
        return;
    }
    if (!from_worker) {
        bf_broker_error (self, rid, "unknown command '%s'", msg->command);
        return;
    }
    char *rid_hex = zframe_strhex (rid);
    bf_broker_worker_t *w = zhashx_lookup (self->workers, rid_hex);
    free (rid_hex);
    if (!w) {
        /* A peer we do not know (or forgot): tell it to register again. */
        json_t *body = json_pack ("{s:s}", "reason", "unknown worker; send READY");
        bf_broker_reply (self, rid, BF_PROTO_WORKER, "DISCONNECT", body, NULL);
        json_decref (body);
        return;
    }
    w->expires_at = bf_mono_ms () + self->lease_ms;
    if (!c)
        bf_warn ("unknown command '%s' from worker '%s'", msg->command, w->name);
    else if (c->by_worker)
        c->by_worker (self, w, msg);
}

/*  Receives one message from the router and handles it.  BF_OK, or
    BF_EPROTO when the socket is gone. */
static int
s_receive (bf_broker_t *self)
{
    /* Frame by frame, within the limits of a whole message
       (docs/protocol.md 2.1): an oversized one is read and thrown
       away, never kept; the guard closes a connection whose
       message passes the limit while it still arrives. */
    zmsg_t *raw = NULL;
    bf_recv_info_t info;
    int rrc = bf_msg_recv (&raw, zsock_resolve (self->router), 1 + 4 + BF_BLOBS_MAX,
                           (uint64_t) BF_MSG_MAX + 256, 5, &info);
    if (rrc == BF_EPROTO)
        return rrc;
    if (self->guard)
        bf_rxguard_delivered (self->guard, info.fd, info.bytes);
    zframe_t *rid = zmsg_pop (raw);
    s_identify (self, info.user_id);
    bf_msg_t *msg = NULL;
    if (rrc != BF_OK) {
        char esc[300];
        bf_warn ("oversized message dropped (%zu frames, %llu bytes): %s", info.frames,
                 (unsigned long long) info.bytes,
                 bf_log_escape (esc, sizeof esc, bf_error_last ()));
        zframe_t *proto = zmsg_next (raw);   /* after the empty delimiter */
        if (proto && zframe_streq (proto, BF_PROTO_CLIENT))
            bf_broker_error (self, rid, "%s", bf_error_last ());
        zmsg_destroy (&raw);
    }
    else if (bf_msg_decode (&msg, &raw) != BF_OK) {
        char esc[300];
        bf_warn ("malformed message dropped: %s",
                 bf_log_escape (esc, sizeof esc, bf_error_last ()));
        bf_broker_error (self, rid, "%s", bf_error_last ());
    }
    else {
        bf_broker_batch_note (self, msg->command);
        bf_broker_handle (self, rid, msg);
    }
    bf_msg_destroy (&msg);
    zframe_destroy (&rid);
    return BF_OK;
}

int
bf_broker_run (bf_broker_t *self)
{
    zpoller_t *poller = zpoller_new (self->router, NULL);
    if (self->guard)
        zpoller_add (poller, bf_rxguard_monitor (self->guard));
    if (self->http_sock)
        zpoller_add (poller, self->http_sock);
    if (self->auth)
        bf_info ("listening on %s, CURVE (broker key %s; allow-lists in %s), state in %s",
                 self->endpoint, bf_auth_public (self->auth), self->cfg.keys_dir,
                 self->state_dir);
    else
        bf_info ("listening on %s, state in %s", self->endpoint, self->state_dir);
    int rc = BF_OK;
    bool gone = false;
    while (!zsys_interrupted && !gone) {
        int64_t wait = self->heartbeat_at - bf_mono_ms ();
        if (self->next_ready && self->next_ready - bf_now_ms () < wait)
            wait = self->next_ready - bf_now_ms ();
        if (self->guard && wait > BF_RXGUARD_CHECK_MS)
            wait = BF_RXGUARD_CHECK_MS;
        if (wait < 0 || self->dispatch_needed)
            wait = 0;
        zsock_t *which = zpoller_wait (poller, (int) wait);
        if (zpoller_terminated (poller))
            break;
        /* HTTP requests capture their replies at once (capture_rid): they
           run outside batches, each change committing by itself. */
        if (which && which == self->http_sock) {
            bf_broker_http_serve (self);
            which = NULL;
        }
        /* Group commit: what is ready now, the tick and the dispatch it
           leads to, in one transaction; replies go out after its commit. */
        bool batched = bf_broker_batch_begin (self);
        if (which && self->guard && which == bf_rxguard_monitor (self->guard))
            bf_rxguard_event (self->guard);
        else if (which)
            for (int n = 0; n < BF_BROKER_BATCH_MAX; n++) {
                if (s_receive (self) != BF_OK) {
                    gone = true;            /* the socket is gone */
                    break;
                }
                if (!batched || !(zsock_events (self->router) & ZMQ_POLLIN))
                    break;
            }
        if (self->guard)
            bf_rxguard_check (self->guard);
        s_tick (self);
        if (self->next_ready && bf_now_ms () >= self->next_ready)
            self->dispatch_needed = true;
        if (self->after_needed) {
            self->after_needed = false;
            bf_broker_release_after (self);
        }
        if (self->dispatch_needed)
            bf_broker_dispatch (self);
        if (batched && (rc = bf_broker_batch_end (self)) != BF_OK) {
            bf_err ("%s: stopping, to be restarted from what is on disk", bf_error_last ());
            break;
        }
    }
    zpoller_destroy (&poller);
    /* Running jobs stay running in the database: their workers keep
       building and report to the next broker on this state directory. */
    json_t *body = json_pack ("{s:s}", "reason", "broker shutting down");
    for (bf_broker_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        bf_broker_reply (self, w->rid_frame, BF_PROTO_WORKER, "DISCONNECT", body, NULL);
    json_decref (body);
    bf_info ("stopped");
    return rc;
}

void
bf_broker_destroy (bf_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_broker_t *self = *self_p;
    bf_broker_http_stop (self);
    bf_rxguard_destroy (&self->guard);
    zlistx_destroy (&self->held);
    free (self->fail_commit_on);
    zsock_destroy (&self->router);
    bf_auth_destroy (&self->auth);
    zhashx_destroy (&self->workers);
    zhashx_destroy (&self->proven);
    zhashx_destroy (&self->regio);
    zlistx_destroy (&self->waits);
    json_decref (self->orphans);
    bf_uploads_destroy (&self->uploads);
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

