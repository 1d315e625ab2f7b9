/*  bf_broker_wcmd - the worker commands RESULT, LOG and WANT: results
    accepted, stored and acknowledged, live logs, and the inputs a worker
    asks for.  See docs/protocol.md section 6.
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

/*  Finishes job id with the result fields a RESULT gave (res: "stage",
    "error", "bitstream", "report", "log"). */
static void
s_finish (bf_broker_t *self, const char *id, json_t *res, bf_job_state_t state,
          bf_failure_t failure, const char *reason, bf_broker_worker_t *w)
{
    bf_result_t r = { .state = state, .failure = failure,
                      .stage = json_string_value (json_object_get (res, "stage")),
                      .error = json_string_value (json_object_get (res, "error")),
                      .bitstream = json_string_value (json_object_get (res, "bitstream")),
                      .report = json_string_value (json_object_get (res, "report")),
                      .log = json_string_value (json_object_get (res, "log")) };
    bf_broker_finish (self, id, &r, reason, w);
}

/*  A program job's RESULT: the log is kept in the cache, the board's
    failure count moves, and the job succeeds, fails for good (bitstream or
    device), or is retried (infrastructure). */
static void
s_program_result (bf_broker_t *self, bf_broker_worker_t *w, const bf_job_t *job, bf_msg_t *msg,
                  const char *outcome, const char *cls, const char *error)
{
    const char *id = job->id;
    const char *board = job->board;
    const char *holder = job->worker;
    if (job->state != BF_JOB_RUNNING || !holder || strcmp (holder, w->name) != 0) {
        bf_info ("job %s: stale program result from worker '%s' ignored", id, w->name);
        return;
    }
    json_t *res = json_pack ("{s:s, s:s?}", "stage", "program", "bitstream", job->bitstream);
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
        if (ok)
            json_object_set_new (res, "stage", json_string ("done"));
        else
            json_object_set_new (res, "error", json_string (error ? error : "load failed"));
        s_finish (self, id, res, ok ? BF_JOB_SUCCEEDED : BF_JOB_FAILED,
                  ok ? BF_FAILURE_NONE : BF_FAILURE_BITSTREAM, error, w);
    }
    else {
        char *reason = xasprintf ("infrastructure failure on board '%s': %s", board,
                                  error ? error : outcome);
        bf_broker_attempt_failed (self, id, reason);
        free (reason);
    }
    json_decref (res);
    self->dispatch_needed = true;
}

/*  Which attempt of a job a RESULT counts for (docs/protocol.md 6.2): one
    the broker dispatched to this worker (its name and key), and the key
    the broker computed for that attempt's toolchain into key and
    toolchain (65 bytes each).  *current says whether it is the running
    attempt, on its lease.  False, with a reason logged, when the result
    counts for nothing: the job was never dispatched to this worker as
    that attempt. */
static bool
s_result_attempt (bf_broker_t *self, bf_broker_worker_t *w, const bf_job_t *job,
                  int64_t attempt, bool leased, char *key, char *toolchain, bool *current)
{
    *current = leased && job->state == BF_JOB_RUNNING && attempt == job->attempt
               && job->worker && strcmp (job->worker, w->name) == 0;
    bf_attempt_t a;
    if (bf_jobs_attempt_get (self->jobs, &a, job->id, attempt) == BF_OK) {
        if (strcmp (a.worker, w->name) != 0 || strcmp (a.worker_key, w->key) != 0) {
            bf_warn ("job %s: RESULT for attempt %lld from worker '%s' refused: that attempt "
                     "went to worker '%s'", job->id, (long long) attempt, w->name, a.worker);
            return false;
        }
        snprintf (key, BF_SHA256_HEX_LEN + 1, "%s", a.cache_key);
        snprintf (toolchain, BF_SHA256_HEX_LEN + 1, "%s", a.toolchain);
        return true;
    }
    /* Dispatched before schema version 6 (no attempt row): only the
       running attempt's holder, under the key stored at dispatch. */
    if (*current && (bf_broker_is_program (job) || job->cache_key)) {
        snprintf (key, BF_SHA256_HEX_LEN + 1, "%s", job->cache_key ? job->cache_key : "");
        snprintf (toolchain, BF_SHA256_HEX_LEN + 1, "%s", w->toolchain);
        return true;
    }
    bf_warn ("job %s: RESULT for attempt %lld from worker '%s' refused: that attempt was "
             "never dispatched to it", job->id, (long long) attempt, w->name);
    return false;
}

void
bf_broker_worker_result (bf_broker_t *self, bf_broker_worker_t *w, bf_msg_t *msg)
{
    const char *id, *outcome, *sent_key = "", *cls = NULL, *stage = NULL, *error = NULL;
    int64_t attempt = 0;
    if (bf_body_str (&id, msg->body, "job", BF_JOB_ID_LEN, true) != BF_OK) {
        bf_warn ("bad RESULT from worker '%s': %s", w->name, bf_error_last ());
        return;
    }
    bf_broker_lease_t *lease = bf_broker_worker_lease (w, id);
    bool leased = lease != NULL;
    bf_broker_worker_drop (w, id);
    self->dispatch_needed = true;
    bf_broker_cap_result_log (self, msg);   /* never trust the worker's log size */
    bf_job_t *job = NULL;
    json_t *res = NULL;
    bool program = json_is_string (json_object_get (msg->body, "board"));
    if (bf_body_int (&attempt, msg->body, "attempt", 1, INT32_MAX, true) != BF_OK) {
        bf_warn ("bad RESULT for job %s from worker '%s': %s", id, w->name, bf_error_last ());
        goto ack;
    }
    if (bf_body_str (&outcome, msg->body, "outcome", 16, true) != BF_OK
        || (!program
            && bf_body_str (&sent_key, msg->body, "cache_key", BF_SHA256_HEX_LEN, true) != BF_OK)
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
    char key[BF_SHA256_HEX_LEN + 1], toolchain[BF_SHA256_HEX_LEN + 1];
    bool current;
    if (!s_result_attempt (self, w, job, attempt, leased, key, toolchain, &current))
        goto ack;
    if (bf_job_state_final (job->state)) {
        bf_info ("job %s: late result from worker '%s' discarded (already %s)", id, w->name,
                 bf_job_state_name (job->state));
        goto ack;
    }
    if (bf_broker_is_program (job)) {
        if (current)
            s_program_result (self, w, job, msg, outcome, cls, error);
        else
            bf_info ("job %s: stale program result from worker '%s' ignored", id, w->name);
        goto ack;
    }
    if (sent_key[0] && strcmp (sent_key, key) != 0)
        bf_warn ("job %s: worker '%s' named cache key %.12s; the broker's is %.12s, and the "
                 "result goes there", id, w->name, sent_key, key);
    res = json_pack ("{s:s}", "stage", stage ? stage : "done");
    /* Objects, then the entry naming them, under the cache's shared lock,
       so no eviction or gc runs in between. */
    bf_cache_hold (self->cache);
    bf_manifest_t m;
    if (bf_broker_job_manifest (&m, job) != BF_OK && strcmp (outcome, "lost") != 0) {
        bf_warn ("job %s: stored manifest unreadable: %s", id, bf_error_last ());
        outcome = "lost";
        error = "the job's stored manifest does not decode";
    }
    if (strcmp (outcome, "lost") != 0) {
        const void *bd[3];
        size_t bl[3], nb = bf_blobs_view (msg->blobs, 3, bd, bl);
        if (bf_cache_put_result_objects (self->cache, &m, msg->body, nb, bd, bl) != BF_OK) {
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
        /* what a hit of this entry saves: the build, dispatch to result */
        int64_t build_ms = job->started_at > 0 ? bf_now_ms () - job->started_at : 0;
        json_object_set_new (res, "build_ms", json_integer (build_ms > 0 ? build_ms : 0));
        if (bf_cache_put_result_entry (self->cache, key, &m, toolchain, ok, res)
            != BF_OK)
            bf_warn ("job %s: cannot cache result: %s", id, bf_error_last ());
        s_finish (self, id, res, ok ? BF_JOB_SUCCEEDED : BF_JOB_FAILED,
                  ok ? BF_FAILURE_NONE : BF_FAILURE_DESIGN, error, w);
    }
    else if (failed && cls && strcmp (cls, "timeout") == 0) {
        json_object_set_new (res, "error", json_string (error ? error : "time limit reached"));
        s_finish (self, id, res, BF_JOB_TIMED_OUT, BF_FAILURE_TIMEOUT, NULL, w);
    }
    else {
        /* Infrastructure trouble (or a worker's own cancel, or a rejected
           job): this attempt failed.  Only the current holder's word counts. */
        if (current) {
            char *reason = xasprintf ("%s on worker '%s': %s", strcmp (outcome, "rejected") == 0
                                      ? "rejected" : "infrastructure failure", w->name,
                                      error ? error : outcome);
            bf_broker_attempt_failed (self, id, reason);
            free (reason);
        }
        else
            bf_info ("job %s: stale failure from worker '%s' ignored (%s)", id, w->name,
                     error ? error : outcome);
    }
    bf_cache_release (self->cache);
    bf_manifest_release (&m);
    bf_janitor_poke (self->janitor);
ack:
    /* The worker keeps a result until it hears this, and sends it again
       after a reconnect otherwise. */
    bf_broker_worker_command (self, w, "ACK", id);
    json_decref (res);
    bf_job_free (job);
}

void
bf_broker_worker_log (bf_broker_t *self, bf_broker_worker_t *w, bf_msg_t *msg)
{
    const char *id;
    if (bf_body_str (&id, msg->body, "job", BF_JOB_ID_LEN, true) != BF_OK
        || !bf_broker_worker_lease (w, id))
        return;
    const char *stage;
    if (bf_body_str (&stage, msg->body, "stage", 32, false) == BF_OK
        && bf_jobs_stage (self->jobs, id, stage) == BF_OK)
        bf_broker_waits_wake (self, id);
    zframe_t *f;
    if (zmsg_size (msg->blobs) == 0)
        return;
    /* The live log is capped here too, whatever the worker says. */
    char *path = bf_broker_log_path (self, id);
    int fd = open (path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    free (path);
    while ((f = zmsg_pop (msg->blobs))) {
        if (fd >= 0)
            bf_log_append_capped (fd, zframe_data (f), zframe_size (f), self->cfg.job_log_max);
        zframe_destroy (&f);
    }
    if (fd >= 0)
        close (fd);
}

void
bf_broker_cap_result_log (bf_broker_t *self, bf_msg_t *msg)
{
    json_t *body = msg->body;
    if (!json_is_string (json_object_get (body, "log")))
        return;
    /* A build's log blob comes after those of the objects named before it;
       a program job's RESULT carries the log alone (6.2, 9). */
    size_t index = json_is_string (json_object_get (body, "board")) ? 0
                   : (size_t) json_is_string (json_object_get (body, "bitstream"))
                     + (size_t) json_is_string (json_object_get (body, "report"));
    if (index >= zmsg_size (msg->blobs))
        return;
    zframe_t *f = zmsg_first (msg->blobs);
    for (size_t i = 0; i < index; i++)
        f = zmsg_next (msg->blobs);
    if (zframe_size (f) <= self->cfg.job_log_max + BF_LOG_MARKER_MAX)
        return;
    size_t max = (size_t) self->cfg.job_log_max;
    char marker[BF_LOG_MARKER_MAX];
    size_t mlen = bf_log_marker (marker, max);
    size_t len = max + mlen;
    char *data = xmalloc (len);
    memcpy (data, zframe_data (f), max);
    memcpy (data + max, marker, mlen);
    char digest[BF_SHA256_HEX_LEN + 1];
    bf_sha256_hex (digest, data, len);
    bf_info ("job %s: the log of %zu bytes from the worker is cut to the cap of %llu bytes",
             json_string_value (json_object_get (body, "job")), zframe_size (f),
             (unsigned long long) self->cfg.job_log_max);
    zframe_reset (f, data, len);
    free (data);
    json_object_set_new (body, "log", json_string (digest));
}

/*  WANT {"job", "digests"}: inputs of a job that the worker's local cache
    lacks.  Answered with INPUTS {"job", "digests"} and one blob per digest.
    Only inputs of a job this worker holds are served.  An input the
    broker no longer has intact fails the job: the client must upload it
    again, which a new submit does. */
/*  The most bytes of blobs one INPUTS message carries: the message limit
    less room for its body. */
#define S_INPUTS_MAX (BF_MSG_MAX - BF_BODY_MAX)

/*  Collects digest -> declared size over a manifest's inputs. */
static int
s_declared_size (void *arg, const bf_manifest_file_t *file)
{
    json_object_set_new (arg, file->sha256, json_integer ((json_int_t) file->size));
    return BF_OK;
}

void
bf_broker_worker_want (bf_broker_t *self, bf_broker_worker_t *w, bf_msg_t *msg)
{
    const char *id;
    json_t *digests = json_object_get (msg->body, "digests");
    if (bf_body_str (&id, msg->body, "job", BF_JOB_ID_LEN, true) != BF_OK
        || !json_is_array (digests) || json_array_size (digests) > BF_MAX_FILES) {
        bf_warn ("bad WANT from worker '%s': %s", w->name,
                 json_is_array (digests) ? "too many digests" : bf_error_last ());
        return;
    }
    if (!bf_broker_worker_lease (w, id)) {
        bf_warn ("WANT from worker '%s' for job %s, which it does not hold, ignored", w->name,
                 id);
        return;
    }
    bf_job_t *job = NULL;
    if (bf_jobs_get (self->jobs, &job, id, true) != BF_OK)
        return;
    bf_manifest_t m;
    bool program = bf_broker_is_program (job);
    bool decoded = bf_broker_job_manifest (&m, job) == BF_OK;
    json_t *inputs = program ? json_pack ("[s?]", job->bitstream)
                     : decoded ? bf_manifest_input_digests (&m)
                     : json_array ();   /* unreadable: no input it may have */
    json_t *sizes = json_object ();
    if (!program && decoded)
        bf_manifest_each_input (&m, s_declared_size, sizes);
    bf_manifest_release (&m);
    /* A simulated board's load: the inputs of the design that built it too. */
    json_t *model = program ? bf_broker_model (self, job->board, job->bitstream) : NULL;
    bf_manifest_t mm;
    if (model && bf_manifest_decode (&mm, json_object_get (model, "manifest")) == BF_OK) {
        json_t *more = bf_manifest_input_digests (&mm);
        json_array_extend (inputs, more);
        json_decref (more);
        bf_manifest_each_input (&mm, s_declared_size, sizes);
        bf_manifest_release (&mm);
    }
    bf_error_clear ();
    json_decref (model);
    bf_job_free (job);
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
        int64_t stored = known ? bf_cache_object_size (self->cache, d) : -1;
        json_t *declared = json_object_get (sizes, d ? d : "");
        if (!known)
            error = xasprintf ("worker asked for %.70s, which is not an input of the job",
                               d ? d : "a non-string");
        /* Sizes before bytes: the message to the worker stays bounded. */
        else if (stored >= 0 && declared && json_integer_value (declared) != stored)
            error = xasprintf ("input %.12s holds %lld bytes, but the job's manifest declares "
                               "%lld; submit again with the right size", d, (long long) stored,
                               (long long) json_integer_value (declared));
        else if (stored > (int64_t) BF_MAX_FILE_SIZE
                 || bytes + (uint64_t) (stored > 0 ? stored : 0) > S_INPUTS_MAX)
            error = xasprintf ("the inputs of the job pass the %u bytes one INPUTS message may "
                               "carry", (unsigned) S_INPUTS_MAX);
        else if (bf_cache_get_object (self->cache, &data, &len, d) != BF_OK)
            error = xasprintf ("input %.12s is no longer intact in the broker's cache (%s); "
                               "submit again to upload it", d, bf_error_last ());
        if (!error && len + bytes > S_INPUTS_MAX)   /* it changed under us */
            error = xasprintf ("the inputs of the job pass the %u bytes one INPUTS message may "
                               "carry", (unsigned) S_INPUTS_MAX);
        if (error) {
            free (data);
            break;
        }
        zmsg_addmem (blobs, data, len);
        bytes += len;
        free (data);
    }
    json_decref (inputs);
    json_decref (sizes);
    if (error) {
        bf_warn ("job %s: %s", id, error);
        bf_result_t res = { .state = BF_JOB_FAILED, .failure = BF_FAILURE_INFRASTRUCTURE,
                            .error = error };
        bf_broker_finish (self, id, &res, error, NULL);
        zmsg_destroy (&blobs);
        free (error);
        return;
    }
    bf_info ("job %s: sending %zu input(s), %llu bytes, to worker '%s'", id,
             json_array_size (digests), (unsigned long long) bytes, w->name);
    json_t *body = json_pack ("{s:s, s:O}", "job", id, "digests", digests);
    bf_broker_reply (self, w->rid_frame, BF_PROTO_WORKER, "INPUTS", body, &blobs);
    json_decref (body);
}
