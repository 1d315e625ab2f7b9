/*  bf_job - see bf_job.h. */
#include "bf_job.h"
#include "bf_util.h"

#include <stdlib.h>
#include <string.h>

static const char *const s_states[] = {
    [BF_JOB_QUEUED] = "queued",         [BF_JOB_RUNNING] = "running",
    [BF_JOB_SUCCEEDED] = "succeeded",   [BF_JOB_FAILED] = "failed",
    [BF_JOB_CANCELLED] = "cancelled",   [BF_JOB_TIMED_OUT] = "timed_out",
};
static const char *const s_failures[] = {
    [BF_FAILURE_NONE] = NULL,           [BF_FAILURE_DESIGN] = "design",
    [BF_FAILURE_BITSTREAM] = "bitstream", [BF_FAILURE_INFRASTRUCTURE] = "infrastructure",
    [BF_FAILURE_TIMEOUT] = "timeout",   [BF_FAILURE_CANCELLED] = "cancelled",
};
static const char *const s_kinds[] = { [BF_KIND_BUILD] = "build", [BF_KIND_PROGRAM] = "program" };

#define S_COUNT(a) (sizeof (a) / sizeof (a)[0])

static bool
s_parse (int *out, const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (names[i] && strcmp (names[i], name) == 0) {
            *out = (int) i;
            return true;
        }
    return false;
}

const char *
bf_job_state_name (bf_job_state_t state)
{
    return (size_t) state < S_COUNT (s_states) ? s_states[state] : "unknown";
}

bool
bf_job_state_parse (bf_job_state_t *out, const char *name)
{
    int v;
    if (!s_parse (&v, s_states, S_COUNT (s_states), name))
        return false;
    *out = (bf_job_state_t) v;
    return true;
}

const char *
bf_failure_name (bf_failure_t failure)
{
    return (size_t) failure < S_COUNT (s_failures) ? s_failures[failure] : NULL;
}

bool
bf_failure_parse (bf_failure_t *out, const char *name)
{
    int v;
    if (!s_parse (&v, s_failures, S_COUNT (s_failures), name))
        return false;
    *out = (bf_failure_t) v;
    return true;
}

const char *
bf_job_kind_name (bf_job_kind_t kind)
{
    return (size_t) kind < S_COUNT (s_kinds) ? s_kinds[kind] : "build";
}

bool
bf_job_kind_parse (bf_job_kind_t *out, const char *name)
{
    int v;
    if (!s_parse (&v, s_kinds, S_COUNT (s_kinds), name))
        return false;
    *out = (bf_job_kind_t) v;
    return true;
}

bool
bf_job_state_final (bf_job_state_t state)
{
    return state != BF_JOB_QUEUED && state != BF_JOB_RUNNING;
}

void
bf_job_init (bf_job_t *job)
{
    memset (job, 0, sizeof *job);
}

void
bf_job_release (bf_job_t *job)
{
    char **strs[] = { &job->stage, &job->error, &job->worker, &job->action, &job->cache_key,
                      &job->bitstream, &job->report, &job->log, &job->follows, &job->toolchain,
                      &job->owner, &job->owner_name, &job->board, &job->after };
    for (size_t i = 0; i < S_COUNT (strs); i++) {
        free (*strs[i]);
        *strs[i] = NULL;
    }
    json_decref (job->tags);
    json_decref (job->manifest);
    json_decref (job->provenance);
    bf_job_init (job);
}

void
bf_job_free (bf_job_t *job)
{
    if (!job)
        return;
    bf_job_release (job);
    free (job);
}

static json_t *
s_str (const char *s)
{
    return s ? json_string (s) : json_null ();
}

static json_t *
s_time (int64_t ms)
{
    if (ms <= 0)
        return json_null ();
    char buf[40];
    return json_string (bf_time_iso (buf, sizeof buf, ms));
}

json_t *
bf_job_to_json (const bf_job_t *job)
{
    json_t *j = json_object ();
    json_object_set_new (j, "id", json_string (job->id));
    json_object_set_new (j, "state", json_string (bf_job_state_name (job->state)));
    json_object_set_new (j, "stage", s_str (job->stage));
    json_object_set_new (j, "failure_class", s_str (bf_failure_name (job->failure)));
    json_object_set_new (j, "worker", s_str (job->worker));
    json_object_set_new (j, "action", s_str (job->action));
    json_object_set_new (j, "cache_key", s_str (job->cache_key));
    json_object_set_new (j, "bitstream_sha256", s_str (job->bitstream));
    json_object_set_new (j, "report_sha256", s_str (job->report));
    json_object_set_new (j, "log_sha256", s_str (job->log));
    json_object_set_new (j, "error", s_str (job->error));
    json_object_set_new (j, "priority", json_integer (job->priority));
    json_object_set_new (j, "attempt", json_integer (job->attempt));
    json_object_set_new (j, "cache_hit", json_boolean (job->cache_hit));
    json_object_set_new (j, "submitted_at", s_time (job->submitted_at));
    json_object_set_new (j, "started_at", s_time (job->started_at));
    json_object_set_new (j, "finished_at", s_time (job->finished_at));
    json_object_set_new (j, "timeout_ms", json_integer (job->timeout_ms));
    json_object_set_new (j, "max_attempts", json_integer (job->max_attempts));
    json_object_set_new (j, "retry_at", s_time (job->retry_at));
    json_object_set_new (j, "follows", s_str (job->follows));
    json_object_set_new (j, "tags", job->tags ? json_incref (job->tags) : json_array ());
    if (job->manifest)
        json_object_set (j, "manifest", job->manifest);
    json_object_set_new (j, "kind", json_string (bf_job_kind_name (job->kind)));
    if (job->kind == BF_KIND_PROGRAM) {
        json_object_set_new (j, "board", s_str (job->board));
        json_object_set_new (j, "after", s_str (job->after));
        json_object_set_new (j, "reservation", json_boolean (job->reservation));
        json_object_set_new (j, "bitstream_size", json_integer ((json_int_t) job->bitstream_size));
    }
    json_object_set_new (j, "owner", s_str (job->owner));
    json_object_set_new (j, "owner_name", s_str (job->owner_name));
    if (job->toolchain)
        json_object_set_new (j, "toolchain", json_string (job->toolchain));
    if (job->provenance)
        json_object_set (j, "provenance", job->provenance);
    return j;
}
