/*  bf_worker_job - a job's life in the worker: JOB (answered from the L1
    cache when it holds the key), WANT and INPUTS for what L1 lacks, the
    job directory, the job's thread and its messages, results stored in L1
    and kept until the broker's ACK, CANCEL, and the board queue of program
    jobs (see bf_worker_int.h).  Runs in the worker's main thread. */
#include "bf_worker_int.h"
#include "../cache/bf_key.h"
#include "../common/bf_config.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_manifest.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    bf_worker_t *self;
    const char *src_dir;
} s_stage_ctx_t;

static void s_start_job (bf_worker_t *self, bf_worker__job_t *job);

/*  The last error with every "DIR/" in it removed: the worker's own paths
    go into no error that a client sees, only paths of the design. */
static int
s_error_without (int rc, const char *dir)
{
    char *msg = xstrdup (bf_error_last ());
    char *prefix = xasprintf ("%s/", dir);
    size_t n = strlen (prefix);
    for (char *p; (p = strstr (msg, prefix));)
        memmove (p, p + n, strlen (p + n) + 1);
    for (char *p; (p = strstr (msg, dir));)   /* the directory itself */
        memmove (p, p + strlen (dir) - 1, strlen (p + strlen (dir) - 1) + 1), *p = '.';
    rc = bf_error_set (rc, "%s", msg);
    free (prefix);
    free (msg);
    return rc;
}

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
            rc = bf_file_write_scratch (full, data, len, 0644);   /* goes with the job */
        free (copy);
        free (full);
        if (rc != BF_OK)
            rc = s_error_without (rc, ctx->src_dir);
    }
    free (data);
    return rc;
}

/*  s_write_input for one of the manifest's inputs (bf_manifest_each_input). */
static int
s_write_file (void *arg, const bf_manifest_file_t *file)
{
    return s_write_input (arg, file->path, file->sha256, file->size);
}

/*  RESULT "rejected" for attempt `attempt` of job id: the worker cannot
    take it (docs/protocol.md 6.2). */
static void
s_reject (bf_worker_t *self, const char *id, int64_t attempt, const char *why)
{
    bf_warn ("job %s rejected: %s", id, why);
    json_t *body = json_pack ("{s:s, s:I, s:s, s:s, s:s}", "job", id, "attempt",
                              (json_int_t) attempt, "outcome", "rejected", "cache_key", "",
                              "error", why);
    bf_worker__send (self, "RESULT", body, NULL);
    json_decref (body);
}

static bf_worker__job_t *
s_find_job (bf_worker_t *self, const char *id)
{
    for (bf_worker__job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        if (strcmp (j->id, id) == 0)
            return j;
    return NULL;
}

/*  The job other than `except` whose load is running on the board, or NULL. */
static bf_worker__job_t *
s_board_busy (bf_worker_t *self, const bf_board_t *board, const bf_worker__job_t *except)
{
    for (bf_worker__job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        if (j != except && j->board == board && j->actor)
            return j;
    return NULL;
}

bool
bf_worker__board_loading (bf_worker_t *self, const bf_board_t *board, char *job)
{
    bf_worker__job_t *j = s_board_busy (self, board, NULL);
    if (j && job)
        snprintf (job, 40, "%s", j->id);
    return j != NULL;
}

/*  The board's next program job, if one waits for it, starts. */
static void
s_board_next (bf_worker_t *self, const bf_board_t *board)
{
    if (s_board_busy (self, board, NULL) || bf_worker__regio_busy (self, board))
        return;
    for (bf_worker__job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        if (j->board == board && j->board_wait) {
            j->board_wait = false;
            bf_info ("job %s: board '%s' is free now", j->id, board->name);
            s_start_job (self, j);
            return;
        }
}

static void
s_job_free (bf_worker_t *self, bf_worker__job_t *job)
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
    bf_manifest_release (&job->manifest);
    json_decref (job->inputs);
    void *handle = zlistx_find (self->jobs, job);
    if (handle)
        zlistx_delete (self->jobs, handle);
    free (job);
    if (board && !zsys_interrupted) {
        s_board_next (self, board);
        bf_worker__regio_next (self, board);
    }
}

void
bf_worker__board_next (bf_worker_t *self, const bf_board_t *board)
{
    s_board_next (self, board);
}

/*  Queues a RESULT for the broker: kept until its ACK, sent again after a
    reconnect.  Takes over *msg_p (the blobs). */
static void
s_post_result (bf_worker_t *self, const bf_worker__job_t *job, json_t *body, zmsg_t **blobs_p)
{
    bf_worker__pending_t *p = xcalloc (1, sizeof *p);
    snprintf (p->id, sizeof p->id, "%s", job->id);
    p->attempt = job->attempt;
    /* The attempt the broker dispatched: a result counts only for it. */
    json_object_set_new (body, "attempt", json_integer ((json_int_t) job->attempt));
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
s_l1_hit (bf_worker_t *self, bf_worker__job_t *job)
{
    /* A peek: each object is read and verified once, below, as it is
       attached; a corrupt one is quarantined and makes this a miss. */
    bf_cache_entry_t entry;
    if (bf_cache_lookup (self->l1, &entry, job->l1_key, true) != BF_OK)
        return false;
    bool ok = entry.outcome == BF_CACHE_SUCCEEDED;
    json_t *body = json_pack ("{s:s, s:s, s:s, s:s, s:s}", "job", job->id, "cache_key",
                              job->cache_key, "outcome", bf_cache_outcome_name (entry.outcome),
                              "stage", ok ? "done" : entry.stage ? entry.stage : "", "l1", "hit");
    if (!ok) {
        json_object_set_new (body, "failure_class", json_string ("design"));
        if (entry.error)
            json_object_set_new (body, "error", json_string (entry.error));
    }
    zmsg_t *blobs = zmsg_new ();
    bool complete = true;
    for (int i = 0; i < BF_CACHE_ENTRY_OBJECTS && complete; i++) {
        const char *d = *bf_cache_entry_object (&entry, i);
        char *data = NULL;
        size_t len = 0;
        if (!d)
            continue;
        if (bf_cache_get_object (self->l1, &data, &len, d) != BF_OK)
            complete = false;
        else {
            json_object_set_new (body, bf_cache_entry_object_names[i], json_string (d));
            zmsg_addmem (blobs, data, len);
        }
        free (data);
    }
    if (complete) {
        bf_cache_count (self->l1, job->l1_key, self->tc.id, true);
        bf_info ("job %s %s (local cache hit: no tool run, nothing downloaded)", job->id,
                 ok ? "succeeded" : "failed");
        s_post_result (self, job, body, &blobs);
    }
    zmsg_destroy (&blobs);
    json_decref (body);
    bf_cache_entry_release (&entry);
    return complete;
}

/*  Writes the inputs from L1 into a fresh job directory and starts the
    build thread.  On failure the job is rejected (the broker retries it)
    and freed. */
static void
s_start_job (bf_worker_t *self, bf_worker__job_t *job)
{
    bf_worker__job_t *busy = job->board ? s_board_busy (self, job->board, job) : NULL;
    if (busy) {
        bf_info ("job %s waits: board '%s' is busy with job %s", job->id, job->board->name,
                 busy->id);
        job->board_wait = true;
        return;
    }
    if (job->board && bf_worker__regio_busy (self, job->board)) {
        bf_info ("job %s waits: board '%s' is answering a register request", job->id,
                 job->board->name);
        job->board_wait = true;
        return;
    }
    char rnd[9];
    bf_random_hex (rnd, 4);
    job->job_dir = xasprintf ("%s/jobs/%s-%s", self->work_dir, job->id, rnd);
    job->sandbox = &self->sandbox;
    job->toolchain = &self->tc;
    job->work_dir = self->work_dir;
    job->log_max = self->cfg.job_log_max ? self->cfg.job_log_max
                                         : (uint64_t) BF_JOB_LOG_MAX_DEFAULT;
    char *src = xasprintf ("%s/src", job->job_dir);
    int rc = bf_mkdir_p (src, 0755);
    s_stage_ctx_t ctx = { self, job->board ? job->job_dir : src };
    if (rc == BF_OK && job->board)
        rc = s_write_input (&ctx, "bitstream.bin", job->bitstream, job->bitstream_size);
    else if (rc == BF_OK)
        rc = bf_manifest_each_input (&job->manifest, s_write_file, &ctx);
    if (rc == BF_OK && job->has_model) {   /* the model's sources, in src/ */
        char *msrc = xasprintf ("%s/src", job->job_dir);
        ctx.src_dir = msrc;
        rc = bf_manifest_each_input (&job->manifest, s_write_file, &ctx);
        free (msrc);
    }
    free (src);
    if (rc != BF_OK) {
        s_reject (self, job->id, job->attempt, bf_error_last ());
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
    job->actor = zactor_new (job->board ? bf_worker__program_actor : bf_worker__build_actor, job);
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    zpoller_add (self->poller, job->actor);
    if (job->board)
        bf_info ("job %s: programming board '%s' with %.12s (%llu bytes)", job->id,
                 job->board->name, job->bitstream, (unsigned long long) job->bitstream_size);
    else
        bf_info ("job %s started in %s", job->id, job->job_dir);
}

static void
s_send_want (bf_worker_t *self, bf_worker__job_t *job, json_t *missing)
{
    json_t *body = json_pack ("{s:s, s:O}", "job", job->id, "digests", missing);
    bf_worker__send (self, "WANT", body, NULL);
    json_decref (body);
    job->wanting = true;
}

/*  Pins the job's inputs in L1 and starts it, or asks the broker for the
    inputs L1 lacks. */
static void
s_stage_or_want (bf_worker_t *self, bf_worker__job_t *job, bool first)
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
        s_reject (self, job->id, job->attempt, rc == BF_ENOTFOUND ? "inputs missing after INPUTS"
                                                    : bf_error_last ());
        s_job_free (self, job);
    }
    json_decref (missing);
}

static int
s_build_jobs (bf_worker_t *self)
{
    int n = 0;
    for (bf_worker__job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        n += j->board == NULL;
    return n;
}

/*  JOB {"kind": "program", "board", "bitstream", "size", "timeout_ms"}. */
static void
s_on_program_job (bf_worker_t *self, bf_msg_t *msg, const char *id, int64_t attempt)
{
    const char *name, *digest;
    int64_t size = 0, timeout_ms = 0;
    if (bf_body_str (&name, msg->body, "board", BF_BOARD_NAME_MAX, true) != BF_OK
        || bf_body_str (&digest, msg->body, "bitstream", BF_SHA256_HEX_LEN, true) != BF_OK
        || !bf_sha256_is_hex (digest)
        || bf_body_int (&size, msg->body, "size", 1, BF_MAX_FILE_SIZE, true) != BF_OK
        || bf_body_int (&timeout_ms, msg->body, "timeout_ms", 1, INT64_MAX / 4, true) != BF_OK) {
        s_reject (self, id, attempt, bf_error_last ());
        return;
    }
    const bf_board_t *board = NULL;
    for (int i = 0; i < self->nboards; i++)
        if (strcmp (self->boards[i].name, name) == 0)
            board = &self->boards[i];
    if (!board || self->draining || s_find_job (self, id)) {
        char *why = board ? xstrdup (self->draining ? "the worker is draining" : "job already held")
                          : xasprintf ("no board named '%s' on this worker", name);
        s_reject (self, id, attempt, why);
        free (why);
        return;
    }
    bf_worker__job_t *job = xcalloc (1, sizeof *job);
    snprintf (job->id, sizeof job->id, "%s", id);
    job->attempt = attempt;
    job->board = board;
    snprintf (job->bitstream, sizeof job->bitstream, "%s", digest);
    job->bitstream_size = (uint64_t) size;
    job->inputs = json_pack ("[s]", digest);
    job->timeout_ms = timeout_ms;
    /* A simulated board: the manifest that built the bitstream, whose
       inputs the model is built from (bf_simboard.h).  A bad one costs the
       model, never the load. */
    json_t *model = json_object_get (msg->body, "model");
    if (board->is_virtual && json_is_object (model)) {
        const char *mkey = NULL;
        if (bf_body_str (&mkey, model, "key", BF_SHA256_HEX_LEN, true) == BF_OK
            && bf_sha256_is_hex (mkey)
            && bf_manifest_decode (&job->manifest, json_object_get (model, "manifest")) == BF_OK) {
            snprintf (job->model_key, sizeof job->model_key, "%s", mkey);
            job->has_model = true;
            json_t *more = bf_manifest_input_digests (&job->manifest);
            size_t i;
            json_t *d;
            json_array_foreach (more, i, d)
                if (strcmp (json_string_value (d), digest) != 0)
                    json_array_append (job->inputs, d);
            json_decref (more);
        }
        else
            bf_warn ("job %s: model manifest refused: %s", id, bf_error_last ());
    }
    atomic_init (&job->cancel, 0);
    zlistx_add_end (self->jobs, job);
    s_stage_or_want (self, job, true);
}

/*  JOB: a build (or a program job, above), answered from L1 when it
    holds the key; else its inputs are staged or asked for. */
void
bf_worker__on_job (bf_worker_t *self, bf_msg_t *msg)
{
    const char *id, *key, *kind = NULL;
    int64_t timeout_ms = 0, attempt = 0;
    bf_manifest_t m;
    bf_manifest_init (&m);
    if (bf_body_str (&id, msg->body, "job", 32, true) != BF_OK
        || bf_body_int (&attempt, msg->body, "attempt", 1, INT32_MAX, true) != BF_OK) {
        bf_warn ("bad JOB: %s", bf_error_last ());
        return;
    }
    if (bf_body_str (&kind, msg->body, "kind", 16, false) == BF_OK && kind
        && strcmp (kind, "program") == 0) {
        s_on_program_job (self, msg, id, attempt);
        return;
    }
    if (bf_body_str (&key, msg->body, "cache_key", BF_SHA256_HEX_LEN, true) != BF_OK
        || bf_body_int (&timeout_ms, msg->body, "timeout_ms", 1, INT64_MAX / 4, true) != BF_OK
        || bf_manifest_decode (&m, json_object_get (msg->body, "manifest")) != BF_OK) {
        s_reject (self, id, attempt, bf_error_last ());
        return;
    }
    if (self->draining || s_build_jobs (self) >= self->cfg.slots || s_find_job (self, id)) {
        bf_manifest_release (&m);
        s_reject (self, id, attempt, self->draining ? "the worker is draining" : "no free slot");
        return;
    }
    bf_worker__job_t *job = xcalloc (1, sizeof *job);
    snprintf (job->id, sizeof job->id, "%s", id);
    job->attempt = attempt;
    snprintf (job->cache_key, sizeof job->cache_key, "%s", key);
    const char *salt = NULL;
    bf_body_str (&salt, msg->body, "salt", 64, false);
    bf_key_compute_salted (job->l1_key, &m, self->tc.id, salt);
    job->manifest = m;   /* transferred */
    job->inputs = bf_manifest_input_digests (&job->manifest);
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
void
bf_worker__on_inputs (bf_worker_t *self, bf_msg_t *msg)
{
    const char *id;
    bf_worker__job_t *job;
    json_t *digests = json_object_get (msg->body, "digests");
    if (bf_body_str (&id, msg->body, "job", 32, true) != BF_OK || !(job = s_find_job (self, id))
        || !job->wanting) {
        bf_warn ("INPUTS for no job waiting for them ignored");
        return;
    }
    size_t n = json_array_size (digests);
    if (!json_is_array (digests) || n != zmsg_size (msg->blobs)) {
        s_reject (self, id, job->attempt, "INPUTS must carry one blob per digest");
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
        s_reject (self, id, job->attempt, bf_error_last ());
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
s_l1_store (bf_worker_t *self, bf_worker__job_t *job, json_t *body, zmsg_t *blobs)
{
    const char *outcome = json_string_value (json_object_get (body, "outcome"));
    const char *cls = json_string_value (json_object_get (body, "failure_class"));
    bool ok = outcome && strcmp (outcome, "succeeded") == 0;
    if (!ok && !(outcome && strcmp (outcome, "failed") == 0 && cls && strcmp (cls, "design") == 0))
        return;
    /* Objects, then the entry naming them, with no eviction in between. */
    bf_cache_hold (self->l1);
    const void *bd[3];
    size_t bl[3], nb = bf_blobs_view (blobs, 3, bd, bl);
    int rc = bf_cache_put_result_objects (self->l1, &job->manifest, body, nb, bd, bl);
    if (rc == BF_OK)
        rc = bf_cache_put_result_entry (self->l1, job->l1_key, &job->manifest, self->tc.id, ok,
                                        body);
    bf_cache_release (self->l1);
    if (rc != BF_OK)
        bf_warn ("job %s: not stored in the local cache: %s", job->id, bf_error_last ());
    bf_janitor_poke (self->janitor);
}

/*  A virtual board's load succeeded: its simulated board runs the model
    the program thread built, or says why there is none. */
static void
s_sim_loaded (bf_worker_t *self, const bf_worker__job_t *job)
{
    char *dir = job->model_ready ? bf_simboard_model_dir (self->work_dir, job->bitstream,
                                                          job->model_key, self->tc.id) : NULL;
    bf_simboards_loaded (self->sims, job->board->name, dir, job->model_error);
    free (dir);
}

/*  A message from a build thread: relay logs and results to the broker. */
void
bf_worker__on_actor (bf_worker_t *self, bf_worker__job_t *job)
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
        bf_worker__send (self, "LOG", body, &blobs);
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
        const char *outcome = json_string_value (json_object_get (body, "outcome"));
        if (body && job->board && job->board->is_virtual && self->sims && outcome
            && strcmp (outcome, "succeeded") == 0)   /* the simulated board runs it */
            s_sim_loaded (self, job);
        /* Kept until the broker acknowledges it; sent again on reconnect. */
        s_post_result (self, job, body, &msg);
        json_decref (body);
        s_job_free (self, job);
    }
    free (kind);
    zmsg_destroy (&msg);
}

/*  Kills every running build and waits for its thread to finish. */
void
bf_worker__stop_jobs (bf_worker_t *self)
{
    for (bf_worker__job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        atomic_store (&j->cancel, 1);
    while (zlistx_size (self->jobs) > 0) {
        bf_worker__job_t *j = zlistx_first (self->jobs);
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

void
bf_worker__on_cancel (bf_worker_t *self, bf_msg_t *msg)
{
    const char *id;
    bf_worker__job_t *job;
    if (bf_body_str (&id, msg->body, "job", 32, true) == BF_OK && (job = s_find_job (self, id))) {
        bf_info ("job %s: cancelling", id);
        atomic_store (&job->cancel, 1);
        if (!job->actor)
            s_job_free (self, job);   /* still waiting for its inputs */
    }
}

void
bf_worker__on_ack (bf_worker_t *self, bf_msg_t *msg)
{
    const char *id;
    if (bf_body_str (&id, msg->body, "job", 32, true) != BF_OK)
        return;
    for (bf_worker__pending_t *p = zlistx_first (self->pending); p; p = zlistx_next (self->pending))
        if (strcmp (p->id, id) == 0) {
            zmsg_destroy (&p->msg);
            zlistx_delete (self->pending, zlistx_cursor (self->pending));
            free (p);
            break;
        }
}

json_t *
bf_worker__held_jobs (bf_worker_t *self)
{
    json_t *held = json_array ();
    for (bf_worker__job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        json_array_append_new (held, json_pack ("{s:s, s:b, s:I}", "job", j->id, "done", 0,
                                                 "attempt", (json_int_t) j->attempt));
    for (bf_worker__pending_t *p = zlistx_first (self->pending); p; p = zlistx_next (self->pending))
        json_array_append_new (held, json_pack ("{s:s, s:b, s:I}", "job", p->id, "done", 1,
                                                 "attempt", (json_int_t) p->attempt));
    return held;
}

void
bf_worker__resend (bf_worker_t *self)
{
    for (bf_worker__pending_t *p = zlistx_first (self->pending); p; p = zlistx_next (self->pending)) {
        zmsg_t *copy = zmsg_dup (p->msg);
        if (zmsg_send (&copy, self->dealer) != 0)
            zmsg_destroy (&copy);
    }
    /* A WANT may have been lost with the old socket. */
    for (bf_worker__job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        if (j->wanting) {
            json_t *missing = NULL;
            if (bf_cache_pin (self->l1, j->id, j->inputs, NULL, &missing) == BF_ENOTFOUND)
                s_send_want (self, j, missing);
            json_decref (missing);
        }
}

void
bf_worker__pending_free (bf_worker_t *self)
{
    for (bf_worker__pending_t *p = zlistx_first (self->pending); p; p = zlistx_next (self->pending)) {
        zmsg_destroy (&p->msg);
        free (p);
    }
}
