/*  bf_janitor - see bf_janitor.h. */
#include "bf_janitor.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_util.h"

typedef struct {
    char *dir;
    bf_cache_opts_t opts;
    int interval_ms;
} s_args_t;

struct _bf_janitor_t {
    zactor_t *actor;
    s_args_t *args;              /* read by the thread until it ends */
};

static void
s_actor (zsock_t *pipe, void *argp)
{
    s_args_t *args = argp;
    bf_cache_t *cache = NULL;
    if (bf_cache_open (&cache, args->dir, &args->opts) != BF_OK) {
        bf_err ("cache janitor: %s", bf_error_last ());
        zsock_signal (pipe, 1);
        return;
    }
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    for (;;) {
        void *which = zpoller_wait (poller, args->interval_ms);
        if (which == pipe) {
            char *cmd = zstr_recv (pipe);
            bool term = !cmd || strcmp (cmd, "$TERM") == 0;
            zstr_free (&cmd);
            if (term)
                break;
        }
        else if (zpoller_terminated (poller))
            break;
        if (bf_cache_maintain (cache, NULL) != BF_OK)
            bf_warn ("cache janitor: %s", bf_error_last ());
    }
    zpoller_destroy (&poller);
    bf_cache_destroy (&cache);
}

bf_janitor_t *
bf_janitor_new (const char *dir, const bf_cache_opts_t *opts, int interval_ms)
{
    if (!opts || opts->max_size == 0)
        return NULL;
    s_args_t *args = xcalloc (1, sizeof *args);
    args->dir = xstrdup (dir);
    args->opts = *opts;
    args->interval_ms = interval_ms;
    bf_janitor_t *self = xcalloc (1, sizeof *self);
    self->args = args;
    self->actor = zactor_new (s_actor, args);
    zsock_set_sndtimeo (self->actor, 0);
    return self;
}

void
bf_janitor_poke (bf_janitor_t *self)
{
    if (self)
        zstr_send (self->actor, "CHECK");
}

void
bf_janitor_destroy (bf_janitor_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_janitor_t *self = *self_p;
    zsock_set_sndtimeo (self->actor, -1);
    zactor_destroy (&self->actor);
    free (self->args->dir);
    free (self->args);
    free (self);
    *self_p = NULL;
}
