/*  bf_broker_client - the client commands about builds and jobs:
    SUBMIT, UPLOAD, STATUS, LOGS, FETCH, CANCEL, ENTRY, JOBS, WORKERS, PING.
    See docs/protocol.md section 5.  What a non-admin key sees of them
    (its own jobs and entries, inputs it proved) is bf_broker_tenants.c.
*/
#include "bf_broker_int.h"
#include "../cache/bf_key.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_manifest.h"
#include "../common/bf_provenance.h"
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

/*  A new job belongs to the key that asked for it (none on a plain broker). */
void
bf_broker_set_owner (bf_broker_t *self, bf_job_spec_t *spec)
{
    spec->owner = self->peer_key[0] ? self->peer_key : NULL;
    spec->owner_name = self->peer_key[0] ? self->peer_name : NULL;
}

const char *
bf_broker_upload_client (bf_broker_t *self, const char **name_out)
{
    if (name_out)
        *name_out = self->peer_key[0] ? self->peer_name : "(plain broker)";
    return self->peer_key[0] ? self->peer_key : "-";
}

void
bf_broker_need (bf_broker_t *self, zframe_t *rid, json_t *missing, json_t *sizes)
{
    const char *cname, *client = bf_broker_upload_client (self, &cname);
    if (bf_uploads_expect (self->uploads, client, cname, missing, sizes, bf_mono_ms ())
        != BF_OK) {
        json_decref (missing);
        bf_warn ("request refused: %s", bf_error_last ());
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    json_t *body = json_pack ("{s:o}", "missing", missing);
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "NEED", body, NULL);
    json_decref (body);
}

/*  Collects digest -> declared size over a manifest's inputs; refuses two
    inputs with one digest and different sizes. */
static int
s_collect_size (void *arg, const bf_manifest_file_t *file)
{
    const char *path = file->path, *sha256 = file->sha256;
    uint64_t size = file->size;
    json_t *sizes = arg;
    json_t *old = json_object_get (sizes, sha256);
    if (old && (uint64_t) json_integer_value (old) != size)
        return bf_error_set (BF_EINVAL, "file '%s' declares %llu bytes, but another file with "
                             "its digest %.12s declares %lld", path, (unsigned long long) size,
                             sha256, (long long) json_integer_value (old));
    json_object_set_new (sizes, sha256, json_integer ((json_int_t) size));
    return BF_OK;
}

/*  Checks one input's declared size against the stored object's. */
static int
s_check_size (void *arg, const bf_manifest_file_t *file)
{
    const char *path = file->path, *sha256 = file->sha256;
    uint64_t size = file->size;
    bf_broker_t *self = arg;
    int64_t stored = bf_cache_object_size (self->cache, sha256);
    if (stored >= 0 && (uint64_t) stored != size)
        return bf_error_set (BF_EINVAL, "file '%s' declares %llu bytes, but its content %.12s "
                             "holds %lld bytes", path, (unsigned long long) size, sha256,
                             (long long) stored);
    return BF_OK;
}

/*  An unpinned build may run on any connected worker, under that worker's
    toolchain: a result cached under the toolchain of any of them is a hit.
    On a hit, returns the entry and writes its key and toolchain into key
    and toolchain (65 bytes each); else NULL. */
static json_t *
s_hit_any_toolchain (bf_broker_t *self, const bf_manifest_t *m, char *key, char *toolchain)
{
    for (bf_broker_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers)) {
        char k[BF_SHA256_HEX_LEN + 1];
        json_t *entry = NULL;
        if (strcmp (w->toolchain, toolchain) == 0
            || bf_key_compute_salted (k, m, w->toolchain, self->cfg.cache_salt) != BF_OK
            || bf_cache_get_entry (self->cache, &entry, k, false) != BF_OK)
            continue;
        snprintf (key, BF_SHA256_HEX_LEN + 1, "%s", k);
        snprintf (toolchain, BF_SHA256_HEX_LEN + 1, "%s", w->toolchain);
        return entry;
    }
    return NULL;
}

void
bf_broker_client_submit (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    json_t *norm = NULL, *entry = NULL, *tags = NULL, *inputs = NULL, *sizes = NULL;
    json_t *prov = NULL;
    bf_board_row_t *board = NULL;
    bf_manifest_t m;
    if (bf_manifest_decode (&m, json_object_get (msg->body, "manifest")) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    norm = bf_manifest_encode (&m);   /* the form the job table stores */
    /* submit --program: the board is checked before anything is built. */
    json_t *popts = json_object_get (msg->body, "program");
    char phash[BF_SHA256_HEX_LEN + 1];
    const char *pth = NULL;
    int64_t ppriority = 0, ptimeout = 0;
    if (popts) {
        board = bf_broker_program_opts (self, rid, popts, phash, &pth, &ppriority, &ptimeout);
        if (!board)
            goto out;
        if (bf_broker_board_accepts (board, 0, &m) != BF_OK) {
            bf_broker_error (self, rid, "%s", bf_error_last ());
            goto out;
        }
    }
    int64_t priority = 0, timeout_ms = self->cfg.job_timeout_ms;
    if (bf_body_int (&priority, msg->body, "priority", -1000, 1000, false) == BF_EINVAL
        || bf_body_tags (&tags, msg->body, "tags") != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        goto out;
    }
    /* Where the sources came from (submit from git): checked, never part of the key. */
    json_t *praw = json_object_get (msg->body, "provenance");
    if (praw && bf_provenance_check (&prov, praw) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        goto out;
    }
    if (bf_body_int (&timeout_ms, msg->body, "timeout_ms", 1000, self->cfg.job_timeout_max_ms,
                     false) == BF_EINVAL) {
        json_t *v = json_object_get (msg->body, "timeout_ms");
        bf_broker_error (self, rid, "time limit %lld ms is out of range (1000 ms to %lld ms, "
                         "the broker's maximum)", json_is_integer (v)
                       ? (long long) json_integer_value (v) : -1LL,
                       (long long) self->cfg.job_timeout_max_ms);
        goto out;
    }
    /* Declared sizes agree with each other, and with the store. */
    sizes = json_object ();
    if (bf_manifest_each_input (&m, s_collect_size, sizes) != BF_OK
        || bf_manifest_each_input (&m, s_check_size, self) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        goto out;
    }
    /* A job (a hit, a follower or a build) only for inputs this key holds:
       the ones it has not proven (docs/security.md, "Tenants") it must
       upload, as if the broker lacked them; and only what NEED lists may be
       uploaded, within the quota. */
    json_t *all_inputs = bf_manifest_input_digests (&m);
    json_t *unproven = bf_broker_unproven (self, all_inputs, json_object_get (msg->body,
                                                                              "proofs"));
    json_decref (all_inputs);
    if (json_array_size (unproven) > 0) {
        bf_broker_need (self, rid, unproven, sizes);
        goto out;
    }
    json_decref (unproven);
    /* The toolchain the key is computed for: the pinned one (submit
       --toolchain), else the farm's default (bf_broker_toolchain_default); a dispatched
       build gets its worker's key again (bf_broker_dispatch_one). */
    char action[BF_SHA256_HEX_LEN + 1], key[BF_SHA256_HEX_LEN + 1] = "", toolchain[65] = "";
    bf_key_action (action, &m);
    const char *pin_prefix = NULL;
    if (bf_body_str (&pin_prefix, msg->body, "toolchain", 64, false) == BF_EINVAL) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        goto out;
    }
    bool have_key;
    if (pin_prefix) {
        if (bf_jobs_toolchain_resolve (self->jobs, toolchain, pin_prefix) != BF_OK) {
            bf_broker_error (self, rid, "%s", bf_error_last ());
            goto out;
        }
        have_key = true;
    }
    else
        have_key = bf_broker_toolchain_default (self, toolchain) == BF_OK;
    if (have_key) {
        bf_key_compute_salted (key, &m, toolchain, self->cfg.cache_salt);
        if (bf_cache_get_entry (self->cache, &entry, key, false) != BF_OK)
            entry = NULL;
    }
    if (!entry && !pin_prefix && (entry = s_hit_any_toolchain (self, &m, key, toolchain)))
        have_key = true;
    char id[BF_JOB_ID_LEN + 1], leader[BF_JOB_ID_LEN + 1];
    if (bf_random_hex (id, BF_JOB_ID_LEN / 2) != BF_OK) {
        bf_broker_error (self, rid, "no random source for a job id");
        goto out;
    }
    if (!entry) {
        /* Pin the inputs (and the key) for the job's lifetime, atomically
           with eviction: either all are there and stay, or NEED. */
        inputs = bf_manifest_input_digests (&m);
        json_t *missing = NULL;
        int prc = bf_cache_pin (self->cache, id, inputs, have_key ? key : NULL, &missing);
        if (prc == BF_ENOTFOUND) {
            bf_broker_need (self, rid, missing, sizes);
            goto out;
        }
        if (prc != BF_OK) {
            bf_broker_error (self, rid, "%s", bf_error_last ());
            goto out;
        }
        /* An object stored between the check and the pin: check again. */
        if (bf_manifest_each_input (&m, s_check_size, self) != BF_OK) {
            bf_broker_error (self, rid, "%s", bf_error_last ());
            bf_cache_unpin (self->cache, id);
            goto out;
        }
    }
    bf_job_spec_t spec = { .id = id, .manifest = norm, .action = action,
                           .cache_key = have_key ? key : NULL, .priority = (int) priority,
                           .timeout_ms = timeout_ms, .max_attempts = self->cfg.max_attempts,
                           .tags = tags, .hit = entry,
                           .toolchain = pin_prefix ? toolchain : NULL, .provenance = prov };
    bf_broker_set_owner (self, &spec);
    if (bf_jobs_create (self->jobs, id, leader, &spec) != BF_OK) {
        bf_err ("%s", bf_error_last ());
        bf_broker_error (self, rid, "%s", bf_error_last ());
        bf_cache_unpin (self->cache, id);
        goto out;
    }
    if (inputs)   /* the job holds its uploads now: they leave the quota */
        bf_uploads_taken (self->uploads, bf_broker_upload_client (self, NULL), inputs);
    if (entry) {   /* misses are counted when a build is dispatched */
        bf_cache_count (self->cache, key, toolchain, true);   /* saved_ms: bf_jobs_create */
    }
    if (board) {
        /* The program job waits for the build (or, on a hit, goes now:
           bf_broker_release_after runs before the next dispatch). */
        char pid[BF_JOB_ID_LEN + 1];
        bf_job_t *build = NULL;
        bf_jobs_get (self->jobs, &build, id, false);
        json_t *extra = json_object ();
        if (bf_random_hex (pid, BF_JOB_ID_LEN / 2) == BF_OK
            && bf_broker_create_program (self, pid,
                                         board->name,
                                         NULL, 0, id, pth, (int) ppriority, ptimeout) == BF_OK) {
            json_object_set_new (extra, "build", bf_job_to_json (build));
            bf_broker_reply_job (self, rid, pid, extra);
            self->after_needed = true;
        }
        else {
            json_object_set_new (extra, "program_error", json_string (bf_error_last ()));
            bf_broker_reply_job (self, rid, id, extra);
        }
        json_decref (extra);
        bf_job_free (build);
    }
    else
        bf_broker_reply_job (self, rid, id, NULL);
    if (entry)
        bf_info ("job %s finished at once (cache hit)", id);
    else if (leader[0])
        bf_info ("job %s follows job %s (identical build)", id, leader);
    else {
        bf_info ("job %s queued", id);
        self->dispatch_needed = true;
    }
out:
    json_decref (inputs);
    json_decref (sizes);
    bf_board_rows_free (board, board ? 1 : 0);
    json_decref (tags);
    json_decref (prov);
    json_decref (entry);
    json_decref (norm);
    bf_manifest_release (&m);
}

void
bf_broker_client_upload (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    json_t *digests = json_object_get (msg->body, "digests");
    size_t n = json_array_size (digests);
    if (!json_is_array (digests) || n != zmsg_size (msg->blobs)) {
        bf_broker_error (self, rid,
                         "field 'digests' must list one digest per blob frame");
        return;
    }
    const char *client = bf_broker_upload_client (self, NULL);
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
        else {  /* only what a NEED asked this client for, at its declared size */
            rc = bf_uploads_check (self->uploads, client, names[i], lens[i]);
            /* ... or an object stored already (two submits of one key raced
               and the other's job took the record): it adds nothing to the
               store, and its content is still checked against the digest,
               as a proof of possession. */
            if (rc == BF_EACCES && bf_cache_object_size (self->cache, names[i])
                                   == (int64_t) lens[i])
                rc = BF_OK;
        }
        if (rc != BF_OK)
            break;
    }
    if (rc == BF_OK)
        rc = bf_cache_put_objects (self->cache, n, names, data, lens);
    if (rc == BF_OK)
        for (size_t i = 0; i < n; i++)
            bf_uploads_stored (self->uploads, client, names[i]);
    bf_janitor_poke (self->janitor);
    if (rc != BF_OK) {
        bf_warn ("upload refused: %s", bf_error_last ());
        bf_broker_error (self, rid, "%s", bf_error_last ());
    }
    else {
        for (size_t i = 0; i < n; i++)   /* each verified against its digest */
            bf_broker_proven (self, names[i]);
        json_t *body = json_pack ("{s:i}", "stored", (int) n);
        bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
        json_decref (body);
    }
    free (names);
    free (data);
    free (lens);
}

/*  Resolves the "id" field (a full id or a unique prefix) among the jobs
    the peer may see, or replies with an error.  Returns true when id_out
    is set. */
static bool
s_client_job_id (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg, char *id_out)
{
    const char *prefix;
    if (bf_body_str (&prefix, msg->body, "id", BF_JOB_ID_LEN, true) != BF_OK
        || bf_jobs_resolve_owned (self->jobs, id_out, prefix, bf_broker_view (self)) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return false;
    }
    return true;
}

void
bf_broker_status_reply (bf_broker_t *self, zframe_t *rid, const char *id, bool events)
{
    bf_job_t *job = NULL;
    if (bf_jobs_get (self->jobs, &job, id, false) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    json_t *body = bf_job_to_json (job);
    if (job->state == BF_JOB_QUEUED) {
        char *why = bf_broker_wait_reason (self, job);
        json_object_set_new (body, "waiting_for", json_string (why));
        free (why);
    }
    if (events)
        json_object_set_new (body, "events", bf_jobs_events (self->jobs, id));
    bf_broker_mask_job (self, body);
    /* The report's summary: utilisation and clocks (bf_report.h). */
    const char *report = job->report;
    char *text = NULL;
    size_t len = 0;
    if (report && bf_cache_get_object (self->cache, &text, &len, report) == BF_OK) {
        json_t *summary = bf_report_summary (text, len);
        if (summary)
            json_object_set_new (body, "report", summary);
        free (text);
    }
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
    json_decref (body);
    bf_job_free (job);
}

void
bf_broker_client_status (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    char id[BF_JOB_ID_LEN + 1];
    if (!s_client_job_id (self, rid, msg, id))
        return;
    bool events = false;
    int64_t wait_ms = 0;
    if (bf_body_bool (&events, msg->body, "events", false) == BF_EINVAL
        || bf_body_int (&wait_ms, msg->body, "wait_ms", 0, BF_BROKER_WAIT_MS_MAX, false)
           == BF_EINVAL) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    if (wait_ms > 0
        && bf_broker_waits_park (self, rid, id, events, wait_ms, json_object_get (msg->body, "seen")))
        return;   /* answered when the job changes, or within wait_ms */
    bf_broker_status_reply (self, rid, id, events);
}

void
bf_broker_client_logs (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    char id[BF_JOB_ID_LEN + 1];
    if (!s_client_job_id (self, rid, msg, id))
        return;
    int64_t offset = 0;
    if (bf_body_int (&offset, msg->body, "offset", 0, INT64_MAX, false) == BF_EINVAL) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    bf_job_t *job = NULL;
    bf_jobs_get (self->jobs, &job, id, false);
    const char *digest = job->log;
    char *data = NULL;
    size_t len = 0;
    int rc;
    if (digest)
        rc = bf_cache_get_object (self->cache, &data, &len, digest);
    else {
        char *path = bf_broker_log_path (self, id);
        rc = bf_file_read (&data, &len, path, BF_BROKER_LOG_MAX);
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
                              "state", bf_job_state_name (job->state),
                              "final", bf_job_state_final (job->state));
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, &blobs);
    json_decref (body);
    bf_job_free (job);
    free (data);
}

void
bf_broker_client_fetch (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    char id[BF_JOB_ID_LEN + 1];
    if (!s_client_job_id (self, rid, msg, id))
        return;
    const char *what = "bitstream";
    if (bf_body_str (&what, msg->body, "what", 16, false) == BF_EINVAL
        || (strcmp (what, "bitstream") && strcmp (what, "report") && strcmp (what, "log"))) {
        bf_broker_error (self, rid, "field 'what' must be bitstream, report or log");
        return;
    }
    bf_job_t *job = NULL;
    bf_jobs_get (self->jobs, &job, id, false);
    const char *digest = strcmp (what, "log") == 0 ? job->log
                         : strcmp (what, "report") == 0 ? job->report : job->bitstream;
    char *data = NULL;
    size_t len = 0;
    if (!digest) {
        bf_broker_error (self, rid, "job %s has no %s (state %s)", id, what,
                         bf_job_state_name (job->state));
    }
    else if (bf_cache_get_object (self->cache, &data, &len, digest) != BF_OK) {
        bf_broker_error (self, rid, "the %s of job %s is no longer in the cache", what, id);
    }
    else {
        zmsg_t *blobs = zmsg_new ();
        zmsg_addmem (blobs, data, len);
        json_t *body = json_pack ("{s:s, s:s, s:s, s:I}", "id", id, "what", what, "sha256",
                                  digest, "size", (json_int_t) len);
        bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, &blobs);
        json_decref (body);
    }
    free (data);
    bf_job_free (job);
}

void
bf_broker_client_cancel (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    char id[BF_JOB_ID_LEN + 1];
    if (!s_client_job_id (self, rid, msg, id))
        return;
    bf_job_t *job = NULL;
    bf_result_t res = { .state = BF_JOB_CANCELLED, .failure = BF_FAILURE_CANCELLED,
                        .error = "cancelled by user" };
    int rc = bf_broker_finish (self, id, &res, "cancelled by user", NULL);
    bf_jobs_get (self->jobs, &job, id, false);
    if (rc == BF_EBUSY)
        bf_broker_error (self, rid, "job %s is already %s; nothing to cancel", id,
                         bf_job_state_name (job->state));
    else if (rc != BF_OK)
        bf_broker_error (self, rid, "%s", bf_error_last ());
    else
        bf_broker_reply_job (self, rid, id, NULL);
    bf_job_free (job);
}

/*  ENTRY {"key"}: a cache entry (full key or unique prefix of 8 or more
    hex characters) as stored (manifest, toolchain, outcome,
    objects, times, hits), for `bitfarm explain --diff`.  Not a lookup:
    counts nothing and touches nothing.  A non-admin key sees only the
    entries of its own jobs (bf_broker_entry_key). */
void
bf_broker_client_entry (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *prefix;
    char key[BF_SHA256_HEX_LEN + 1];
    json_t *entry = NULL;
    if (bf_body_str (&prefix, msg->body, "key", BF_SHA256_HEX_LEN, true) != BF_OK
        || bf_broker_entry_key (self, key, prefix) != BF_OK
        || bf_cache_get_entry (self->cache, &entry, key, true) != BF_OK)
        bf_broker_error (self, rid, "%s", bf_error_last ());
    else {
        /* Which commits it was built from: the viewer's jobs with this key. */
        json_object_set_new (entry, "sources", bf_jobs_key_sources (self->jobs, key,
                                                                    bf_broker_view (self), 20));
        bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", entry, NULL);
    }
    json_decref (entry);
}

void
bf_broker_client_jobs (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    int64_t limit = 20;
    const char *commit = NULL;
    bf_jobs_filter_t f = { 0 };
    bf_job_state_t state;
    if (bf_body_int (&limit, msg->body, "limit", 1, 10000, false) == BF_EINVAL
        || bf_body_str (&commit, msg->body, "commit", 64, false) == BF_EINVAL
        || bf_body_str (&f.state, msg->body, "state", 16, false) == BF_EINVAL
        || bf_body_str (&f.owner_name, msg->body, "owner", 128, false) == BF_EINVAL
        || bf_body_str (&f.tag, msg->body, "tag", BF_TAG_MAX, false) == BF_EINVAL
        || bf_body_str (&f.repo, msg->body, "repo", 1024, false) == BF_EINVAL) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    if (f.state && !bf_job_state_parse (&state, f.state)) {
        bf_broker_error (self, rid, "bad state '%.16s'", f.state);
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    if (commit && (strlen (commit) < 4 || strspn (commit, "0123456789abcdef") != strlen (commit))) {
        bf_broker_error (self, rid, "bad commit '%.64s' (want 4 to 64 lowercase hex characters)",
                         commit);
        return;
    }
    f.commit = commit;
    json_t *jobs = bf_jobs_list_where (self->jobs, (int) limit, bf_broker_view (self), &f);
    size_t i;
    json_t *j;
    json_array_foreach (jobs, i, j)
        bf_broker_mask_job (self, j);
    json_t *body = json_pack ("{s:o}", "jobs", jobs);
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
    json_decref (body);
}

void
bf_broker_client_workers (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    (void) msg;
    json_t *arr = json_array ();
    for (bf_broker_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers)) {
        json_t *o = bf_broker_worker_json (w);
        /* The ids of the jobs it runs: only the peer's own ("busy" counts all). */
        json_t *mine = json_array ();
        size_t i;
        json_t *v;
        json_array_foreach (json_object_get (o, "jobs"), i, v)
            if (bf_broker_job_visible (self, json_string_value (v)))
                json_array_append (mine, v);
        json_object_set_new (o, "jobs", mine);
        json_array_append_new (arr, o);
    }
    json_t *body = json_pack ("{s:o}", "workers", arr);
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
    json_decref (body);
}

void
bf_broker_client_ping (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    (void) msg;
    json_t *body = json_pack ("{s:s}", "version", BF_BROKER_VERSION);
    char toolchain[BF_SHA256_HEX_LEN + 1];
    if (bf_broker_toolchain_default (self, toolchain) == BF_OK)
        json_object_set_new (body, "toolchain", json_string (toolchain));
    if (self->cfg.cache_salt)
        json_object_set_new (body, "salt", json_string (self->cfg.cache_salt));
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
    json_decref (body);
}
