/*  bf_worker_regio - register requests (REGIO, docs/protocol.md section
    11): one queue per board, one request at a time on it, each run in a
    thread of its own (a zactor) over the board's bridge (bf_bridge.h), so
    the main loop never waits on a UART.  A register request and a program
    job never overlap on one board: a request for a board that is loading
    is refused ("busy programming"), and a program job waits for the
    request in flight (bf_worker_job.c, s_start_job).  Not journalled: a
    request the worker loses (a restart) is simply not answered, and the
    broker's deadline answers the client. */
#include "bf_worker_int.h"
#include "bf_bridge.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/*  A virtual board's UART: its simulation model's socket (bf_simboard.h),
    non-blocking, as the bridge reads it. */
static int
s_sim_fd (bf_worker_t *self, const bf_board_t *board, int *fd)
{
    int rc = bf_simboard_connect (fd, self->work_dir, board->name);
    if (rc == BF_OK && fcntl (*fd, F_SETFL, fcntl (*fd, F_GETFL) | O_NONBLOCK) != 0) {
        rc = bf_error_set (BF_EIO, "simulated board '%s': %s", board->name, strerror (errno));
        close (*fd);
        *fd = -1;
    }
    return rc;
}

static bf_worker__regio_t *
s_running (bf_worker_t *self, const bf_board_t *board)
{
    for (bf_worker__regio_t *r = zlistx_first (self->regio); r; r = zlistx_next (self->regio))
        if (r->board == board && r->actor)
            return r;
    return NULL;
}

bool
bf_worker__regio_busy (bf_worker_t *self, const bf_board_t *board)
{
    return s_running (self, board) != NULL;
}

/*  The request's thread: the bridge runs the batch, then one signal. */
static void
s_actor (zsock_t *pipe, void *args)
{
    bf_worker__regio_t *r = args;
    zsock_signal (pipe, 0);
    const bf_board_t *b = r->board;
    const char *cls = BF_REGIO_CLASS_INFRA;
    int fd = r->fd;
    r->rc = BF_OK;
    if (fd < 0)
        r->rc = bf_bridge_open_uart (&fd, b->uart, b->baud);
    if (r->rc == BF_OK) {
        bf_bridge_opts_t o = { .board = b->name, .baud = b->baud, .litex = b->bridge_litex,
                               .deadline = r->deadline, .cancel = &r->cancel,
                               .wire_free = r->wire_free };
        r->rc = bf_bridge_run (fd, &r->batch, &o, &cls);
        r->wire_free = o.wire_free;
    }
    if (fd >= 0)
        close (fd);
    r->fd = -1;
    if (r->rc != BF_OK) {
        snprintf (r->error, sizeof r->error, "%s", bf_error_last ());
        r->cls = cls;
    }
    zsock_signal (pipe, 0);
    for (;;) {
        char *word = zstr_recv (pipe);
        bool term = !word || strcmp (word, "$TERM") == 0;
        free (word);
        if (term)
            break;
    }
}

static void
s_answer_error (bf_worker_t *self, const char *req, const char *cls, const char *error)
{
    json_t *body = json_pack ("{s:s, s:s, s:s}", "req", req, "class", cls, "error", error);
    bf_worker__send (self, "REGIORESULT", body, NULL);
    json_decref (body);
}

static void
s_free (bf_worker_t *self, bf_worker__regio_t *r)
{
    if (r->actor) {
        if (self->poller)
            zpoller_remove (self->poller, r->actor);
        zactor_destroy (&r->actor);
    }
    if (r->fd >= 0)
        close (r->fd);
    bf_regio_batch_release (&r->batch);
    void *handle = zlistx_find (self->regio, r);
    if (handle)
        zlistx_delete (self->regio, handle);
    free (r);
}

/*  Starts the board's next queued request, unless one runs or the board
    is loading (then the queued ones are refused: a program job took it). */
void
bf_worker__regio_next (bf_worker_t *self, const bf_board_t *board)
{
    if (s_running (self, board))
        return;
    char job[40] = "";
    bool loading = bf_worker__board_loading (self, board, job);
    bf_worker__regio_t *r = zlistx_first (self->regio), *next;
    for (; r; r = next) {
        next = zlistx_next (self->regio);
        if (r->board != board)
            continue;
        if (loading) {
            char *why = xasprintf ("board '%s' is busy programming (job %s)", board->name, job);
            s_answer_error (self, r->req, BF_REGIO_CLASS_INFRA, why);
            free (why);
            s_free (self, r);
            continue;
        }
        int64_t now = bf_mono_ms ();
        if (now >= r->deadline) {
            s_answer_error (self, r->req, BF_REGIO_CLASS_INFRA, "the request's time ran out "
                            "while it waited for the board");
            s_free (self, r);
            continue;
        }
        r->fd = -1;
        if (board->is_virtual && s_sim_fd (self, board, &r->fd) != BF_OK) {
            s_answer_error (self, r->req, BF_REGIO_CLASS_INFRA, bf_error_last ());
            s_free (self, r);
            continue;
        }
        r->wire_free = self->wire_free[board - self->boards];
        sigset_t block, old;
        sigemptyset (&block);
        sigaddset (&block, SIGINT);
        sigaddset (&block, SIGTERM);
        pthread_sigmask (SIG_BLOCK, &block, &old);
        r->actor = zactor_new (s_actor, r);
        pthread_sigmask (SIG_SETMASK, &old, NULL);
        zpoller_add (self->poller, r->actor);
        return;
    }
}

/*  REGIO {"req", "board", "ops", "timeout_ms"} + the writes' blobs. */
void
bf_worker__on_regio (bf_worker_t *self, bf_msg_t *msg)
{
    const char *req = NULL, *name = NULL;
    int64_t timeout_ms = BF_REGIO_TIMEOUT_DEFAULT_MS;
    if (bf_body_str (&req, msg->body, "req", BF_REGIO_REQ_LEN, true) != BF_OK
        || strlen (req) != BF_REGIO_REQ_LEN || strspn (req, "0123456789abcdef") != strlen (req)) {
        bf_warn ("REGIO without a valid 'req' dropped");
        return;
    }
    bf_worker__regio_t *r = NULL;
    const bf_board_t *board = NULL;
    char *why = NULL;
    const char *cls = BF_REGIO_CLASS_USAGE;
    if (bf_body_str (&name, msg->body, "board", BF_BOARD_NAME_MAX, true) != BF_OK
        || bf_body_int (&timeout_ms, msg->body, "timeout_ms", BF_REGIO_TIMEOUT_MIN_MS,
                        BF_REGIO_TIMEOUT_MAX_MS, false) == BF_EINVAL) {
        why = xstrdup (bf_error_last ());
        goto out;
    }
    for (int i = 0; i < self->nboards; i++)
        if (strcmp (self->boards[i].name, name) == 0)
            board = &self->boards[i];
    cls = BF_REGIO_CLASS_INFRA;
    char job[40];
    size_t queued = 0;
    for (bf_worker__regio_t *q = zlistx_first (self->regio); q; q = zlistx_next (self->regio))
        queued += board && q->board == board;
    if (!board)
        why = xasprintf ("no board named '%s' on this worker", name);
    else if (!board->uart[0] && !board->is_virtual)
        why = xasprintf ("board '%s' has no register bridge: its worker's config names no "
                         "\"uart\" (docs/boards.md)", board->name);
    else if (bf_worker__board_loading (self, board, job))
        why = xasprintf ("board '%s' is busy programming (job %s)", board->name, job);
    else if (queued >= BF_WORKER__REGIO_QUEUE)
        why = xasprintf ("board '%s' has %zu register requests waiting, limit %d", board->name,
                         queued, BF_WORKER__REGIO_QUEUE);
    if (why)
        goto out;
    r = xcalloc (1, sizeof *r);
    snprintf (r->req, sizeof r->req, "%s", req);
    r->board = board;
    r->fd = -1;
    r->deadline = bf_mono_ms () + timeout_ms;
    if (bf_regio_decode_request (&r->batch, json_object_get (msg->body, "ops"), msg->blobs)
        != BF_OK) {
        cls = BF_REGIO_CLASS_USAGE;
        why = xstrdup (bf_error_last ());
        free (r);
        r = NULL;
        goto out;
    }
    zlistx_add_end (self->regio, r);
    bf_worker__regio_next (self, board);
out:
    if (why) {
        s_answer_error (self, req, cls, why);
        free (why);
    }
}

bool
bf_worker__regio_actor (bf_worker_t *self, void *which)
{
    bf_worker__regio_t *r = zlistx_first (self->regio);
    while (r && (void *) r->actor != which)
        r = zlistx_next (self->regio);
    if (!r)
        return false;
    zsock_wait (r->actor);
    r->done = true;
    const bf_board_t *board = r->board;
    self->wire_free[board - self->boards] = r->wire_free;
    if (r->rc == BF_OK) {
        json_t *results = NULL;
        zmsg_t *blobs = NULL;
        bf_regio_encode_results (&results, &blobs, &r->batch);
        json_t *body = json_pack ("{s:s, s:o}", "req", r->req, "results", results);
        bf_worker__send (self, "REGIORESULT", body, &blobs);
        zmsg_destroy (&blobs);
        json_decref (body);
    }
    else {
        bf_info ("register request %.12s on board '%s' failed: %s", r->req, board->name,
                 r->error);
        s_answer_error (self, r->req, r->cls ? r->cls : BF_REGIO_CLASS_INFRA, r->error);
    }
    s_free (self, r);
    /* A program job that waited for the bridge goes first. */
    bf_worker__board_next (self, board);
    bf_worker__regio_next (self, board);
    return true;
}

void
bf_worker__regio_stop (bf_worker_t *self)
{
    if (!self->regio)
        return;
    for (bf_worker__regio_t *r = zlistx_first (self->regio); r; r = zlistx_next (self->regio))
        atomic_store (&r->cancel, 1);
    while (zlistx_size (self->regio) > 0) {
        bf_worker__regio_t *r = zlistx_first (self->regio);
        if (r->actor && !r->done)
            zsock_wait (r->actor);      /* its end, within a wait slice of the cancel */
        s_free (self, r);
    }
}
