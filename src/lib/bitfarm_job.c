/*  bitfarm_job - jobs: their status, waiting, outputs, logs, cancel, and
    program jobs (include/bitfarm.h). */
#include "bitfarm_int.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *s_states[] = { "queued", "running", "succeeded", "failed", "timed_out",
                                  "cancelled" };

const char *
bitfarm_state_name (bitfarm_state state)
{
    return state >= BITFARM_QUEUED && state < BITFARM_STATE_UNKNOWN ? s_states[state]
                                                                    : "unknown";
}

int
bitfarm_state_is_final (bitfarm_state state)
{
    return state != BITFARM_QUEUED && state != BITFARM_RUNNING;
}

bitfarm_job *
bf_lib_job_new (bitfarm_farm *farm, json_t *status)
{
    bitfarm_job *job = xcalloc (1, sizeof *job);
    job->farm = farm;
    job->status = status;
    snprintf (job->id, sizeof job->id, "%s",
              json_string_value (json_object_get (status, "id")) ?: "");
    return job;
}

/*  Replaces the handle's status (taken). */
static void
s_set_status (bitfarm_job *job, json_t *status)
{
    json_decref (job->status);
    job->status = status;
    free (job->json);
    job->json = NULL;
}

int
bitfarm_job_open (bitfarm_farm *farm, const char *id, bitfarm_job **out)
{
    *out = NULL;
    if (!farm || !id || !*id || strlen (id) > BF_JOB_ID_LEN)
        return bf_lib_error (BITFARM_EUSAGE, "bad job id '%.40s' (a job id, or a prefix of "
                             "one)", id ? id : "(null)");
    json_t *status = NULL;
    int rc = bf_client_status (farm->client, &status, id, false);
    if (rc != BF_OK)
        return bf_lib_request_fail (farm, rc);
    *out = bf_lib_job_new (farm, status);
    return bf_lib_ok ();
}

void
bitfarm_job_free (bitfarm_job **job_p)
{
    if (!job_p || !*job_p)
        return;
    json_decref ((*job_p)->status);
    free ((*job_p)->json);
    free (*job_p);
    *job_p = NULL;
}

const char *
bitfarm_job_id (const bitfarm_job *job)
{
    return job ? job->id : NULL;
}

int
bitfarm_job_refresh (bitfarm_job *job)
{
    json_t *status = NULL;
    int rc = bf_client_status (job->farm->client, &status, job->id, false);
    if (rc != BF_OK)
        return bf_lib_request_fail (job->farm, rc);
    s_set_status (job, status);
    return bf_lib_ok ();
}

bitfarm_state
bitfarm_job_state (const bitfarm_job *job)
{
    const char *s = json_string_value (json_object_get (job->status, "state"));
    for (int i = 0; s && i < BITFARM_STATE_UNKNOWN; i++)
        if (strcmp (s, s_states[i]) == 0)
            return (bitfarm_state) i;
    return BITFARM_STATE_UNKNOWN;
}

const char *
bitfarm_job_get (const bitfarm_job *job, const char *field)
{
    return field ? json_string_value (json_object_get (job->status, field)) : NULL;
}

int64_t
bitfarm_job_get_int (const bitfarm_job *job, const char *field, int64_t dflt)
{
    json_t *v = field ? json_object_get (job->status, field) : NULL;
    if (json_is_integer (v))
        return (int64_t) json_integer_value (v);
    if (json_is_boolean (v))
        return json_is_true (v);
    return dflt;
}

const char *
bitfarm_job_json (bitfarm_job *job)
{
    if (!job->json)
        job->json = json_dumps (job->status, JSON_COMPACT | JSON_SORT_KEYS);
    return job->json ? job->json : "{}";
}

/*  The class of a finished job's end, with its error as the message. */
static int
s_end (bitfarm_job *job)
{
    const char *error = bitfarm_job_get (job, "error");
    const char *cls = bitfarm_job_get (job, "failure_class");
    char text[900];
    snprintf (text, sizeof text, "job %.12s %s%s%s", job->id,
              bitfarm_state_name (bitfarm_job_state (job)), error ? ": " : "",
              error ? error : "");
    switch (bitfarm_job_state (job)) {
        case BITFARM_SUCCEEDED: return bf_lib_ok ();
        case BITFARM_TIMED_OUT: return bf_lib_error (BITFARM_ETIMEOUT, "%s", text);
        case BITFARM_CANCELLED: return bf_lib_error (BITFARM_ECANCELLED, "%s", text);
        default:
            if (cls && (strcmp (cls, "design") == 0 || strcmp (cls, "bitstream") == 0))
                return bf_lib_error (BITFARM_EDESIGN, "%s", text);
            return bf_lib_error (BITFARM_EINFRA, "%s", text);
    }
}

typedef struct {
    bitfarm_job *job;
    bitfarm_progress_cb fn;
    void *payload;
} s_wait_t;

static bool
s_progress (void *arg, json_t *status, int event)
{
    s_wait_t *w = arg;
    if (!status || event == BF_WAIT_SILENT)
        return false;
    s_set_status (w->job, json_incref (status));
    return w->fn && w->fn (w->job, w->payload) != 0;
}

int
bitfarm_job_wait (bitfarm_job *job, int64_t timeout_ms, bitfarm_progress_cb progress,
                  void *payload)
{
    if (timeout_ms < 0)
        return bf_lib_error (BITFARM_EUSAGE, "wait timeout %lld ms (0: none, or more)",
                             (long long) timeout_ms);
    s_wait_t w = { job, progress, payload };
    json_t *final = NULL;
    int rc = bf_client_wait (job->farm->client, &final, job->id, timeout_ms, s_progress, &w);
    if (final)
        s_set_status (job, final);
    if (rc == BF_ETIMEDOUT && final)
        return bf_lib_error (BITFARM_ETIMEOUT, "%s", bf_error_last ());
    if (rc != BF_OK)
        return bf_lib_request_fail (job->farm, rc);
    return s_end (job);
}

static const char *s_artifacts[] = { "bitstream", "report", "log" };

int
bitfarm_job_fetch (bitfarm_job *job, bitfarm_artifact what, void **data, size_t *len)
{
    *data = NULL;
    if (len)
        *len = 0;
    if ((int) what < 0 || what > BITFARM_LOG)
        return bf_lib_error (BITFARM_EUSAGE, "unknown artifact %d (bitstream 0, report 1, "
                             "log 2)", (int) what);
    char *buf = NULL;
    size_t n = 0;
    int rc = bf_client_fetch (job->farm->client, &buf, &n, job->id, s_artifacts[what]);
    if (rc != BF_OK)
        return bf_lib_request_fail (job->farm, rc);
    buf = xrealloc (buf, n + 1);
    buf[n] = '\0';
    *data = buf;
    if (len)
        *len = n;
    return bf_lib_ok ();
}

int
bitfarm_job_save (bitfarm_job *job, bitfarm_artifact what, const char *path)
{
    if (!path || !*path)
        return bf_lib_error (BITFARM_EUSAGE, "no path to save the %s to",
                             (int) what >= 0 && what <= BITFARM_LOG ? s_artifacts[what] : "?");
    void *data = NULL;
    size_t n = 0;
    int rc = bitfarm_job_fetch (job, what, &data, &n);
    if (rc != BITFARM_OK)
        return rc;
    rc = bf_file_write_atomic (path, data, n, 0644);
    free (data);
    return rc == BF_OK ? bf_lib_ok () : bf_lib_fail (BF_EINVAL, NULL);
}

int
bitfarm_job_logs (bitfarm_job *job, int follow, bitfarm_log_cb fn, void *payload)
{
    int64_t offset = 0;
    for (;;) {
        json_t *body = json_pack ("{s:s, s:I}", "id", job->id, "offset", (json_int_t) offset);
        bf_msg_t *reply = NULL;
        int rc = bf_client_request (job->farm->client, &reply, "LOGS", body, NULL);
        json_decref (body);
        if (rc != BF_OK)
            return bf_lib_request_fail (job->farm, rc);
        zframe_t *f = zmsg_pop (reply->blobs);
        bool final = json_is_true (json_object_get (reply->body, "final"));
        int stop = 0;
        if (f && zframe_size (f) > 0) {
            offset += (int64_t) zframe_size (f);
            if (fn)
                stop = fn ((const char *) zframe_data (f), zframe_size (f), payload);
        }
        zframe_destroy (&f);
        bf_msg_destroy (&reply);
        if (stop || !follow || final)
            return bf_lib_ok ();
        struct timespec ts = { 0, 200 * 1000000 };
        nanosleep (&ts, NULL);
    }
}

int
bitfarm_job_cancel (bitfarm_job *job)
{
    json_t *body = json_pack ("{s:s}", "id", job->id);
    bf_msg_t *reply = NULL;
    int rc = bf_client_request (job->farm->client, &reply, "CANCEL", body, NULL);
    json_decref (body);
    if (rc != BF_OK)
        return bf_lib_request_fail (job->farm, rc);
    s_set_status (job, json_incref (reply->body));
    bf_msg_destroy (&reply);
    return bf_lib_ok ();
}

int
bitfarm_program (bitfarm_farm *farm, const char *board, const char *source, const char *token,
                 bitfarm_job **out)
{
    *out = NULL;
    if (!farm || !board || !*board || !source || !*source)
        return bf_lib_error (BITFARM_EUSAGE, "program needs a board and a job id, cache key "
                             "or .bin file");
    bf_submit_opts_t opts = { .token = token };
    json_t *job = NULL;
    int rc = bf_client_program (farm->client, &job, board, source, &opts);
    if (rc != BF_OK)
        return bf_lib_request_fail (farm, rc);
    *out = bf_lib_job_new (farm, job);
    return bf_lib_ok ();
}
