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
/*  The longest a wait asks the broker to hold an answer (STATUS wait_ms). */
#define S_WAIT_HOLD_MAX_MS 30000

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

/*  STATUS of job id; with seen (the last status), asking the broker to
    hold the answer until the job's state, stage or attempt is no longer
    seen's, for at most wait_ms (docs/protocol.md 5.3).  A broker that
    does not hold it answers at once, as a plain STATUS. */
static int
s_status (bf_client_t *self, json_t **job, const char *id, json_t *seen, int64_t wait_ms)
{
    *job = NULL;
    json_t *body = json_pack ("{s:s, s:b}", "id", id, "events", false);
    if (seen && wait_ms > 0) {
        json_object_set_new (body, "wait_ms", json_integer (wait_ms));
        json_object_set_new (body, "seen", json_pack ("{s:s, s:s, s:I}", "state",
                                                      s_str (seen, "state"), "stage",
                                                      s_str (seen, "stage"), "attempt",
                                                      json_integer_value (json_object_get (
                                                          seen, "attempt"))));
    }
    return bf_client_status_body (self, job, body);
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
    json_t *seen = NULL;   /* the last status: the broker holds the next answer until it changes */
    /* The longest the broker may hold an answer: well within the time a
       request may wait for one. */
    int64_t hold = (int64_t) bf_client_timeout (self, 0) * 3 / 4;
    if (hold > S_WAIT_HOLD_MAX_MS)
        hold = S_WAIT_HOLD_MAX_MS;
    int rc = BF_OK;
    for (;;) {
        json_t *job = NULL;
        int64_t wait_ms = hold;
        if (timeout_ms && timeout_ms - (bf_mono_ms () - start) < wait_ms)
            wait_ms = timeout_ms - (bf_mono_ms () - start);
        int64_t asked_at = bf_mono_ms ();
        rc = s_status (self, &job, id, seen, wait_ms);
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
            goto out;
        answered_at = bf_mono_ms ();
        silent = false;
        char now[768];
        snprintf (now, sizeof now, "%s|%s|%s|%lld|%s", s_str (job, "state"), s_str (job, "stage"),
                  s_str (job, "worker"),
                  (long long) json_integer_value (json_object_get (job, "attempt")),
                  s_str (job, "waiting_for"));
        bool done = bf_client_job_final (job);
        bool changed = strcmp (now, last) != 0;
        bool stop = fn && (done || changed) && fn (arg, job, done ? BF_WAIT_FINAL : BF_WAIT_CHANGED);
        snprintf (last, sizeof last, "%s", now);
        if (done) {
            *final = job;
            goto out;
        }
        if (stop) {
            *final = job;
            rc = bf_error_set (BF_ETIMEDOUT, "the wait for job %.12s was stopped by its "
                               "progress callback (the job is %s)", id, s_str (job, "state"));
            goto out;
        }
        if (timeout_ms && bf_mono_ms () - start >= timeout_ms) {
            *final = job;
            rc = bf_error_set (BF_ETIMEDOUT, "job %.12s is still %s after %lld ms", id,
                               s_str (job, "state"), (long long) timeout_ms);
            goto out;
        }
        /* An answer the broker held (the job changed, or the time was up)
           is asked again at once; one it did not hold (an older broker, or
           a hold longer than it allows) after a pause, as a poll. */
        bool held = seen && (changed || bf_mono_ms () - asked_at >= wait_ms / 4);
        json_decref (seen);
        seen = job;
        if (zsys_interrupted) {
            rc = bf_error_set (BF_ERROR, "interrupted");
            goto out;
        }
        if (held) {
            delay = 20;
            continue;
        }
        struct timespec ts = { 0, (long) delay * 1000000 };
        nanosleep (&ts, NULL);
        if (delay < 250)
            delay *= 2;
    }
out:
    json_decref (seen);
    return rc;
}
