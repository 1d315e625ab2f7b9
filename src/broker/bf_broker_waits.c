/*  bf_broker_waits - STATUS with "wait_ms": a client's question held until
    its job changes (docs/protocol.md section 5, "Waiting for a job").

    A client waiting for a job (`bitfarm wait`, `submit --wait`) sends
    STATUS with the state, stage and attempt it has seen.  When the job is
    still there, the answer is held (parked) instead of sent: the places
    that change a job (dispatch, a stage, a retry, the end) wake its
    parked questions, which are answered at once when the job is no longer
    what the client saw; the rest are answered when their time is up.  So
    a wait learns that its job ended within a message's latency, and a
    waiting client asks once every few seconds instead of every 250 ms.

    The time is up at the first tick (s_tick: at least once per heartbeat
    interval) after wait_ms less one heartbeat interval, so the answer
    leaves within wait_ms.  A question is answered at once, as a plain
    STATUS, when wait_ms is not more than a heartbeat interval, when it
    came over the HTTP API, or when BF_BROKER_WAITS_MAX questions are held
    already.  A held question is answered as its asker would have been
    answered when it asked (its key, name and roles are kept with it).
    Nothing here is journalled: a broker that restarts forgets them, and
    their clients ask again. */
#include "bf_broker_int.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    zframe_t *rid;              /* the asker's routing id */
    char id[BF_JOB_ID_LEN + 1];
    bool events;
    char state[16];             /* what the asker has seen */
    char stage[33];
    int64_t attempt;
    char peer_key[BF_CURVE_KEY_LEN + 1];   /* who asked (bf_broker_t's peer_*) */
    char peer_name[BF_CURVE_NAME_MAX + 1];
    unsigned peer_roles;
    int64_t deadline;           /* monotonic ms: answered at the first tick after it */
} s_wait_t;

static void
s_wait_destroy (void **item_p)
{
    s_wait_t *w = *item_p;
    if (!w)
        return;
    zframe_destroy (&w->rid);
    free (w);
    *item_p = NULL;
}

/*  True when the job is not what the asker saw: ended, gone, or in
    another state, stage or attempt. */
static bool
s_changed (bf_broker_t *self, const char *id, const char *state, const char *stage,
           int64_t attempt)
{
    bf_job_t *job = NULL;
    if (bf_jobs_get (self->jobs, &job, id, false) != BF_OK)
        return true;
    bool changed = bf_job_state_final (job->state)
                   || strcmp (bf_job_state_name (job->state), state) != 0
                   || strcmp (job->stage ? job->stage : "", stage) != 0
                   || job->attempt != attempt;
    bf_job_free (job);
    return changed;
}

/*  Answers a held question as its asker (why: "changed", "time up"). */
static void
s_answer (bf_broker_t *self, s_wait_t *w, const char *why)
{
    bf_debug ("job %.12s: held STATUS answered (%s)", w->id, why);
    char key[sizeof self->peer_key], name[sizeof self->peer_name];
    unsigned roles = self->peer_roles;
    memcpy (key, self->peer_key, sizeof key);
    memcpy (name, self->peer_name, sizeof name);
    memcpy (self->peer_key, w->peer_key, sizeof key);
    memcpy (self->peer_name, w->peer_name, sizeof name);
    self->peer_roles = w->peer_roles;
    bf_broker_status_reply (self, w->rid, w->id, w->events);
    memcpy (self->peer_key, key, sizeof key);
    memcpy (self->peer_name, name, sizeof name);
    self->peer_roles = roles;
}

bool
bf_broker_waits_park (bf_broker_t *self, zframe_t *rid, const char *id, bool events,
                      int64_t wait_ms, json_t *seen)
{
    int64_t hold = wait_ms - self->cfg.heartbeat_ms;
    if (hold <= 0 || !json_is_object (seen) || self->capture_rid)
        return false;
    const char *state = json_string_value (json_object_get (seen, "state"));
    const char *stage = json_string_value (json_object_get (seen, "stage"));
    json_t *attempt = json_object_get (seen, "attempt");
    if (!state || strlen (state) >= sizeof ((s_wait_t *) 0)->state || !json_is_integer (attempt)
        || (stage && strlen (stage) >= sizeof ((s_wait_t *) 0)->stage))
        return false;
    if (!stage)
        stage = "";
    if (s_changed (self, id, state, stage, json_integer_value (attempt)))
        return false;
    if (!self->waits) {
        self->waits = zlistx_new ();
        zlistx_set_destructor (self->waits, s_wait_destroy);
    }
    if (zlistx_size (self->waits) >= BF_BROKER_WAITS_MAX)
        return false;
    s_wait_t *w = xcalloc (1, sizeof *w);
    w->rid = zframe_dup (rid);
    snprintf (w->id, sizeof w->id, "%s", id);
    w->events = events;
    snprintf (w->state, sizeof w->state, "%s", state);
    snprintf (w->stage, sizeof w->stage, "%s", stage);
    w->attempt = json_integer_value (attempt);
    memcpy (w->peer_key, self->peer_key, sizeof w->peer_key);
    memcpy (w->peer_name, self->peer_name, sizeof w->peer_name);
    w->peer_roles = self->peer_roles;
    w->deadline = bf_mono_ms () + hold;
    zlistx_add_end (self->waits, w);
    bf_debug ("job %.12s: STATUS held, for up to %lld ms", id, (long long) hold);
    return true;
}

/*  Answers, and forgets, the held questions that `due` picks. */
static void
s_answer_due (bf_broker_t *self, bool (*due) (bf_broker_t *, s_wait_t *, const void *),
              const void *arg, const char *why)
{
    if (!self->waits || zlistx_size (self->waits) == 0)
        return;
    zlistx_t *ready = zlistx_new ();
    for (s_wait_t *w = zlistx_first (self->waits); w; w = zlistx_next (self->waits))
        if (due (self, w, arg))
            zlistx_add_end (ready, zlistx_cursor (self->waits));
    for (void *handle = zlistx_first (ready); handle; handle = zlistx_next (ready)) {
        s_answer (self, zlistx_handle_item (handle), why);
        zlistx_delete (self->waits, handle);
    }
    zlistx_destroy (&ready);
}

static bool
s_woken (bf_broker_t *self, s_wait_t *w, const void *arg)
{
    const char *id = arg;
    return (!id || strcmp (w->id, id) == 0)
           && s_changed (self, w->id, w->state, w->stage, w->attempt);
}

void
bf_broker_waits_wake (bf_broker_t *self, const char *id)
{
    s_answer_due (self, s_woken, id, "changed");
}

static bool
s_overdue (bf_broker_t *self, s_wait_t *w, const void *arg)
{
    (void) self;
    return w->deadline <= *(const int64_t *) arg;
}

void
bf_broker_waits_expire (bf_broker_t *self, int64_t now)
{
    s_answer_due (self, s_overdue, &now, "time up");
}
