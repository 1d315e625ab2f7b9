/*  bf_broker_registry - the worker registry: READY (registration and
    its checks), the jobs a worker claims after a restart, leases lost,
    and what WORKERS shows of a worker.  See bf_broker_int.h.
*/
#include "bf_broker_int.h"
#include "../cache/bf_key.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_manifest.h"
#include "../common/bf_report.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static void s_ready (bf_broker_t *self, zframe_t *rid, const char *rid_hex, bf_msg_t *msg);

void
bf_broker_worker_destroy (void **item_p)
{
    bf_broker_worker_t *w = *item_p;
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
void
bf_broker_worker_lost (bf_broker_t *self, bf_broker_worker_t *w, const char *why)
{
    bf_warn ("worker '%s' lost (%s); %zu job(s) go back to the queue", w->name, why,
             json_object_size (w->jobs));
    json_t *jobs = json_incref (w->jobs);
    char name[BF_BROKER_WORKER_NAME + 1];
    snprintf (name, sizeof name, "%s", w->name);
    zhashx_delete (self->workers, w->rid);
    const char *id;
    json_t *v;
    json_object_foreach (jobs, id, v) {
        char *reason = xasprintf ("worker '%s' lost: %s", name, why);
        bf_broker_attempt_failed (self, id, reason);
        free (reason);
    }
    json_decref (jobs);
    self->dispatch_needed = true;
}

/*  True when the worker has every tag in `tags`. */
static bool
s_worker_has_tags (bf_broker_worker_t *w, json_t *tags)
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
bool
bf_broker_worker_capable (bf_broker_worker_t *w, const bf_job_t *job)
{
    const char *pin = job->toolchain;
    return s_worker_has_tags (w, job->tags)
           && (!pin || strcmp (pin, w->toolchain) == 0);
}

json_t *
bf_broker_worker_json (bf_broker_worker_t *w)
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
    for (bf_broker_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        if (strcmp (w->rid, rid_hex) == 0 || strcmp (w->name, name) == 0)
            zlistx_add_end (old, w);
    for (bf_broker_worker_t *w = zlistx_first (old); w; w = zlistx_next (old)) {
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
            bf_broker_attempt_failed (self, json_string_value (v), reason);
            free (reason);
        }
        json_decref (dropped);
    }
    zlistx_destroy (&old);
}

/*  Takes back the jobs a (re-)registering worker says it holds. */
static void
s_worker_recover (bf_broker_t *self, bf_broker_worker_t *w, json_t *claimed)
{
    const char *id;
    json_t *done;
    json_object_foreach (claimed, id, done) {
        bf_job_t *job = NULL;
        if (bf_jobs_get (self->jobs, &job, id, false) != BF_OK) {
            bf_broker_worker_command (self, w, "CANCEL", id);
            continue;
        }
        bool held = false;
        for (bf_broker_worker_t *o = zhashx_first (self->workers); o;
             o = zhashx_next (self->workers))
            held |= o != w && json_object_get (o->jobs, id) != NULL;
        if (bf_job_state_final (job->state)) {
            if (!json_is_true (done))
                bf_broker_worker_command (self, w, "CANCEL", id);
        }
        else {
            if (!held) {
                int64_t deadline = bf_now_ms () + job->timeout_ms + self->lease_ms;
                if (bf_jobs_recover (self->jobs, id, w->name, deadline) == BF_OK) {
                    bf_info ("job %s recovered: worker '%s' still holds it", id, w->name);
                    json_object_del (self->orphans, id);
                }
            }
            if (!json_is_true (done))
                json_object_set_new (w->jobs, id, bf_broker_is_program (job)
                                                  ? json_string ("program") : json_true ());
        }
        bf_job_free (job);
    }
}

void
bf_broker_worker_ready (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    char *rid_hex = zframe_strhex (rid);
    s_ready (self, rid, rid_hex, msg);
    free (rid_hex);
}

/*  DRAIN: no new jobs for this worker; its running ones finish. */
void
bf_broker_worker_drain (bf_broker_t *self, bf_broker_worker_t *w, bf_msg_t *msg)
{
    (void) self;
    (void) msg;
    if (!w->draining)
        bf_info ("worker '%s' is draining: no new jobs; %zu running", w->name,
                 json_object_size (w->jobs));
    w->draining = true;
}

/*  DISCONNECT from a worker: it is leaving. */
void
bf_broker_worker_goodbye (bf_broker_t *self, bf_broker_worker_t *w, bf_msg_t *msg)
{
    (void) msg;
    bf_broker_worker_lost (self, w, "it said goodbye");
}

static void
s_ready (bf_broker_t *self, zframe_t *rid, const char *rid_hex, bf_msg_t *msg)
{
    const char *name, *toolchain;
    int64_t slots = 1;
    json_t *tc = json_object_get (msg->body, "toolchain");
    json_t *tags = NULL, *claimed = NULL;
    if (bf_body_str (&name, msg->body, "name", BF_BROKER_WORKER_NAME, true) != BF_OK
        || bf_body_int (&slots, msg->body, "slots", 1, 256, true) != BF_OK
        || !json_is_object (tc)
        || bf_body_str (&toolchain, tc, "id", BF_SHA256_HEX_LEN, true) != BF_OK
        || !bf_sha256_is_hex (toolchain)
        || bf_body_tags (&tags, msg->body, "tags") != BF_OK
        || !(claimed = s_claimed_jobs (msg->body))) {
        bf_warn ("bad READY from a worker: %s", bf_error_last ());
        json_t *body = json_pack ("{s:s}", "reason", bf_error_last ());
        bf_broker_reply (self, rid, BF_PROTO_WORKER, "DISCONNECT", body, NULL);
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
    for (bf_broker_worker_t *o = zhashx_first (self->workers); o; o = zhashx_next (self->workers))
        if (strcmp (o->name, name) == 0 && strcmp (o->key, self->peer_key) != 0) {
            /* A name is not an identity: only the key that holds it may
               take it over (and with it its jobs and boards). */
            bf_warn ("refused READY from key '%s': worker name '%s' is held by another key",
                     self->peer_name, name);
            json_t *body = json_pack ("{s:s, s:b}", "reason", "worker name is in use by "
                                      "another key", "refused", 1);
            bf_broker_reply (self, rid, BF_PROTO_WORKER, "DISCONNECT", body, NULL);
            json_decref (body);
            json_decref (tags);
            json_decref (claimed);
            return;
        }
    bool sandboxed = false;     /* absent or malformed: assume the worst */
    bf_body_bool (&sandboxed, msg->body, "sandbox", false);
    s_worker_replaced (self, rid_hex, name, claimed);
    bf_broker_worker_t *w = xcalloc (1, sizeof *w);
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
        bf_broker_worker_t *other;
        if (!bname || !bf_tag_valid (bname) || !dev || !bf_manifest_device (dev, NULL) || !fam
            || strcmp (fam, "ice40") != 0 || !pkg || !bf_manifest_package (dev, pkg) || !cable
            || strlen (cable) > 200) {
            bf_warn ("worker '%s' declared a malformed board (#%zu); ignored", name, bi + 1);
            continue;
        }
        if ((other = bf_broker_board_owner (self, bname)) && strcmp (other->name, name) != 0) {
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
