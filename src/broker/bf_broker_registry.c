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
    free (w->leases);
    free (w);
    *item_p = NULL;
}

const char *const bf_broker_tools[BF_BROKER_TOOLS] = {
    "yosys", "yosys-abc", "nextpnr-ice40", "icepack"
};

bf_broker_lease_t *
bf_broker_worker_lease (bf_broker_worker_t *w, const char *id)
{
    for (size_t i = 0; i < w->nleases; i++)
        if (strcmp (w->leases[i].job, id) == 0)
            return &w->leases[i];
    return NULL;
}

void
bf_broker_worker_take (bf_broker_worker_t *w, const char *id, bf_lease_kind_t kind,
                       int64_t attempt)
{
    bf_broker_lease_t *l = bf_broker_worker_lease (w, id);
    if (!l) {
        if (w->nleases == w->leases_cap) {
            w->leases_cap = w->leases_cap ? 2 * w->leases_cap : 8;
            w->leases = xrealloc (w->leases, w->leases_cap * sizeof *w->leases);
        }
        l = &w->leases[w->nleases++];
        snprintf (l->job, sizeof l->job, "%s", id);
    }
    l->kind = kind;
    l->attempt = attempt;
}

bool
bf_broker_worker_drop (bf_broker_worker_t *w, const char *id)
{
    bf_broker_lease_t *l = bf_broker_worker_lease (w, id);
    if (!l)
        return false;
    *l = w->leases[--w->nleases];
    return true;
}

bool
bf_broker_worker_has_board (const bf_broker_worker_t *w, const char *name)
{
    for (size_t i = 0; i < w->nboards; i++)
        if (strcmp (w->boards[i], name) == 0)
            return true;
    return false;
}

/*  A worker is gone: its leases end, and its jobs are retried. */
void
bf_broker_worker_lost (bf_broker_t *self, bf_broker_worker_t *w, const char *why)
{
    bf_warn ("worker '%s' lost (%s); %zu job(s) go back to the queue", w->name, why,
             w->nleases);
    bf_broker_lease_t *leases = w->leases;
    size_t n = w->nleases;
    w->leases = NULL;               /* transferred */
    w->nleases = 0;
    char name[BF_BROKER_WORKER_NAME + 1];
    snprintf (name, sizeof name, "%s", w->name);
    bf_broker_regio_worker_gone (self, w, why);
    zhashx_delete (self->workers, w->rid);
    for (size_t i = 0; i < n; i++) {
        char *reason = xasprintf ("worker '%s' lost: %s", name, why);
        bf_broker_attempt_failed (self, leases[i].job, reason);
        free (reason);
    }
    free (leases);
    self->dispatch_needed = true;
}

/*  True when the worker has every tag in `tags`. */
static bool
s_worker_has_tags (bf_broker_worker_t *w, json_t *tags)
{
    size_t i;
    json_t *t;
    json_array_foreach (tags, i, t) {
        const char *want = json_string_value (t);
        bool found = false;
        for (size_t k = 0; k < w->ntags && want && !found; k++)
            found = strcmp (w->tags[k], want) == 0;
        if (!found)
            return false;
    }
    return true;
}

/*  A worker's tool version lines (READY toolchain.versions), as shown by
    WORKERS: only the four tools, strings only, escaped and cut to 160
    bytes; anything else a worker sends is dropped. */
static void
s_tool_versions (bf_broker_worker_t *w, json_t *in)
{
    for (size_t i = 0; i < BF_BROKER_TOOLS; i++) {
        const char *v = json_string_value (json_object_get (in, bf_broker_tools[i]));
        w->versions[i][0] = '\0';
        if (v)
            bf_log_escape (w->versions[i], sizeof w->versions[i], v);
    }
}

/*  The version lines as a new JSON object tool -> line (known ones only). */
static json_t *
s_versions_json (const bf_broker_worker_t *w)
{
    json_t *o = json_object ();
    for (size_t i = 0; i < BF_BROKER_TOOLS; i++)
        if (w->versions[i][0])
            json_object_set_new (o, bf_broker_tools[i], json_string (w->versions[i]));
    return o;
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
    json_t *jobs = json_array (), *tags = json_array (), *boards = json_array ();
    for (size_t i = 0; i < w->nleases; i++)
        json_array_append_new (jobs, json_string (w->leases[i].job));
    for (size_t i = 0; i < w->ntags; i++)
        json_array_append_new (tags, json_string (w->tags[i]));
    for (size_t i = 0; i < w->nboards; i++)
        json_array_append_new (boards, json_string (w->boards[i]));
    char buf[40];
    json_t *o = json_pack ("{s:s, s:i, s:i, s:s, s:o, s:o, s:s, s:[s], s:o, s:b, s:o}",
                      "name", w->name, "slots", w->slots, "busy", (int) w->nleases,
                      "toolchain", w->toolchain, "versions", s_versions_json (w), "jobs", jobs,
                      "connected_at", bf_time_iso (buf, sizeof buf, w->connected_at),
                      "families", "ice40", "tags", tags, "draining", w->draining,
                      "boards", boards);
    json_object_set_new (o, "sandbox", json_boolean (w->sandboxed));
    if (w->key[0])
        json_object_set_new (o, "key", json_string (w->key));
    return o;
}

/*  A job READY says the worker still runs (done false) or holds an
    unacknowledged result for (done true), as the attempt it was given. */
typedef struct {
    char job[BF_JOB_ID_LEN + 1];
    bool done;
    int64_t attempt;
} s_claim_t;

/*  READY's optional "jobs": [{"job": ID, "done": bool, "attempt": N}, ...].
    Returns a new array (*n_out entries; NULL when empty) and BF_OK, or
    BF_EINVAL with a detail. */
static int
s_claimed_jobs (s_claim_t **out, size_t *n_out, json_t *body)
{
    *out = NULL;
    *n_out = 0;
    json_t *arr = json_object_get (body, "jobs");
    if (!arr)
        return BF_OK;
    if (!json_is_array (arr) || json_array_size (arr) > BF_BROKER_WORKER_LEASES)
        return bf_error_set (BF_EINVAL, "field 'jobs' must be an array of at most %d jobs",
                             BF_BROKER_WORKER_LEASES);
    s_claim_t *claims = xcalloc (json_array_size (arr) + 1, sizeof *claims);
    size_t i;
    json_t *j;
    json_array_foreach (arr, i, j) {
        const char *id;
        bool done = false;
        int64_t attempt = 0;
        if (bf_body_str (&id, j, "job", BF_JOB_ID_LEN, true) != BF_OK
            || bf_body_bool (&done, j, "done", false) == BF_EINVAL
            || bf_body_int (&attempt, j, "attempt", 1, INT32_MAX, true) != BF_OK
            || strlen (id) != BF_JOB_ID_LEN || strspn (id, "0123456789abcdef") != BF_JOB_ID_LEN) {
            free (claims);
            return bf_error_set (BF_EINVAL, "field 'jobs' must hold {\"job\": ID, \"done\": bool, "
                                 "\"attempt\": N}");
        }
        snprintf (claims[i].job, sizeof claims[i].job, "%s", id);
        claims[i].done = done;
        claims[i].attempt = attempt;
    }
    *out = claims;          /* transferred */
    *n_out = json_array_size (arr);
    return BF_OK;
}

static bool
s_claims_job (const s_claim_t *claims, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (claims[i].job, id) == 0)
            return true;
    return false;
}

/*  The worker registered again (with the same routing id, or with the same
    name from a new socket): the old registration ends, and jobs it held
    that the new one does not claim are retried. */
static void
s_worker_replaced (bf_broker_t *self, const char *rid_hex, const char *name,
                   const s_claim_t *claims, size_t nclaims)
{
    zlistx_t *old = zlistx_new ();
    for (bf_broker_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        if (strcmp (w->rid, rid_hex) == 0 || strcmp (w->name, name) == 0)
            zlistx_add_end (old, w);
    for (bf_broker_worker_t *w = zlistx_first (old); w; w = zlistx_next (old)) {
        zlistx_t *dropped = zlistx_new ();
        zlistx_set_destructor (dropped, (zlistx_destructor_fn *) zstr_free);
        for (size_t i = 0; i < w->nleases; i++)
            if (!s_claims_job (claims, nclaims, w->leases[i].job))
                zlistx_add_end (dropped, xstrdup (w->leases[i].job));
        bf_info ("worker '%s' registered again", w->name);
        bf_broker_regio_worker_gone (self, w, "it registered again");
        zhashx_delete (self->workers, w->rid);
        for (char *id = zlistx_first (dropped); id; id = zlistx_next (dropped)) {
            char *reason = xasprintf ("worker '%s' registered again without it", name);
            bf_broker_attempt_failed (self, id, reason);
            free (reason);
        }
        zlistx_destroy (&dropped);
    }
    zlistx_destroy (&old);
}

/*  Was attempt `attempt` of job dispatched to w (its name and its key)?
    A job dispatched before schema version 6 has no attempt row: then its
    last worker's name must be w's. */
static bool
s_dispatched_to (bf_broker_t *self, const bf_job_t *job, int64_t attempt,
                 const bf_broker_worker_t *w)
{
    bf_attempt_t a;
    if (bf_jobs_attempt_get (self->jobs, &a, job->id, attempt) == BF_OK)
        return strcmp (a.worker, w->name) == 0 && strcmp (a.worker_key, w->key) == 0;
    return attempt == job->attempt && job->worker && strcmp (job->worker, w->name) == 0;
}

/*  Takes back the jobs a (re-)registering worker says it holds: only
    those whose current attempt was dispatched to it.  Any other claim is
    answered with CANCEL (docs/protocol.md 6.1). */
static void
s_worker_recover (bf_broker_t *self, bf_broker_worker_t *w, const s_claim_t *claims,
                  size_t nclaims)
{
    for (size_t c = 0; c < nclaims; c++) {
        const char *id = claims[c].job;
        bool done = claims[c].done;
        bf_job_t *job = NULL;
        if (bf_jobs_get (self->jobs, &job, id, false) != BF_OK) {
            bf_broker_worker_command (self, w, "CANCEL", id);
            continue;
        }
        bool held = false;
        for (bf_broker_worker_t *o = zhashx_first (self->workers); o;
             o = zhashx_next (self->workers))
            held |= o != w && bf_broker_worker_lease (o, id) != NULL;
        if (bf_job_state_final (job->state)) {
            if (!done)
                bf_broker_worker_command (self, w, "CANCEL", id);
        }
        else if (claims[c].attempt != job->attempt
                 || !s_dispatched_to (self, job, claims[c].attempt, w)) {
            bf_warn ("worker '%s' claims job %s as attempt %lld, which was not dispatched to "
                     "it; told to cancel", w->name, id, (long long) claims[c].attempt);
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
            if (!done)
                bf_broker_worker_take (w, id, bf_broker_is_program (job) ? BF_LEASE_PROGRAM
                                                                        : BF_LEASE_BUILD,
                                       claims[c].attempt);
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
        bf_info ("worker '%s' is draining: no new jobs; %zu running", w->name, w->nleases);
    w->draining = true;
}

/*  DISCONNECT from a worker: it is leaving. */
void
bf_broker_worker_goodbye (bf_broker_t *self, bf_broker_worker_t *w, bf_msg_t *msg)
{
    (void) msg;
    bf_broker_worker_lost (self, w, "it said goodbye");
}

/*  Refuses a READY: DISCONNECT with the reason, and either "refused" (the
    worker stops, saying why) or, for a name whose registration may end
    soon, "retry_ms": one lease period. */
static void
s_refuse_ready (bf_broker_t *self, zframe_t *rid, const char *reason, bool for_good)
{
    json_t *body = for_good ? json_pack ("{s:s, s:b}", "reason", reason, "refused", 1)
                            : json_pack ("{s:s, s:I}", "reason", reason, "retry_ms",
                                         (json_int_t) (self->lease_ms < 60000 ? self->lease_ms
                                                                              : 60000));
    bf_broker_reply (self, rid, BF_PROTO_WORKER, "DISCONNECT", body, NULL);
    json_decref (body);
}

static void
s_ready (bf_broker_t *self, zframe_t *rid, const char *rid_hex, bf_msg_t *msg)
{
    const char *name, *toolchain;
    int64_t slots = 1;
    json_t *tc = json_object_get (msg->body, "toolchain");
    json_t *tags = NULL;
    s_claim_t *claims = NULL;
    size_t nclaims = 0;
    if (bf_body_str (&name, msg->body, "name", BF_BROKER_WORKER_NAME, true) != BF_OK
        || bf_body_int (&slots, msg->body, "slots", 1, 256, true) != BF_OK
        || !json_is_object (tc)
        || bf_body_str (&toolchain, tc, "id", BF_SHA256_HEX_LEN, true) != BF_OK
        || !bf_sha256_is_hex (toolchain)
        || bf_body_tags (&tags, msg->body, "tags") != BF_OK
        || s_claimed_jobs (&claims, &nclaims, msg->body) != BF_OK) {
        const char *why = bf_error_last ();
        bf_warn ("bad READY from a worker: %s", why);
        json_t *body = json_pack ("{s:s}", "reason", why);
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
    /* A name is not an identity: it belongs to the key that first took it,
       across restarts, until an admin releases it.  On a plain broker,
       where there are no keys, a name whose registration is still alive
       on another socket is not taken over either. */
    const char *refusal = NULL;
    char *why = NULL;
    bool for_good = true;
    for (bf_broker_worker_t *o = zhashx_first (self->workers); o && !refusal;
         o = zhashx_next (self->workers))
        if (strcmp (o->name, name) == 0 && strcmp (o->rid, rid_hex) != 0
            && strcmp (o->key, self->peer_key) == 0 && !self->peer_key[0]
            && o->expires_at > bf_mono_ms ()) {
            refusal = why = xasprintf ("worker name '%s' is in use by a connected worker", name);
            for_good = false;
        }
        else if (strcmp (o->name, name) == 0 && strcmp (o->key, self->peer_key) != 0)
            refusal = why = xasprintf ("worker name '%s' belongs to another key (an admin frees "
                                       "it with `bitfarm workers --release %s`)", name, name);
    if (!refusal && bf_jobs_worker_bind (self->jobs, name, self->peer_key) != BF_OK)
        refusal = why = xstrdup (bf_error_last ());
    if (refusal) {
        bf_warn ("refused READY from key '%s': %s", self->peer_name, refusal);
        s_refuse_ready (self, rid, refusal, for_good);
        free (why);
        json_decref (tags);
        free (claims);
        return;
    }
    bool sandboxed = false;     /* absent or malformed: assume the worst */
    bf_body_bool (&sandboxed, msg->body, "sandbox", false);
    s_worker_replaced (self, rid_hex, name, claims, nclaims);
    bf_broker_worker_t *w = xcalloc (1, sizeof *w);
    snprintf (w->key, sizeof w->key, "%s", self->peer_key);
    w->sandboxed = sandboxed;
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
        if (bf_broker_worker_has_board (w, bname))
            continue;
        if (bf_boards_declare (self->boards, name, bv) != BF_OK)
            bf_warn ("board '%s': %s", bname, bf_error_last ());
        else
            snprintf (w->boards[w->nboards++], sizeof w->boards[0], "%s", bname);
    }
    w->rid = xstrdup (rid_hex);
    w->rid_frame = zframe_dup (rid);
    snprintf (w->name, sizeof w->name, "%s", name);
    w->slots = (int) slots;
    snprintf (w->toolchain, sizeof w->toolchain, "%s", toolchain);
    s_tool_versions (w, json_object_get (tc, "versions"));
    size_t ti;
    json_t *tv;
    json_array_foreach (tags, ti, tv)   /* bf_body_tags: sorted, distinct, at most BF_TAGS_MAX */
        snprintf (w->tags[w->ntags++], sizeof w->tags[0], "%s", json_string_value (tv));
    json_decref (tags);
    w->expires_at = bf_mono_ms () + self->lease_ms;
    w->connected_at = bf_now_ms ();
    zhashx_insert (self->workers, rid_hex, w);
    json_t *versions = s_versions_json (w);
    bf_jobs_toolchain_seen (self->jobs, toolchain, "ice40", versions);
    json_decref (versions);
    s_worker_recover (self, w, claims, nclaims);
    free (claims);
    bf_info ("worker '%s' ready: %d slot(s), %zu board(s), toolchain %.12s, %zu job(s) held%s",
             w->name, w->slots, w->nboards, w->toolchain, w->nleases,
             w->sandboxed ? "" : "; UNSANDBOXED (--no-sandbox)");
    self->dispatch_needed = true;
}
