/*  bf_worker - see bf_worker.h.  This file is the broker session:
    connecting and READY, heartbeats, reconnects with back-off, drain, and
    the dispatch of the broker's commands through one table; the other
    files of the module are listed in bf_worker_int.h. */
#include "bf_worker_int.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_rxguard.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_RECONNECT_MAX   32000

/*  SIGINT/SIGTERM count (bf_worker_signal). */
static volatile sig_atomic_t s_stop_signals = 0;

void
bf_worker__send (bf_worker_t *self, const char *command, json_t *body, zmsg_t **blobs_p)
{
    zmsg_t *msg = bf_msg_encode (BF_PROTO_WORKER, command, body, blobs_p);
    if (zmsg_send (&msg, self->dealer) != 0) {
        bf_debug ("send %s failed: %s", command, zmq_strerror (errno));
        zmsg_destroy (&msg);
    }
}

void
bf_worker_signal (int sig)
{
    (void) sig;
    if (s_stop_signals < 2)
        s_stop_signals++;
}

/*  (Re-)registers with a fresh socket: READY names every job this worker
    still runs or holds an unacknowledged result for, so the broker keeps
    them; then the unacknowledged results are sent again. */
static void
s_connect (bf_worker_t *self)
{
    if (self->guard) {      /* before its socket: bf_rxguard_destroy */
        zpoller_remove (self->poller, bf_rxguard_monitor (self->guard));
        bf_rxguard_destroy (&self->guard);
    }
    if (self->dealer) {
        zpoller_remove (self->poller, self->dealer);
        zsock_destroy (&self->dealer);
    }
    if (self->curve && bf_curve_monitor (self->curve))
        zpoller_remove (self->poller, bf_curve_monitor (self->curve));
    self->dealer = zsock_new (ZMQ_DEALER);
    bf_socket_policy (self->dealer);
    /* A socket has one monitor: with CURVE it is bf_curve's (refusals),
       and the broker is authenticated by its key; else the guard's. */
    if (!self->curve && (self->guard = bf_rxguard_new (self->dealer, BF_MSG_MAX)))
        zpoller_add (self->poller, bf_rxguard_monitor (self->guard));
    zsock_set_sndtimeo (self->dealer, 0);
    zsock_set_sndhwm (self->dealer, 10000);
    if (self->curve) {
        bf_curve_apply (self->curve, self->dealer);
        zpoller_add (self->poller, bf_curve_monitor (self->curve));
    }
    zsock_connect (self->dealer, "%s", self->cfg.broker);
    zpoller_add (self->poller, self->dealer);
    json_t *held = bf_worker__held_jobs (self);
    json_t *tc = json_pack ("{s:s, s:O}", "id", self->tc.id, "versions", self->tc.versions);
    json_t *boards = json_array ();
    for (int i = 0; i < self->nboards; i++)
        json_array_append_new (boards, bf_board_json (&self->boards[i]));
    json_t *body = json_pack ("{s:s, s:i, s:[s], s:o, s:O, s:o, s:o, s:b}", "name", self->name,
                              "slots", self->cfg.slots, "families", "ice40", "toolchain", tc,
                              "tags", self->tags, "jobs", held, "boards", boards,
                              "sandbox", self->sandbox.enabled);
    bf_worker__send (self, "READY", body, NULL);
    json_decref (body);
    if (self->draining) {
        body = json_object ();
        bf_worker__send (self, "DRAIN", body, NULL);
        json_decref (body);
    }
    bf_worker__resend (self);
    int64_t now = bf_mono_ms ();
    self->heartbeat_at = now + self->cfg.heartbeat_ms;
    self->broker_expires = now + (int64_t) self->cfg.heartbeat_ms * self->cfg.liveness;
    self->reconnect_at = 0;
}

/*  DISCONNECT {"reason", "refused"?, "retry_ms"?}: register again (after
    retry_ms, when given: the name is still in use), or stop for good when
    the broker refused this worker. */
static void
s_on_disconnect (bf_worker_t *self, bf_msg_t *msg)
{
    const char *reason = "";
    bf_body_str (&reason, msg->body, "reason", 256, false);
    bool refused = false;
    bf_body_bool (&refused, msg->body, "refused", false);
    int64_t retry_ms = 0;
    bf_body_int (&retry_ms, msg->body, "retry_ms", 1, 60000, false);
    if (retry_ms > 0 && !refused) {
        bf_warn ("broker said DISCONNECT (%s); registering again in %lld ms", reason,
                 (long long) retry_ms);
        int64_t now = bf_mono_ms ();
        self->broker_expires = now;
        self->reconnect_at = now + retry_ms;
    }
    else if (refused) {
        free (self->refused);
        self->refused = xasprintf ("the broker refused this worker: %s", reason);
        bf_err ("%s", self->refused);
    }
    else {
        bf_info ("broker said DISCONNECT (%s); registering again", reason);
        s_connect (self);
    }
}

/*  HEARTBEAT: any message proves the broker alive (s_on_broker). */
static void
s_on_heartbeat (bf_worker_t *self, bf_msg_t *msg)
{
    (void) self;
    (void) msg;
}

typedef void (s_handler_fn) (bf_worker_t *self, bf_msg_t *msg);

/*  The broker's commands to a worker (docs/protocol.md).  Only the broker
    talks to this socket, so there are no permissions to check. */
static const struct {
    const char *name;
    s_handler_fn *handler;
} s_commands[] = {
    { "JOB",        bf_worker__on_job },
    { "INPUTS",     bf_worker__on_inputs },
    { "CANCEL",     bf_worker__on_cancel },
    { "ACK",        bf_worker__on_ack },
    { "DISCONNECT", s_on_disconnect },
    { "HEARTBEAT",  s_on_heartbeat },
    { "REGIO",      bf_worker__on_regio },
};

static void
s_on_broker (bf_worker_t *self)
{
    /* Frame by frame, within the limits of a whole message (docs/protocol.md
       2.1): an oversized one is read and thrown away, never kept. */
    zmsg_t *raw = NULL;
    bf_recv_info_t info;
    int rrc = bf_msg_recv (&raw, zsock_resolve (self->dealer), 4 + BF_BLOBS_MAX, BF_MSG_MAX, 0,
                           &info);
    if (self->guard)
        bf_rxguard_delivered (self->guard, info.fd, info.bytes);
    if (rrc != BF_OK) {
        bf_warn ("message from broker dropped (%zu frames, %llu bytes): %s", info.frames,
                 (unsigned long long) info.bytes, bf_error_last ());
        zmsg_destroy (&raw);
        return;
    }
    bf_msg_t *msg = NULL;
    if (bf_msg_decode (&msg, &raw) != BF_OK) {
        bf_warn ("malformed message from broker: %s", bf_error_last ());
        return;
    }
    self->broker_expires = bf_mono_ms () + (int64_t) self->cfg.heartbeat_ms * self->cfg.liveness;
    self->reconnect_ivl = 1000;
    self->reconnect_at = 0;
    size_t i = 0, n = sizeof s_commands / sizeof s_commands[0];
    while (i < n && strcmp (msg->command, s_commands[i].name) != 0)
        i++;
    if (i < n)
        s_commands[i].handler (self, msg);
    else
        bf_warn ("unknown command '%s' from broker", msg->command);
    bf_msg_destroy (&msg);
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
            self->wire_free = xcalloc ((size_t) self->nboards + 1, sizeof *self->wire_free);
        if (rc == BF_OK)
            rc = bf_vboards_start (&self->vboards, self->boards, self->nboards, self->work_dir,
                                   config->vboard_bin);
        if (rc == BF_OK)
            self->sims = bf_simboards_new (self->work_dir, self->boards, self->nboards,
                                           &self->sandbox);
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
    self->regio = zlistx_new ();
    self->poller = zpoller_new (NULL);
    self->reconnect_ivl = 1000;
    *out = self;
    return BF_OK;
}

static void
s_send_empty (bf_worker_t *self, const char *command)
{
    json_t *body = json_object ();
    bf_worker__send (self, command, body, NULL);
    json_decref (body);
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
        if (self->guard && wait > BF_RXGUARD_CHECK_MS)
            wait = BF_RXGUARD_CHECK_MS;
        if (wait < 0)
            wait = 0;
        void *which = zpoller_wait (self->poller, (int) wait);
        if (self->guard)
            bf_rxguard_check (self->guard);
        if (which == self->dealer)
            s_on_broker (self);
        else if (which && self->guard && which == bf_rxguard_monitor (self->guard))
            bf_rxguard_event (self->guard);
        else if (which && self->curve && which == bf_curve_monitor (self->curve)) {
            if (bf_curve_refused (self->curve)) {
                free (self->refused);
                self->refused = xstrdup (bf_error_last ());
                bf_err ("%s", self->refused);
            }
        }
        else if (which && bf_worker__regio_actor (self, which))
            ;
        else if (which) {
            for (bf_worker__job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
                if ((void *) j->actor == which) {
                    bf_worker__on_actor (self, j);
                    break;
                }
        }
        now = bf_mono_ms ();
        if (now >= self->heartbeat_at) {
            s_send_empty (self, "HEARTBEAT");
            self->heartbeat_at = now + self->cfg.heartbeat_ms;
            bf_cache_flush (self->l1);
            if (self->sims)
                bf_simboards_check (self->sims);
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
    bf_worker__regio_stop (self);
    bf_worker__stop_jobs (self);
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
    bf_rxguard_destroy (&self->guard);
    zsock_destroy (&self->dealer);
    bf_curve_destroy (&self->curve);
    bf_sandbox_fini (&self->sandbox);
    free (self->refused);
    zlistx_destroy (&self->jobs);
    bf_worker__regio_stop (self);
    zlistx_destroy (&self->regio);
    if (self->pending) {
        bf_worker__pending_free (self);
        zlistx_destroy (&self->pending);
    }
    json_decref (self->tags);
    bf_simboards_destroy (&self->sims);
    bf_vboards_destroy (&self->vboards);
    bf_boards_free (self->boards, self->nboards);
    free (self->wire_free);
    bf_janitor_destroy (&self->janitor);
    bf_cache_destroy (&self->l1);
    bf_toolchain_release (&self->tc);
    free (self->work_dir);
    free (self->name);
    free (self);
    *self_p = NULL;
}
