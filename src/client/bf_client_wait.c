/*  bf_client_wait - polls a job until it ends (see bf_client.h): the one
    wait loop of the CLI's `wait`/`submit --wait` and libbitfarm's
    bitfarm_job_wait; and the other small things both ask a broker the
    same way (which broker, a reservation's label). */
#include "bf_client.h"
#include "bf_localfarm.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*  How long a wait keeps asking a broker that does not answer (it may be
    restarting) before it gives up. */
#define S_WAIT_SILENCE_MS 60000

static const char *
s_str (json_t *job, const char *key)
{
    const char *v = json_string_value (json_object_get (job, key));
    return v ? v : "";
}

void
bf_client_by_label (char *out, size_t size, const char *by, const char *note)
{
    if (by && *by) {
        snprintf (out, size, "%s", by);
        return;
    }
    char host[64] = "?";
    gethostname (host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    const char *user = getenv ("USER");
    struct passwd *pw = user && *user ? NULL : getpwuid (getuid ());
    if (pw)
        user = pw->pw_name;
    snprintf (out, size, "%s@%s%s%s%s", user && *user ? user : "?", host, note ? " (" : "",
              note ? note : "", note ? ")" : "");
}

int
bf_client_endpoint (char **out, const char *given)
{
    *out = NULL;
    if (!given || !*given)
        given = getenv ("BITFARM_BROKER");
    if (given && *given) {
        *out = xstrdup (given);
        return BF_OK;
    }
    int rc = bf_localfarm_ensure (out, NULL);
    if (rc != BF_OK) {
        free (*out);
        *out = NULL;
    }
    return rc;
}

bool
bf_client_job_final (json_t *job)
{
    const char *state = s_str (job, "state");
    return strcmp (state, "queued") != 0 && strcmp (state, "running") != 0;
}

int
bf_client_wait (bf_client_t *self, json_t **final, const char *id, int64_t timeout_ms,
                bf_client_wait_fn *fn, void *arg)
{
    *final = NULL;
    char last[768] = "";
    int delay = 20;
    int64_t start = bf_mono_ms (), answered_at = start;
    bool silent = false;
    for (;;) {
        json_t *job = NULL;
        int rc = bf_client_status (self, &job, id, false);
        if (rc == BF_ETIMEDOUT && !zsys_interrupted
            && bf_mono_ms () - answered_at < S_WAIT_SILENCE_MS
            && (!timeout_ms || bf_mono_ms () - start < timeout_ms)) {
            /* The broker may be restarting: the job is safe in its
               database, so keep asking for a while. */
            if (!silent && fn)
                fn (arg, NULL, BF_WAIT_SILENT);
            silent = true;
            continue;
        }
        if (rc != BF_OK)
            return rc;
        answered_at = bf_mono_ms ();
        silent = false;
        char now[768];
        snprintf (now, sizeof now, "%s|%s|%s|%lld|%s", s_str (job, "state"), s_str (job, "stage"),
                  s_str (job, "worker"),
                  (long long) json_integer_value (json_object_get (job, "attempt")),
                  s_str (job, "waiting_for"));
        bool done = bf_client_job_final (job);
        bool stop = fn && (done || strcmp (now, last) != 0)
                    && fn (arg, job, done ? BF_WAIT_FINAL : BF_WAIT_CHANGED);
        snprintf (last, sizeof last, "%s", now);
        if (done) {
            *final = job;
            return BF_OK;
        }
        if (stop) {
            *final = job;
            return bf_error_set (BF_ETIMEDOUT, "the wait for job %.12s was stopped by its "
                                 "progress callback (the job is %s)", id, s_str (job, "state"));
        }
        if (timeout_ms && bf_mono_ms () - start >= timeout_ms) {
            *final = job;
            return bf_error_set (BF_ETIMEDOUT, "job %.12s is still %s after %lld ms", id,
                                 s_str (job, "state"), (long long) timeout_ms);
        }
        json_decref (job);
        if (zsys_interrupted)
            return bf_error_set (BF_ERROR, "interrupted");
        struct timespec ts = { 0, (long) delay * 1000000 };
        nanosleep (&ts, NULL);
        if (delay < 250)
            delay *= 2;
    }
}
