/*  bf_broker - see bf_broker.h and docs/protocol.md. */
#include "bf_broker.h"
#include "bf_jobs.h"
#include "../cache/bf_cache.h"
#include "../cache/bf_key.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_manifest.h"
#include "../common/bf_proto.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_VERSION     "bitfarm 0.1.0"
#define S_LOG_MAX     (64u << 20)     /* bytes of live log kept per job */
#define S_WORKER_NAME 64

typedef struct {
    char *rid;                  /* routing id, hex; the key in self->workers */
    zframe_t *rid_frame;
    char name[S_WORKER_NAME + 1];
    int slots;
    char toolchain[BF_SHA256_HEX_LEN + 1];
    json_t *versions;
    json_t *jobs;               /* object: job id -> true, running on this worker */
    int64_t expires_at;         /* monotonic ms */
    int64_t connected_at;       /* wall ms */
} s_worker_t;

struct _bf_broker_t {
    bf_broker_config_t cfg;
    char *state_dir;
    char *endpoint;
    zsock_t *router;
    bf_jobs_t *jobs;
    bf_cache_t *cache;
    zhashx_t *workers;          /* rid hex -> s_worker_t */
    int64_t heartbeat_at;       /* monotonic ms of the next heartbeat we send */
    bool dispatch_needed;
};

/* ---------------------------------------------------------------------- */
/*  Sending                                                                 */

/*  Sends msg to a peer, never blocking: ROUTER_MANDATORY + a zero send
    timeout make an unknown or full peer an error, which we log. */
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
    json_decref (w->jobs);
    free (w);
    *item_p = NULL;
}

static char *
s_rid_hex (zframe_t *rid)
{
    return zframe_strhex (rid);
}

/*  A worker is gone: its running jobs go back to the queue. */
static void
s_worker_lost (bf_broker_t *self, s_worker_t *w, const char *why)
{
    bf_warn ("worker '%s' lost (%s); requeueing %zu job(s)", w->name, why,
             json_object_size (w->jobs));
    const char *id;
    json_t *v;
    json_object_foreach (w->jobs, id, v) {
        if (bf_jobs_requeue (self->jobs, id) == BF_OK)
            bf_info ("job %s requeued", id);
    }
    self->dispatch_needed = true;
    zhashx_delete (self->workers, w->rid);
}

static s_worker_t *
s_worker_free (bf_broker_t *self)
{
    s_worker_t *best = NULL;
    for (s_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers)) {
        int free_slots = w->slots - (int) json_object_size (w->jobs);
        if (free_slots <= 0)
            continue;
        if (!best || free_slots > best->slots - (int) json_object_size (best->jobs))
            best = w;
    }
    return best;
}

typedef struct {
    bf_broker_t *broker;
    zmsg_t *blobs;
} s_blob_ctx_t;

static int
s_add_blob (void *arg, const char *path, const char *sha256, uint64_t size)
{
    (void) size;
    s_blob_ctx_t *ctx = arg;
    char *data = NULL;
    size_t len = 0;
    int rc = bf_cache_get_object (ctx->broker->cache, &data, &len, sha256);
    if (rc != BF_OK)
        return bf_error_set (rc, "input '%s' (%.12s) is missing from the cache", path, sha256);
    zmsg_addmem (ctx->blobs, data, len);
    free (data);
    return BF_OK;
}

static void s_finish_from_entry (bf_broker_t *self, const char *id, json_t *entry);

/*  Hands queued jobs to workers with free slots, in priority/FIFO order. */
static void
s_dispatch (bf_broker_t *self)
{
    self->dispatch_needed = false;
    if (zhashx_size (self->workers) == 0)
        return;
    json_t *queued = bf_jobs_queued (self->jobs, 64);
    size_t i;
    json_t *jid;
    json_array_foreach (queued, i, jid) {
        s_worker_t *w = s_worker_free (self);
        if (!w)
            break;
        const char *id = json_string_value (jid);
        json_t *job = NULL;
        if (bf_jobs_get (self->jobs, &job, id, true) != BF_OK)
            continue;
        json_t *manifest = json_object_get (job, "manifest");
        char key[BF_SHA256_HEX_LEN + 1];
        if (bf_key_compute (key, manifest, w->toolchain) != BF_OK) {
            json_decref (job);
            continue;
        }
        /* The result may have been cached since the job was queued. */
        json_t *entry = NULL;
        if (bf_cache_get_entry (self->cache, &entry, key) == BF_OK) {
            s_finish_from_entry (self, id, entry);
            json_decref (entry);
            json_decref (job);
            continue;
        }
        s_blob_ctx_t ctx = { self, zmsg_new () };
        if (bf_manifest_each_input (manifest, s_add_blob, &ctx) != BF_OK) {
            json_t *res = json_pack ("{s:s, s:s, s:s}", "state", "failed", "failure_class",
                                     "infrastructure", "error", bf_error_last ());
            bf_jobs_finish (self->jobs, id, res);
            bf_warn ("job %s failed: %s", id, bf_error_last ());
            json_decref (res);
            zmsg_destroy (&ctx.blobs);
            json_decref (job);
            continue;
        }
        if (bf_jobs_start (self->jobs, id, w->name, key) != BF_OK) {
            zmsg_destroy (&ctx.blobs);
            json_decref (job);
            continue;
        }
        json_object_set_new (w->jobs, id, json_true ());
        json_t *body = json_pack ("{s:s, s:I, s:O, s:s, s:I}", "job", id, "attempt",
                                  json_integer_value (json_object_get (job, "attempt")) + 1,
                                  "manifest", manifest, "cache_key", key, "timeout_ms",
                                  (json_int_t) self->cfg.job_timeout_ms);
        zmsg_t *msg = bf_msg_encode (BF_PROTO_WORKER, "JOB", body, &ctx.blobs);
        s_send (self, w->rid_frame, &msg);
        bf_info ("job %s dispatched to worker '%s'", id, w->name);
        json_decref (body);
        json_decref (job);
    }
    json_decref (queued);
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
    if (bf_jobs_finish (self->jobs, id, res) == BF_OK)
        bf_info ("job %s finished from the cache", id);
    json_decref (res);
}

/* ---------------------------------------------------------------------- */
/*  Client commands                                                         */

typedef struct {
    bf_broker_t *broker;
    json_t *missing;
    json_t *seen;
} s_missing_ctx_t;

static int
s_collect_missing (void *arg, const char *path, const char *sha256, uint64_t size)
{
    (void) path; (void) size;
    s_missing_ctx_t *ctx = arg;
    if (json_object_get (ctx->seen, sha256))
        return BF_OK;
    json_object_set_new (ctx->seen, sha256, json_true ());
    if (!bf_cache_has_object (ctx->broker->cache, sha256))
        json_array_append_new (ctx->missing, json_string (sha256));
    return BF_OK;
}

static void
s_client_submit (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    json_t *norm = NULL;
    json_t *entry = NULL;
    json_t *in = json_object_get (msg->body, "manifest");
    if (bf_manifest_normalize (&norm, in) != BF_OK) {
        s_reply_error (self, rid, "%s", bf_error_last ());
        return;
    }
    int64_t priority = 0;
    if (bf_body_int (&priority, msg->body, "priority", -1000, 1000, false) == BF_EINVAL) {
        s_reply_error (self, rid, "%s", bf_error_last ());
        goto out;
    }
    char action[BF_SHA256_HEX_LEN + 1], key[BF_SHA256_HEX_LEN + 1], toolchain[65];
    bf_key_action (action, norm);
    bool have_key = bf_jobs_toolchain_latest (self->jobs, toolchain, "ice40") == BF_OK;
    if (have_key) {
        bf_key_compute (key, norm, toolchain);
        if (bf_cache_get_entry (self->cache, &entry, key) != BF_OK)
            entry = NULL;
    }
    if (!entry) {
        s_missing_ctx_t ctx = { self, json_array (), json_object () };
        bf_manifest_each_input (norm, s_collect_missing, &ctx);
        json_decref (ctx.seen);
        if (json_array_size (ctx.missing) > 0) {
            json_t *body = json_pack ("{s:o}", "missing", ctx.missing);
            s_reply (self, rid, BF_PROTO_CLIENT, "NEED", body, NULL);
            json_decref (body);
            goto out;
        }
        json_decref (ctx.missing);
    }
    char id[BF_JOB_ID_LEN + 1];
    if (bf_jobs_create (self->jobs, id, norm, action, have_key ? key : NULL, (int) priority,
                        entry) != BF_OK) {
        bf_err ("%s", bf_error_last ());
        s_reply_error (self, rid, "%s", bf_error_last ());
        goto out;
    }
    json_t *job = NULL;
    bf_jobs_get (self->jobs, &job, id, false);
    s_reply (self, rid, BF_PROTO_CLIENT, "OK", job, NULL);
    json_decref (job);
    bf_info ("job %s %s", id, entry ? "finished at once (cache hit)" : "queued");
    if (!entry)
        self->dispatch_needed = true;
out:
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
    return json_pack ("{s:s, s:i, s:i, s:s, s:O, s:o, s:s, s:[s]}", "name", w->name,
                      "slots", w->slots, "busy", (int) json_object_size (w->jobs),
                      "toolchain", w->toolchain, "versions", w->versions, "jobs", jobs,
                      "connected_at", bf_time_iso (buf, sizeof buf, w->connected_at),
                      "families", "ice40");
}

static void
s_client_status (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    char id[BF_JOB_ID_LEN + 1];
    if (!s_client_job_id (self, rid, msg, id))
        return;
    json_t *job = NULL;
    bf_jobs_get (self->jobs, &job, id, false);
    if (strcmp (json_string_value (json_object_get (job, "state")), "queued") == 0
        && zhashx_size (self->workers) == 0)
        json_object_set_new (job, "waiting_for", json_string ("no worker is connected"));
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
    const char *state = json_string_value (json_object_get (job, "state"));
    if (bf_jobs_state_final (state)) {
        s_reply_error (self, rid, "job %s is already %s; nothing to cancel", id, state);
        json_decref (job);
        return;
    }
    json_t *res = json_pack ("{s:s, s:s, s:s}", "state", "cancelled", "failure_class",
                             "cancelled", "error", "cancelled by user");
    bf_jobs_finish (self->jobs, id, res);
    json_decref (res);
    for (s_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        if (json_object_get (w->jobs, id)) {
            json_t *body = json_pack ("{s:s}", "job", id);
            s_reply (self, w->rid_frame, BF_PROTO_WORKER, "CANCEL", body, NULL);
            json_decref (body);
            json_object_del (w->jobs, id);
            self->dispatch_needed = true;
        }
    json_decref (job);
    bf_jobs_get (self->jobs, &job, id, false);
    s_reply (self, rid, BF_PROTO_CLIENT, "OK", job, NULL);
    bf_info ("job %s cancelled", id);
    json_decref (job);
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
    else if (strcmp (c, "PING") == 0) {
        json_t *body = json_pack ("{s:s}", "version", S_VERSION);
        s_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
        json_decref (body);
    }
    else {
        s_reply_error (self, rid, "unknown command '%s'", c);
    }
}

/* ---------------------------------------------------------------------- */
/*  Worker commands                                                         */

static void
s_worker_ready (bf_broker_t *self, zframe_t *rid, const char *rid_hex, bf_msg_t *msg)
{
    const char *name, *toolchain;
    int64_t slots = 1;
    json_t *tc = json_object_get (msg->body, "toolchain");
    if (bf_body_str (&name, msg->body, "name", S_WORKER_NAME, true) != BF_OK
        || bf_body_int (&slots, msg->body, "slots", 1, 256, true) != BF_OK
        || !json_is_object (tc)
        || bf_body_str (&toolchain, tc, "id", BF_SHA256_HEX_LEN, true) != BF_OK
        || !bf_sha256_is_hex (toolchain)) {
        bf_warn ("bad READY from a worker: %s", bf_error_last ());
        json_t *body = json_pack ("{s:s}", "reason", bf_error_last ());
        s_reply (self, rid, BF_PROTO_WORKER, "DISCONNECT", body, NULL);
        json_decref (body);
        return;
    }
    s_worker_t *old = zhashx_lookup (self->workers, rid_hex);
    if (old)
        s_worker_lost (self, old, "it registered again");
    s_worker_t *w = xcalloc (1, sizeof *w);
    w->rid = xstrdup (rid_hex);
    w->rid_frame = zframe_dup (rid);
    snprintf (w->name, sizeof w->name, "%s", name);
    w->slots = (int) slots;
    snprintf (w->toolchain, sizeof w->toolchain, "%s", toolchain);
    json_t *versions = json_object_get (tc, "versions");
    w->versions = json_is_object (versions) ? json_incref (versions) : json_object ();
    w->jobs = json_object ();
    w->expires_at = bf_mono_ms () + (int64_t) self->cfg.heartbeat_ms * self->cfg.liveness;
    w->connected_at = bf_now_ms ();
    zhashx_insert (self->workers, rid_hex, w);
    bf_jobs_toolchain_seen (self->jobs, toolchain, "ice40", w->versions);
    bf_info ("worker '%s' ready: %d slot(s), toolchain %.12s", w->name, w->slots, w->toolchain);
    self->dispatch_needed = true;
}

static void
s_worker_result (bf_broker_t *self, s_worker_t *w, bf_msg_t *msg)
{
    const char *id, *outcome, *key, *cls = NULL, *stage = NULL, *error = NULL;
    if (bf_body_str (&id, msg->body, "job", BF_JOB_ID_LEN, true) != BF_OK
        || bf_body_str (&outcome, msg->body, "outcome", 16, true) != BF_OK
        || bf_body_str (&key, msg->body, "cache_key", BF_SHA256_HEX_LEN, true) != BF_OK
        || bf_body_str (&cls, msg->body, "failure_class", 32, false) == BF_EINVAL
        || bf_body_str (&stage, msg->body, "stage", 32, false) == BF_EINVAL
        || bf_body_str (&error, msg->body, "error", 4096, false) == BF_EINVAL) {
        bf_warn ("bad RESULT from worker '%s': %s", w->name, bf_error_last ());
        return;
    }
    json_object_del (w->jobs, id);
    self->dispatch_needed = true;
    /* Store the objects first: bitstream, report, log, in that order. */
    static const char *objs[] = { "bitstream", "report", "log" };
    json_t *res = json_pack ("{s:s}", "stage", stage ? stage : "done");
    for (int i = 0; i < 3; i++) {
        const char *digest;
        if (bf_body_str (&digest, msg->body, objs[i], BF_SHA256_HEX_LEN, false) != BF_OK)
            continue;
        zframe_t *f = zmsg_pop (msg->blobs);
        if (!f || bf_cache_put_object (self->cache, digest, zframe_data (f), zframe_size (f))
                  != BF_OK) {
            bf_warn ("job %s: %s object from worker '%s' rejected: %s", id, objs[i], w->name,
                     f ? bf_error_last () : "missing frame");
            zframe_destroy (&f);
            outcome = "lost";
            break;
        }
        zframe_destroy (&f);
        json_object_set_new (res, objs[i], json_string (digest));
    }
    json_t *job = NULL;
    if (bf_jobs_get (self->jobs, &job, id, true) != BF_OK) {
        bf_warn ("RESULT for unknown job %s from worker '%s'", id, w->name);
        json_decref (res);
        return;
    }
    if (strcmp (outcome, "succeeded") == 0 || (strcmp (outcome, "failed") == 0 && cls
                                                 && strcmp (cls, "design") == 0)) {
        bool ok = strcmp (outcome, "succeeded") == 0;
        if (ok && !json_object_get (res, "bitstream")) {
            bf_warn ("job %s: success without a bitstream from worker '%s'", id, w->name);
            outcome = "lost";
        }
        else {
            char action[BF_SHA256_HEX_LEN + 1];
            bf_key_action (action, json_object_get (job, "manifest"));
            json_t *entry = json_pack ("{s:s, s:s, s:s, s:O}", "action", action, "toolchain",
                                       w->toolchain, "outcome", ok ? "succeeded" : "failed",
                                       "manifest", json_object_get (job, "manifest"));
            json_object_update (entry, res);
            if (error)
                json_object_set_new (entry, "error", json_string (error));
            if (bf_cache_put_entry (self->cache, key, entry) != BF_OK)
                bf_warn ("job %s: cannot cache result: %s", id, bf_error_last ());
            json_decref (entry);
        }
    }
    if (strcmp (outcome, "succeeded") == 0)
        json_object_set_new (res, "state", json_string ("succeeded"));
    else if (strcmp (outcome, "failed") == 0) {
        const char *state = "failed";
        if (cls && strcmp (cls, "timeout") == 0)
            state = "timed_out";
        else if (cls && strcmp (cls, "cancelled") == 0)
            state = "cancelled";
        json_object_set_new (res, "state", json_string (state));
        json_object_set_new (res, "failure_class", json_string (cls ? cls : "infrastructure"));
        if (error)
            json_object_set_new (res, "error", json_string (error));
    }
    else {
        /* The result could not be taken: run the job again. */
        bf_jobs_requeue (self->jobs, id);
        json_decref (res);
        json_decref (job);
        return;
    }
    if (bf_jobs_finish (self->jobs, id, res) == BF_OK)
        bf_info ("job %s %s on worker '%s'", id, json_string_value (json_object_get (res, "state")),
                 w->name);
    else
        bf_info ("job %s: late result from worker '%s' discarded (already finished)", id, w->name);
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

static void
s_worker (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    char *rid_hex = s_rid_hex (rid);
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
        w->expires_at = bf_mono_ms () + (int64_t) self->cfg.heartbeat_ms * self->cfg.liveness;
        if (strcmp (msg->command, "HEARTBEAT") == 0)
            ;
        else if (strcmp (msg->command, "LOG") == 0)
            s_worker_log (self, w, msg);
        else if (strcmp (msg->command, "RESULT") == 0)
            s_worker_result (self, w, msg);
        else if (strcmp (msg->command, "DISCONNECT") == 0)
            s_worker_lost (self, w, "it said goodbye");
        else
            bf_warn ("unknown command '%s' from worker '%s'", msg->command, w->name);
    }
    free (rid_hex);
}

/* ---------------------------------------------------------------------- */

static void
s_heartbeat (bf_broker_t *self)
{
    int64_t now = bf_mono_ms ();
    zlistx_t *lost = zlistx_new ();
    for (s_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        if (now >= w->expires_at)
            zlistx_add_end (lost, w);
    for (s_worker_t *w = zlistx_first (lost); w; w = zlistx_next (lost))
        s_worker_lost (self, w, "heartbeats stopped");
    zlistx_destroy (&lost);
    if (now < self->heartbeat_at)
        return;
    self->heartbeat_at = now + self->cfg.heartbeat_ms;
    json_t *body = json_object ();
    for (s_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        s_reply (self, w->rid_frame, BF_PROTO_WORKER, "HEARTBEAT", body, NULL);
    json_decref (body);
}

int
bf_broker_new (bf_broker_t **out, const bf_broker_config_t *config)
{
    *out = NULL;
    bf_broker_t *self = xcalloc (1, sizeof *self);
    self->cfg = *config;
    if (self->cfg.heartbeat_ms <= 0)
        self->cfg.heartbeat_ms = 1000;
    if (self->cfg.liveness <= 0)
        self->cfg.liveness = 3;
    if (self->cfg.job_timeout_ms <= 0)
        self->cfg.job_timeout_ms = 3600 * 1000;
    self->state_dir = xstrdup (config->state_dir);
    self->workers = zhashx_new ();
    zhashx_set_destructor (self->workers, s_worker_destroy);
    int rc;
    char *p = xasprintf ("%s/logs", self->state_dir);
    rc = bf_mkdir_p (p, 0755);
    free (p);
    if (rc != BF_OK)
        goto fail;
    p = xasprintf ("%s/jobs.db", self->state_dir);
    rc = bf_jobs_open (&self->jobs, p);
    free (p);
    if (rc != BF_OK)
        goto fail;
    p = xasprintf ("%s/cache", self->state_dir);
    rc = bf_cache_open (&self->cache, p);
    free (p);
    if (rc != BF_OK)
        goto fail;
    /* Jobs that were running when the broker stopped: their workers will
       register again with nothing for us, so run them again. */
    json_t *running = bf_jobs_running (self->jobs);
    size_t i;
    json_t *jid;
    json_array_foreach (running, i, jid)
        if (bf_jobs_requeue (self->jobs, json_string_value (jid)) == BF_OK)
            bf_info ("job %s requeued after restart", json_string_value (jid));
    json_decref (running);
    self->router = zsock_new (ZMQ_ROUTER);
    bf_socket_policy (self->router);
    zsock_set_sndtimeo (self->router, 0);
    if (zsock_bind (self->router, "%s", config->listen) < 0) {
        rc = bf_error_set (BF_EINVAL, "cannot listen on '%s': %s", config->listen,
                           zmq_strerror (errno));
        goto fail;
    }
    self->endpoint = xstrdup (zsock_endpoint (self->router));
    self->dispatch_needed = true;
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
    bf_info ("listening on %s, state in %s", self->endpoint, self->state_dir);
    while (!zsys_interrupted) {
        if (self->dispatch_needed)
            s_dispatch (self);
        int64_t wait = self->heartbeat_at - bf_mono_ms ();
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
            bf_msg_t *msg = NULL;
            if (bf_msg_decode (&msg, &raw) != BF_OK) {
                char esc[300];
                bf_warn ("malformed message dropped: %s",
                         bf_log_escape (esc, sizeof esc, bf_error_last ()));
                s_reply_error (self, rid, "%s", bf_error_last ());
            }
            else if (strcmp (msg->proto, BF_PROTO_CLIENT) == 0)
                s_client (self, rid, msg);
            else
                s_worker (self, rid, msg);
            bf_msg_destroy (&msg);
            zframe_destroy (&rid);
        }
        s_heartbeat (self);
    }
    zpoller_destroy (&poller);
    /* Tell workers we are going, so they reconnect at once to our successor. */
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
    zhashx_destroy (&self->workers);
    bf_jobs_destroy (&self->jobs);
    bf_cache_destroy (&self->cache);
    free (self->state_dir);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}
