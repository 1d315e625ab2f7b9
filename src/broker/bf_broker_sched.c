/*  bf_broker_sched - scheduling: which worker takes which queued job
    (capabilities, slots, boards), dispatch, back-off and retries, why a
    job waits, and how a job ends (results, cache hits, program jobs
    released after their build).  See bf_broker_int.h.
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

static void s_finish_from_entry (bf_broker_t *self, const char *id, json_t *entry);

/*  Back-off before attempt `attempt` + 1: retry_backoff_ms doubled per
    attempt already made, at most BF_BROKER_BACKOFF_MAX, times a jitter factor in
    [0.5, 1.5) so that jobs failed together do not retry together. */
static int64_t
s_backoff (bf_broker_t *self, int64_t attempt)
{
    int64_t ms = self->cfg.retry_backoff_ms;
    for (int64_t i = 1; i < attempt && ms < BF_BROKER_BACKOFF_MAX; i++)
        ms *= 2;
    if (ms > BF_BROKER_BACKOFF_MAX)
        ms = BF_BROKER_BACKOFF_MAX;
    char hex[5];
    uint32_t rnd = 32768;
    if (bf_random_hex (hex, 2) == BF_OK)
        rnd = (uint32_t) strtoul (hex, NULL, 16);
    return ms / 2 + (int64_t) ((double) ms * rnd / 65536.0);
}

/*  Every connected worker that holds a lease on the job, except `except`,
    is told to stop it and loses the lease. */
static void
s_release_holders (bf_broker_t *self, const char *id, bf_broker_worker_t *except)
{
    for (bf_broker_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        if (w != except && bf_broker_worker_lease (w, id)) {
            bf_broker_worker_command (self, w, "CANCEL", id);
            bf_broker_worker_drop (w, id);
            self->dispatch_needed = true;
        }
    json_object_del (self->orphans, id);
}

/*  Records a job's result; workers still holding it are told to stop.
    BF_OK, or BF_EBUSY when the job had already finished. */
int
bf_broker_finish (bf_broker_t *self, const char *id, const bf_result_t *res, const char *reason,
                  bf_broker_worker_t *from)
{
    int followers = 0;
    int rc = bf_jobs_finish (self->jobs, id, res, reason, &followers);
    if (rc != BF_OK)
        return rc;
    const char *state = bf_job_state_name (res->state);
    bf_info ("job %s %s%s%s%s", id, state, from ? " on worker '" : "", from ? from->name : "",
             from ? "'" : "");
    if (followers > 0) {
        bf_info ("job %s: %d coalesced job(s) %s", id, followers,
                 strcmp (state, "succeeded") == 0 || strcmp (state, "failed") == 0
                 ? "finished with it" : "now led by the oldest of them");
        self->dispatch_needed = true;
    }
    s_release_holders (self, id, from);
    /* The result's log is in the cache now: the live copy goes. */
    if (res->log)
        bf_broker_drop_live_log (self, id);
    self->after_needed = true;
    /* What the job pinned may be evicted now (followers' pins go with the
       next bf_broker_unpin_finished). */
    bf_cache_unpin (self->cache, id);
    /* Its waits learn of it now; a coalesced job's too (any job: the
       followers' ids are not at hand). */
    bf_broker_waits_wake (self, followers > 0 ? NULL : id);
    return BF_OK;
}

/*  An attempt of a job failed for a reason outside the design: retry it
    after a back-off, or fail it once its attempts are used up. */
void
bf_broker_attempt_failed (bf_broker_t *self, const char *id, const char *reason)
{
    bf_job_t *job = NULL;
    if (bf_jobs_get (self->jobs, &job, id, false) != BF_OK)
        return;
    int64_t attempt = job->attempt;
    bf_job_free (job);
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
    bf_broker_waits_wake (self, id);
}

/*  Build slots left: program jobs do not take one (a board takes one job
    at a time on its own). */
static int
s_free_slots (bf_broker_worker_t *w)
{
    if (w->draining)
        return 0;
    int builds = 0;
    for (size_t i = 0; i < w->nleases; i++)
        builds += w->leases[i].kind == BF_LEASE_BUILD;
    return w->slots - builds;
}

/*  True when a job object (bf_jobs_get) is a program job. */
bool
bf_broker_is_program (const bf_job_t *job)
{
    return job->kind == BF_KIND_PROGRAM;
}

int
bf_broker_job_manifest (bf_manifest_t *out, const bf_job_t *job)
{
    if (bf_broker_is_program (job)) {
        bf_manifest_init (out);
        return bf_error_set (BF_EINVAL, "job %s is a program job: it has no manifest", job->id);
    }
    return bf_manifest_decode (out, job->manifest);
}

/*  The connected worker that owns the board, or NULL. */
bf_broker_worker_t *
bf_broker_board_owner (bf_broker_t *self, const char *board)
{
    for (bf_broker_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        if (bf_broker_worker_has_board (w, board))
            return w;
    return NULL;
}

/*  Why a program job cannot run on its board now (a new string), or NULL
    when it can; *owner_out gets the board's worker. */
static char *
s_board_blocked (bf_broker_t *self, const bf_job_t *job, bf_broker_worker_t **owner_out)
{
    const char *name = job->board;
    const char *id = job->id;
    *owner_out = NULL;
    bf_board_row_t b;
    if (bf_boards_get (self->boards, &b, name) != BF_OK)
        return xasprintf ("board '%s', which no worker has declared", name);
    char *why = NULL;
    char busy[BF_JOB_ID_LEN + 1], tok[BF_SHA256_HEX_LEN + 1];
    bf_broker_worker_t *w = bf_broker_board_owner (self, name);
    if (b.health != BF_HEALTH_OK)
        why = xasprintf ("board '%s' is in %s (%s); `bitfarm board %s --enable` puts it back",
                         name, bf_health_name (b.health),
                         b.health_reason ? b.health_reason : "no reason given", name);
    else if (!w)
        why = xasprintf ("board '%s': its worker '%s' is not connected", name,
                         b.worker ? b.worker : "?");
    else if (w->draining)
        why = xasprintf ("board '%s': its worker '%s' is draining", name, w->name);
    else if (bf_jobs_board_job (self->jobs, busy, name) == BF_OK && strcmp (busy, id) != 0)
        why = xasprintf ("board '%s' is busy with job %s", name, busy);
    else if (bf_boards_reserved (&b, bf_now_ms ())) {
        const char *mine = bf_jobs_token_hash (self->jobs, tok, id);
        if (!mine || strcmp (mine, b.token_hash) != 0) {
            char when[40];
            bf_time_iso (when, sizeof when, b.reserved_until);
            why = xasprintf ("board '%s' is reserved by %s until %s%s", name,
                             b.reserved_by ? b.reserved_by : "?", when,
                             mine ? " (this job's token is not the holder's)" : "");
        }
    }
    bf_board_row_release (&b);
    *owner_out = w;
    return why;
}

/*  The capable worker (all tags) with the most free slots, or NULL. */
static bf_broker_worker_t *
s_worker_for (bf_broker_t *self, const bf_job_t *job)
{
    bf_broker_worker_t *best = NULL;
    for (bf_broker_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers)) {
        if (s_free_slots (w) <= 0 || !bf_broker_worker_capable (w, job))
            continue;
        if (!best || s_free_slots (w) > s_free_slots (best))
            best = w;
    }
    return best;
}

/*  Why a queued job is not running yet, for `status`; a new string or NULL. */
char *
bf_broker_wait_reason (bf_broker_t *self, const bf_job_t *job)
{
    const char *after = job->after;
    if (after && !job->bitstream)
        return xasprintf ("the bitstream of build job %s", after);
    if (bf_broker_is_program (job)) {
        char retry[40];
        if (job->retry_at)
            return xasprintf ("retry back-off until %s",
                              bf_time_iso (retry, sizeof retry, job->retry_at));
        bf_broker_worker_t *w;
        char *why = s_board_blocked (self, job, &w);
        return why ? why : xstrdup ("its turn: dispatch is under way");
    }
    const char *leader = job->follows;
    if (leader)
        return xasprintf ("the result of job %s, an identical build", leader);
    char retry_at[40];
    if (job->retry_at)
        return xasprintf ("retry back-off until %s",
                          bf_time_iso (retry_at, sizeof retry_at, job->retry_at));
    if (zhashx_size (self->workers) == 0)
        return xstrdup ("no worker is connected");
    json_t *tags = job->tags;
    int capable = 0, draining = 0, slots = 0;
    for (bf_broker_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        if (bf_broker_worker_capable (w, job)) {
            capable++;
            draining += w->draining;
            slots += w->slots;
        }
    if (capable == 0) {
        const char *pin = job->toolchain;
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

/*  Hands a ready program job to the worker owning its board, when the
    board is free for it.  Returns false when it must wait. */
/*  The attempt row of a dispatch to w: for a build, its toolchain and the
    broker's cache key for it (key); NULL for a program job. */
static bf_attempt_t
s_attempt (const bf_broker_worker_t *w, int64_t attempt, const char *key)
{
    bf_attempt_t a = { .attempt = attempt, .dispatched_at = bf_now_ms () };
    snprintf (a.worker, sizeof a.worker, "%s", w->name);
    snprintf (a.worker_key, sizeof a.worker_key, "%s", w->key);
    if (key) {
        snprintf (a.toolchain, sizeof a.toolchain, "%s", w->toolchain);
        snprintf (a.cache_key, sizeof a.cache_key, "%s", key);
    }
    return a;
}

/*  A simulated board runs the design it is given (docs/regio.md): a
    program job for a virtual board carries "model", the manifest of the
    cache entry that built its bitstream, when the cache has one, so that
    the worker can build the board's simulation model from the sources. */
json_t *
bf_broker_model (bf_broker_t *self, const char *board, const char *bitstream)
{
    bf_board_row_t b;
    char key[BF_SHA256_HEX_LEN + 1];
    json_t *entry = NULL, *model = NULL;
    if (!bitstream || bf_boards_get (self->boards, &b, board) != BF_OK)
        return NULL;
    bool sim = b.is_virtual;
    bf_board_row_release (&b);
    if (sim && bf_cache_key_of_bitstream (self->cache, key, bitstream) == BF_OK
        && bf_cache_get_entry (self->cache, &entry, key, true) == BF_OK
        && json_is_object (json_object_get (entry, "manifest")))
        model = json_pack ("{s:s, s:O}", "key", key, "manifest",
                           json_object_get (entry, "manifest"));
    json_decref (entry);
    bf_error_clear ();
    return model;
}

static void
s_attach_model (bf_broker_t *self, json_t *body, const char *board, const char *bitstream)
{
    json_t *model = bf_broker_model (self, board, bitstream);
    if (model)
        json_object_set_new (body, "model", model);
}

static bool
s_dispatch_program (bf_broker_t *self, const bf_job_t *job)
{
    const char *id = job->id;
    const char *board = job->board;
    bf_broker_worker_t *w = NULL;
    char *why = s_board_blocked (self, job, &w);
    if (why) {
        bf_debug ("job %s waits: %s", id, why);
        free (why);
        return false;
    }
    int64_t timeout_ms = job->timeout_ms;
    int64_t deadline = bf_now_ms () + timeout_ms + self->lease_ms;
    json_int_t attempt = job->attempt + 1;
    bf_attempt_t a = s_attempt (w, attempt, NULL);
    if (bf_jobs_start (self->jobs, id, &a, deadline) != BF_OK)
        return true;
    bf_broker_waits_wake (self, id);
    char tok[BF_SHA256_HEX_LEN + 1];
    if (bf_jobs_token_hash (self->jobs, tok, id))
        bf_boards_renew (self->boards, board, tok, bf_now_ms ());
    bf_broker_worker_take (w, id, BF_LEASE_PROGRAM, attempt);
    json_t *body = json_pack ("{s:s, s:s, s:I, s:s, s:s?, s:I, s:I}", "job", id, "kind",
                              "program", "attempt", attempt, "board", board, "bitstream",
                              job->bitstream, "size",
                              (json_int_t) job->bitstream_size, "timeout_ms",
                              (json_int_t) timeout_ms);
    s_attach_model (self, body, board, job->bitstream);
    zmsg_t *msg = bf_msg_encode (BF_PROTO_WORKER, "JOB", body, NULL);
    bf_broker_send (self, w->rid_frame, &msg);
    json_decref (body);
    bf_info ("job %s: program board '%s' on worker '%s' (attempt %lld)", id, board, w->name,
             (long long) attempt);
    return true;
}

/*  Hands one ready job to a capable worker.  Returns false when the job
    had to stay queued for want of a worker. */
bool
bf_broker_dispatch_one (bf_broker_t *self, const char *id)
{
    bf_job_t *job = NULL;
    if (bf_jobs_get (self->jobs, &job, id, true) != BF_OK)
        return true;
    if (bf_broker_is_program (job)) {
        bool r = s_dispatch_program (self, job);
        bf_job_free (job);
        return r;
    }
    /* Single flight: an identical build already running is followed. */
    char leader[BF_JOB_ID_LEN + 1];
    if (bf_jobs_follow (self->jobs, leader, id) == BF_OK) {
        bf_info ("job %s follows job %s, an identical build that is running", id, leader);
        bf_job_free (job);
        return true;
    }
    bf_broker_worker_t *w = s_worker_for (self, job);
    if (!w) {
        bf_job_free (job);
        return false;
    }
    json_t *manifest = job->manifest;   /* sent as stored */
    char key[BF_SHA256_HEX_LEN + 1];
    bf_manifest_t m;
    int krc = bf_broker_job_manifest (&m, job);
    if (krc == BF_OK)
        krc = bf_key_compute_salted (key, &m, w->toolchain, self->cfg.cache_salt);
    bf_manifest_release (&m);
    if (krc != BF_OK) {
        bf_job_free (job);
        return true;
    }
    /* The result may have been cached since the job was queued. */
    json_t *entry = NULL;
    if (bf_cache_get_entry (self->cache, &entry, key, false) == BF_OK) {
        bf_cache_count (self->cache, key, w->toolchain, true);
        s_finish_from_entry (self, id, entry);
        json_decref (entry);
        bf_job_free (job);
        return true;
    }
    int64_t timeout_ms = job->timeout_ms;
    int64_t deadline = bf_now_ms () + timeout_ms + self->lease_ms;
    json_int_t attempt = job->attempt + 1;
    bf_attempt_t a = s_attempt (w, attempt, key);
    if (bf_jobs_start (self->jobs, id, &a, deadline) != BF_OK) {
        bf_job_free (job);
        return true;
    }
    bf_broker_waits_wake (self, id);
    bf_broker_worker_take (w, id, BF_LEASE_BUILD, attempt);
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
    bf_broker_send (self, w->rid_frame, &msg);
    bf_info ("job %s dispatched to worker '%s' (attempt %lld)", id, w->name,
             (long long) attempt);
    json_decref (body);
    bf_job_free (job);
    return true;
}

/*  Build slots free across the farm. */
static int
s_farm_free_slots (bf_broker_t *self)
{
    int n = 0;
    for (bf_broker_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        if (s_free_slots (w) > 0)
            n += s_free_slots (w);
    return n;
}

/*  Can a worker with a free slot build jobs of this requirement class
    ({"tags", "toolchain"} of bf_jobs_ready_classes)? */
static bool
s_class_runnable (bf_broker_t *self, json_t *cls)
{
    bf_job_t probe;
    bf_job_init (&probe);
    probe.tags = json_object_get (cls, "tags");         /* borrowed: never released */
    probe.toolchain = (char *) json_string_value (json_object_get (cls, "toolchain"));
    for (bf_broker_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers))
        if (s_free_slots (w) > 0 && bf_broker_worker_capable (w, &probe))
            return true;
    return false;
}

/*  Removes a class text from the array of runnable ones. */
static void
s_drop_class (json_t *runnable, const char *cls)
{
    for (size_t i = 0; i < json_array_size (runnable); i++)
        if (strcmp (json_string_value (json_array_get (runnable, i)), cls) == 0) {
            json_array_remove (runnable, i);
            return;
        }
}

/*  Program jobs: each goes to the worker owning its board when the board
    is free for it.  A blocked job is asked about once per round for its
    gate (board and token); a board that took a job is busy for the rest. */
static void
s_dispatch_programs (bf_broker_t *self, int64_t now)
{
    json_t *ready = bf_jobs_ready_programs (self->jobs, now);
    json_t *done = json_object ();   /* gate -> true: no more this round */
    size_t i;
    json_t *r;
    json_array_foreach (ready, i, r) {
        const char *gate = json_string_value (json_object_get (r, "gate"));
        if (json_object_get (done, gate))
            continue;
        bf_broker_dispatch_one (self, json_string_value (json_object_get (r, "id")));
        json_object_set_new (done, gate, json_true ());
    }
    json_decref (done);
    json_decref (ready);
}

/*  Builds, in fair order (bf_jobs_ready_fair), only of the requirement
    classes some worker with a free slot can take: jobs no worker can take
    (an unknown tag, a pin nobody has) are never looked at, so however
    many there are they hold back nothing.  A class whose capable workers
    fill up during the round is dropped from it. */
static void
s_dispatch_builds (bf_broker_t *self, int64_t now)
{
    if (s_farm_free_slots (self) == 0)
        return;
    json_t *classes = bf_jobs_ready_classes (self->jobs, now);
    json_t *runnable = json_array ();
    size_t i;
    json_t *c;
    json_array_foreach (classes, i, c)
        if (s_class_runnable (self, c))
            json_array_append (runnable, json_object_get (c, "class"));
    json_decref (classes);
    json_t *tried = json_object ();
    int page = 0;
    for (; page < BF_BROKER_DISPATCH_PAGES && json_array_size (runnable) > 0
           && s_farm_free_slots (self) > 0; page++) {
        json_t *batch = bf_jobs_ready_fair (self->jobs, now, runnable, BF_BROKER_DISPATCH_BATCH);
        bool progress = false;
        json_t *r;
        json_array_foreach (batch, i, r) {
            const char *id = json_string_value (json_object_get (r, "id"));
            const char *cls = json_string_value (json_object_get (r, "class"));
            bool live = false;
            for (size_t k = 0; k < json_array_size (runnable) && !live; k++)
                live = strcmp (json_string_value (json_array_get (runnable, k)), cls) == 0;
            if (!live || json_object_get (tried, id))
                continue;
            json_object_set_new (tried, id, json_true ());
            progress = true;
            if (!bf_broker_dispatch_one (self, id))
                s_drop_class (runnable, cls);   /* its workers are full now */
            if (s_farm_free_slots (self) == 0)
                break;
        }
        json_decref (batch);
        if (!progress)
            break;
    }
    if (page == BF_BROKER_DISPATCH_PAGES)
        self->dispatch_needed = true;   /* more next round */
    json_decref (tried);
    json_decref (runnable);
}

/*  Hands ready jobs to capable workers with free slots (docs/protocol.md
    6.3): program jobs to their boards, builds in fair order. */
void
bf_broker_dispatch (bf_broker_t *self)
{
    self->dispatch_needed = false;
    int64_t now = bf_now_ms ();
    self->next_ready = bf_jobs_next_ready (self->jobs, now);
    s_dispatch_programs (self, now);
    s_dispatch_builds (self, now);
}

static void
s_finish_from_entry (bf_broker_t *self, const char *id, json_t *entry)
{
    bool ok = strcmp (json_string_value (json_object_get (entry, "outcome")), "succeeded") == 0;
    bf_result_t res = {
        .state = ok ? BF_JOB_SUCCEEDED : BF_JOB_FAILED,
        .failure = ok ? BF_FAILURE_NONE : BF_FAILURE_DESIGN,
        .stage = ok ? "done" : json_string_value (json_object_get (entry, "stage")),
        .error = json_string_value (json_object_get (entry, "error")),
        .bitstream = json_string_value (json_object_get (entry, "bitstream")),
        .report = json_string_value (json_object_get (entry, "report")),
        .log = json_string_value (json_object_get (entry, "log")),
        .cache_hit = true,
    };
    bf_broker_finish (self, id, &res, "cache hit", NULL);
    bf_jobs_set_saved (self->jobs, id, json_integer_value (json_object_get (entry, "build_ms")));
}

/*  Program jobs whose build finished: they get its bitstream (pinned for
    them) and become ready, or fail when the build did not succeed. */
void
bf_broker_release_after (bf_broker_t *self)
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
            bf_job_state_t bstate = BF_JOB_FAILED;
            bf_job_state_parse (&bstate, state);
            bf_result_t res = { .state = BF_JOB_FAILED, .stage = "build", .error = error,
                                .failure = bstate == BF_JOB_CANCELLED ? BF_FAILURE_CANCELLED
                                           : bstate == BF_JOB_TIMED_OUT ? BF_FAILURE_TIMEOUT
                                                                        : BF_FAILURE_DESIGN };
            bf_broker_finish (self, id, &res, error, NULL);
            free (error);
        }
        free (data);
        json_decref (pins);
    }
    json_decref (done);
}
