/*  bf_vboards - see bf_vboards.h. */
#include "bf_vboards.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_spawn.h"
#include "../common/bf_util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct _bf_vboards_t {
    int n;
    bf_spawn_child_t *children;  /* one per board; pid 0 for a real board */
};

/*  Waits for the port file of a started bitfarm-vboard; 0 if it exited or
    did not listen in time. */
static int
s_wait_port (const bf_spawn_child_t *child, const char *port_file)
{
    int port = 0;
    for (int t = 0; t < BF_VBOARDS_START_MS / 10 && port == 0; t++) {
        char *text = NULL;
        size_t len;
        if (bf_file_read (&text, &len, port_file, 64) == BF_OK)
            port = atoi (text);
        free (text);
        if (port == 0 && !bf_spawn_alive (child))
            break;
        if (port == 0) {
            struct timespec ts = { 0, 10 * 1000000 };
            nanosleep (&ts, NULL);
        }
    }
    return port;
}

/*  Starts the bitfarm-vboard of board b. */
static int
s_start_one (bf_spawn_child_t *child, bf_board_t *b, const char *dir, const char *bin)
{
    char *port_file = xasprintf ("%s/%s.port", dir, b->name);
    char *state = xasprintf ("%s/%s.json", dir, b->name);
    char *log = xasprintf ("%s/%s.log", dir, b->name);
    remove (port_file);
    const char *argv[32] = { bin, "--port", "0", "--port-file", port_file, "--state-file",
                             state, "--log-file", log };
    int n = 9;
    for (int k = 0; b->vboard_opts[k]; k++)
        argv[n++] = b->vboard_opts[k];
    argv[n] = NULL;
    bf_spawn_start_opts_t opts = { .argv = argv, .pdeath_signal = SIGTERM };
    int rc = bf_spawn_start (child, &opts);
    if (rc == BF_OK)
        b->port = s_wait_port (child, port_file);
    if (b->port == 0)
        rc = bf_error_set (BF_EIO, "virtual board '%s': %s did not start (see %s)", b->name,
                           bin, log);
    else
        bf_info ("virtual board '%s': bitfarm-vboard on 127.0.0.1:%d, state in %s",
                 b->name, b->port, state);
    free (port_file);
    free (state);
    free (log);
    return rc;
}

int
bf_vboards_start (bf_vboards_t **out, bf_board_t *boards, int nboards, const char *work_dir,
                  const char *bin)
{
    *out = NULL;
    bf_vboards_t *self = xcalloc (1, sizeof *self);
    self->n = nboards;
    self->children = xcalloc ((size_t) nboards + 1, sizeof *self->children);
    char *prog = bin ? xstrdup (bin) : bf_sibling_program ("bitfarm-vboard");
    char *dir = xasprintf ("%s/boards", work_dir);
    int rc = bf_mkdir_p (dir, 0755);
    for (int i = 0; rc == BF_OK && i < nboards; i++)
        if (boards[i].is_virtual)
            rc = s_start_one (&self->children[i], &boards[i], dir, prog);
    free (dir);
    free (prog);
    if (rc != BF_OK) {
        bf_vboards_destroy (&self);
        return rc;
    }
    *out = self;
    self = NULL;   /* transferred */
    return BF_OK;
}

void
bf_vboards_destroy (bf_vboards_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_vboards_t *self = *self_p;
    for (int i = 0; i < self->n; i++)
        if (bf_spawn_stop (&self->children[i], BF_VBOARDS_STOP_MS) == BF_ETIMEDOUT)
            bf_warn ("a bitfarm-vboard did not stop on SIGTERM; killed");
    free (self->children);
    free (self);
    *self_p = NULL;
}

