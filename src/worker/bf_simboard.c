/*  bf_simboard - the worker's simulated boards: running a board's model
    after a load, restarting one that died, and connecting to its UART
    (see bf_simboard.h).  The model's build is in bf_simboard_build.c. */
#include "bf_simboard.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_STOP_MS 3000

typedef struct {
    const bf_board_t *board;
    bf_spawn_child_t child;
    char *model_dir;             /* the model it runs, or NULL */
    int64_t window_at;           /* start of the current minute of restarts */
    int restarts;
} s_sim_t;

struct _bf_simboards_t {
    char *work_dir;
    const bf_sandbox_t *sandbox;
    s_sim_t *sims;
    int n;
};

static char *
s_run_dir (const char *work_dir, const char *board)
{
    return xasprintf ("%s/boards/%s.sim", work_dir, board);
}

bf_simboards_t *
bf_simboards_new (const char *work_dir, const bf_board_t *boards, int nboards,
                  const bf_sandbox_t *sandbox)
{
    bf_simboards_t *self = xcalloc (1, sizeof *self);
    self->work_dir = xstrdup (work_dir);
    self->sandbox = sandbox;
    self->sims = xcalloc ((size_t) nboards + 1, sizeof *self->sims);
    for (int i = 0; i < nboards; i++)
        if (boards[i].is_virtual) {
            self->sims[self->n].board = &boards[i];
            /* A board holds nothing when its worker starts (as a real one
               after power-up): no model, until a load. */
            char *dir = s_run_dir (work_dir, boards[i].name);
            bf_remove_tree (dir);
            free (dir);
            self->n++;
        }
    return self;
}

static void
s_stop (s_sim_t *s)
{
    if (s->child.pid && bf_spawn_stop (&s->child, S_STOP_MS) == BF_ETIMEDOUT)
        bf_warn ("simulated board '%s': its model did not stop on SIGTERM; killed",
                 s->board->name);
    memset (&s->child, 0, sizeof s->child);
}

void
bf_simboards_destroy (bf_simboards_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_simboards_t *self = *self_p;
    for (int i = 0; i < self->n; i++) {
        s_stop (&self->sims[i]);
        free (self->sims[i].model_dir);
    }
    free (self->sims);
    free (self->work_dir);
    free (self);
    *self_p = NULL;
}

static s_sim_t *
s_find (bf_simboards_t *self, const char *board)
{
    for (int i = 0; i < self->n; i++)
        if (strcmp (self->sims[i].board->name, board) == 0)
            return &self->sims[i];
    return NULL;
}

/*  Starts s's model from its model_dir, in a fresh copy (boards/NAME.sim),
    and waits until it listens. */
static int
s_run (bf_simboards_t *self, s_sim_t *s)
{
    s_stop (s);
    char *dir = s_run_dir (self->work_dir, s->board->name);
    char *from = xasprintf ("%s/.", s->model_dir);
    char *info = xasprintf ("%s/model.json", dir), *sock = xasprintf ("%s/board.sock", dir);
    char *log = xasprintf ("%s/model.log", dir), *model = xasprintf ("%s/model", dir);
    char *cwd = NULL, *text = NULL;
    const char **full = NULL;
    json_t *j = NULL;
    size_t len = 0;
    int rc = BF_OK;
    bf_remove_tree (dir);
    if (strlen (sock) >= sizeof ((struct sockaddr_un *) 0)->sun_path) {
        rc = bf_error_set (BF_EINVAL, "simulated board '%s': its socket path '%s' is too long "
                           "(give the worker a shorter --work-dir)", s->board->name, sock);
        goto out;
    }
    const char *cp[] = { "cp", "-a", from, dir, NULL };
    bf_spawn_opts_t copts = { .argv = cp, .timeout_ms = 60000 };
    bf_spawn_result_t r;
    if ((rc = bf_mkdir_p (dir, 0755)) != BF_OK)
        goto out;
    if (bf_spawn_run (&r, &copts) != BF_OK || !r.exited || r.exit_code != 0) {
        rc = bf_error_set (BF_EIO, "simulated board '%s': cannot copy its model from '%s'",
                           s->board->name, s->model_dir);
        goto out;
    }
    if ((rc = bf_file_read (&text, &len, info, 4096)) != BF_OK
        || !(j = json_loads (text, 0, NULL))
        || !json_is_integer (json_object_get (j, "divisor"))
        || !json_is_string (json_object_get (j, "cwd"))) {
        rc = bf_error_set (BF_ECORRUPT, "simulated board '%s': bad model.json in '%s'",
                           s->board->name, s->model_dir);
        goto out;
    }
    cwd = xasprintf ("%s/%s", dir, json_string_value (json_object_get (j, "cwd")));
    if ((rc = bf_mkdir_p (cwd, 0755)) != BF_OK)   /* the tools' place: no input may lie there */
        goto out;
    char div[24], hz[24];
    snprintf (div, sizeof div, "%lld", (long long) json_integer_value (json_object_get (j, "divisor")));
    snprintf (hz, sizeof hz, "%lld", (long long) json_integer_value (json_object_get (j, "clk_hz")));
    const char *argv[] = { model, "--divisor", div, "--listen", sock, "--clk-hz", hz, NULL };
    if (self->sandbox && self->sandbox->enabled
        && (rc = bf_sandbox_give (self->sandbox, dir)) != BF_OK)
        goto out;
    full = self->sandbox ? bf_sandbox_argv (self->sandbox, dir, cwd, argv) : NULL;
    bf_spawn_start_opts_t opts = { .argv = full ? full : argv, .cwd = cwd, .log_path = log,
                                   .pdeath_signal = SIGTERM };
    if ((rc = bf_spawn_start (&s->child, &opts)) != BF_OK)
        goto out;
    rc = BF_ETIMEDOUT;
    for (int64_t t0 = bf_now_ms (); bf_now_ms () - t0 < BF_SIMBOARD_START_MS;) {
        char *out = NULL;
        size_t olen = 0;
        bool ready = bf_file_read (&out, &olen, log, 1 << 20) == BF_OK
                     && strstr (out, "bf-vsim: ready");
        free (out);
        if (ready) {
            rc = BF_OK;
            break;
        }
        if (!bf_spawn_alive (&s->child))
            break;
        usleep (20000);
    }
    if (rc != BF_OK) {
        s_stop (s);
        rc = bf_error_set (BF_EIO, "simulated board '%s': its model did not start (see %s)",
                           s->board->name, log);
    }
    else
        bf_info ("simulated board '%s': model of %s running, UART on %s", s->board->name,
                 json_string_value (json_object_get (j, "top")) ? json_string_value (
                     json_object_get (j, "top")) : "?", sock);
out:
    free (full);
    json_decref (j);
    free (text);
    free (cwd);
    free (dir);
    free (from);
    free (info);
    free (sock);
    free (log);
    free (model);
    return rc;
}

int
bf_simboards_loaded (bf_simboards_t *self, const char *board, const char *model_dir,
                     const char *why)
{
    s_sim_t *s = s_find (self, board);
    if (!s)
        return BF_OK;
    s_stop (s);
    free (s->model_dir);
    s->model_dir = NULL;
    s->restarts = 0;
    char *dir = s_run_dir (self->work_dir, board);
    bf_remove_tree (dir);
    int rc = BF_OK;
    if (model_dir) {
        why = NULL;
        s->model_dir = xstrdup (model_dir);
        rc = s_run (self, s);
        if (rc != BF_OK) {
            free (s->model_dir);
            s->model_dir = NULL;
            why = bf_error_last ();
        }
    }
    if (why) {
        char *path = xasprintf ("%s/nomodel.txt", dir);
        if (bf_mkdir_p (dir, 0755) == BF_OK)
            bf_file_write_atomic (path, why, strlen (why), 0644);
        bf_info ("simulated board '%s': no model for its design: %s", board, why);
        free (path);
    }
    free (dir);
    return rc;
}

void
bf_simboards_check (bf_simboards_t *self)
{
    for (int i = 0; i < self->n; i++) {
        s_sim_t *s = &self->sims[i];
        if (!s->model_dir || !s->child.pid || bf_spawn_alive (&s->child))
            continue;
        bf_spawn_stop (&s->child, 0);
        int st = s->child.status;
        memset (&s->child, 0, sizeof s->child);
        int64_t now = bf_now_ms ();
        if (now - s->window_at > 60000) {
            s->window_at = now;
            s->restarts = 0;
        }
        if (++s->restarts > BF_SIMBOARD_RESTARTS_MAX) {
            bf_warn ("simulated board '%s': its model died %d times in a minute; not restarted "
                     "until the next load", s->board->name, s->restarts - 1);
            char *dir = s_run_dir (self->work_dir, s->board->name);
            char *path = xasprintf ("%s/nomodel.txt", dir);
            static const char why[] = "its model kept dying: program the board again";
            bf_file_write_atomic (path, why, sizeof why - 1, 0644);
            free (path);
            free (dir);
            free (s->model_dir);
            s->model_dir = NULL;
            continue;
        }
        bf_warn ("simulated board '%s': its model exited (%s %d); restarting it from reset",
                 s->board->name, WIFSIGNALED (st) ? "signal" : "status",
                 WIFSIGNALED (st) ? WTERMSIG (st) : WEXITSTATUS (st));
        if (s_run (self, s) != BF_OK)
            bf_warn ("%s", bf_error_last ());
    }
}

int
bf_simboard_connect (int *fd, const char *work_dir, const char *board)
{
    *fd = -1;
    char *dir = s_run_dir (work_dir, board);
    char *why_path = xasprintf ("%s/nomodel.txt", dir), *info = xasprintf ("%s/model.json", dir);
    char *sock = xasprintf ("%s/board.sock", dir);
    char *why = NULL;
    size_t len = 0;
    int rc = BF_OK;
    if (bf_file_read (&why, &len, why_path, 2048) == BF_OK)
        rc = bf_error_set (BF_ENOTFOUND, "board '%s' has no simulation model for its design: "
                           "%.*s", board, (int) len, why);
    else if (access (info, R_OK) != 0)
        rc = bf_error_set (BF_ENOTFOUND, "board '%s' holds no design yet: program it first",
                           board);
    else {
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        int s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        snprintf (a.sun_path, sizeof a.sun_path, "%s", sock);
        if (s < 0 || connect (s, (struct sockaddr *) &a, sizeof a) != 0) {
            rc = bf_error_set (BF_EIO, "simulated board '%s' is not running (%s): its model "
                               "exited; the worker restarts it", board, strerror (errno));
            if (s >= 0)
                close (s);
        }
        else
            *fd = s;
    }
    free (why);
    free (dir);
    free (why_path);
    free (info);
    free (sock);
    return rc;
}
