/*  bf_broker_regio - register requests (docs/protocol.md section 11):
    REGIO from a client is checked (its batch, the reservation token of
    the calling key, the board's health, worker and load), renews the
    lease, and is relayed to the worker that owns the board under a fresh
    request id; the worker's REGIORESULT is checked against the request it
    answers (same worker, a pending id, one result per operation, read
    blobs of the sizes asked) and relayed back.  Pending requests live in
    a bounded table with deadlines; an overdue one is answered with one
    line.  Nothing here is journalled and nothing blocks: sends are
    ZMQ_DONTWAIT (bf_broker_send). */
#include "bf_broker_int.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_regio.h"
#include "../common/bf_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_REQ_LEN      32          /* a request id: 128 random bits, hex */
#define S_MARGIN_MS    2000        /* the broker waits this much longer than the worker may */

typedef struct {
    char req[S_REQ_LEN + 1];
    zframe_t *client;           /* the client's routing id */
    char *worker_rid;           /* the worker's routing id (hex), which must answer */
    char worker[BF_BROKER_WORKER_NAME + 1];
    char board[BF_TAG_MAX + 1];
    bf_regio_batch_t batch;     /* the request as relayed: results are checked against it */
    int64_t timeout_ms;
    int64_t deadline;           /* monotonic ms */
} s_pending_t;

static void
s_pending_destroy (void **item_p)
{
    s_pending_t *p = *item_p;
    if (!p)
        return;
    zframe_destroy (&p->client);
    free (p->worker_rid);
    bf_regio_batch_release (&p->batch);
    free (p);
    *item_p = NULL;
}

/*  ERROR {"error", "class"} to a client. */
static void
s_fail (bf_broker_t *self, zframe_t *rid, const char *cls, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    json_t *body = json_pack ("{s:s, s:s}", "error", text, "class", cls);
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "ERROR", body, NULL);
    json_decref (body);
}

static zhashx_t *
s_table (bf_broker_t *self)
{
    if (!self->regio) {
        self->regio = zhashx_new ();
        zhashx_set_destructor (self->regio, s_pending_destroy);
    }
    return self->regio;
}

/*  REGIO {"board", "token", "ops", "timeout_ms"?} + one blob per write. */
void
bf_broker_client_regio (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *name = NULL, *token = NULL;
    int64_t timeout_ms = BF_REGIO_TIMEOUT_DEFAULT_MS;
    bf_regio_batch_t batch;
    bf_regio_batch_init (&batch);
    bf_board_row_t row;
    memset (&row, 0, sizeof row);
    char hash[BF_SHA256_HEX_LEN + 1], busy[BF_JOB_ID_LEN + 1], req[S_REQ_LEN + 1];
    if (bf_body_str (&name, msg->body, "board", BF_TAG_MAX, true) != BF_OK
        || bf_body_int (&timeout_ms, msg->body, "timeout_ms", BF_REGIO_TIMEOUT_MIN_MS,
                        BF_REGIO_TIMEOUT_MAX_MS, false) == BF_EINVAL
        || bf_body_str (&token, msg->body, "token", BF_TOKEN_HEX_LEN, false) == BF_EINVAL) {
        s_fail (self, rid, BF_REGIO_CLASS_USAGE, "%s", bf_error_last ());
        goto out;
    }
    if (!token) {
        s_fail (self, rid, BF_REGIO_CLASS_USAGE, "register I/O on board '%s' needs a "
                "reservation: `bitfarm reserve %s` (or `bitfarm session`), then --token or "
                "$BITFARM_TOKEN", name, name);
        goto out;
    }
    if (strlen (token) != BF_TOKEN_HEX_LEN
        || strspn (token, "0123456789abcdef") != BF_TOKEN_HEX_LEN) {
        s_fail (self, rid, BF_REGIO_CLASS_USAGE, "field 'token' must be a reservation token (%d "
                "hex characters, from `bitfarm reserve`)", BF_TOKEN_HEX_LEN);
        goto out;
    }
    if (bf_regio_decode_request (&batch, json_object_get (msg->body, "ops"), msg->blobs)
        != BF_OK) {
        s_fail (self, rid, BF_REGIO_CLASS_USAGE, "%s", bf_error_last ());
        goto out;
    }
    bf_sha256_hex (hash, token, strlen (token));
    const char *key = self->peer_key[0] ? self->peer_key : NULL;
    if (bf_boards_get (self->boards, &row, name) != BF_OK) {
        s_fail (self, rid, BF_REGIO_CLASS_USAGE, "no board named '%.32s' (see `bitfarm "
                "boards`)", name);
        goto out;
    }
    if (bf_boards_check_held (self->boards, name, hash, key) != BF_OK) {
        s_fail (self, rid, BF_REGIO_CLASS_USAGE, "%s", bf_error_last ());
        goto out;
    }
    bf_broker_worker_t *w = bf_broker_board_owner (self, name);
    if (row.health != BF_HEALTH_OK) {
        s_fail (self, rid, BF_REGIO_CLASS_INFRA, "board '%s' is in %s (%s)", name,
                bf_health_name (row.health), row.health_reason ? row.health_reason : "-");
        goto out;
    }
    if (!w) {
        s_fail (self, rid, BF_REGIO_CLASS_INFRA, "board '%s' is offline: its worker '%s' is "
                "not connected", name, row.worker ? row.worker : "?");
        goto out;
    }
    if (bf_jobs_board_job (self->jobs, busy, name) == BF_OK) {
        s_fail (self, rid, BF_REGIO_CLASS_INFRA, "board '%s' is busy programming (job %s); "
                "register I/O waits for the end of the load: try again", name, busy);
        goto out;
    }
    zhashx_t *table = s_table (self);
    size_t on_board = 0;
    for (s_pending_t *p = zhashx_first (table); p; p = zhashx_next (table))
        on_board += strcmp (p->board, name) == 0;
    if (zhashx_size (table) >= BF_BROKER_REGIO_PENDING || on_board >= BF_BROKER_REGIO_BOARD) {
        s_fail (self, rid, BF_REGIO_CLASS_INFRA, "too many register requests in flight (%zu "
                "for board '%s', limit %d; %zu in all, limit %d): try again", on_board, name,
                BF_BROKER_REGIO_BOARD, zhashx_size (table), BF_BROKER_REGIO_PENDING);
        goto out;
    }
    if (bf_random_hex (req, S_REQ_LEN / 2) != BF_OK) {
        s_fail (self, rid, BF_REGIO_CLASS_INFRA, "no random source for a request id");
        goto out;
    }
    /* Using the board renews the lease. */
    bf_boards_renew (self->boards, name, hash, bf_now_ms ());
    json_t *ops = NULL;
    zmsg_t *blobs = NULL;
    bf_regio_encode_request (&ops, &blobs, &batch);
    json_t *body = json_pack ("{s:s, s:s, s:o, s:I}", "req", req, "board", name, "ops", ops,
                              "timeout_ms", (json_int_t) timeout_ms);
    bf_broker_reply (self, w->rid_frame, BF_PROTO_WORKER, "REGIO", body, &blobs);
    zmsg_destroy (&blobs);
    json_decref (body);
    s_pending_t *p = xcalloc (1, sizeof *p);
    snprintf (p->req, sizeof p->req, "%s", req);
    p->client = zframe_dup (rid);
    p->worker_rid = xstrdup (w->rid);
    snprintf (p->worker, sizeof p->worker, "%s", w->name);
    snprintf (p->board, sizeof p->board, "%s", name);
    p->batch = batch;                   /* transferred */
    bf_regio_batch_init (&batch);
    p->timeout_ms = timeout_ms;
    p->deadline = bf_mono_ms () + timeout_ms + S_MARGIN_MS;
    zhashx_insert (table, p->req, p);
    bf_debug ("register request %.12s: %zu op(s) on board '%s' to worker '%s'", req, p->batch.n,
              name, w->name);
out:
    bf_regio_batch_release (&batch);
    bf_board_row_release (&row);
}

/*  A worker's error line, kept printable and bounded: it is shown to
    people. */
static void
s_clean (char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    for (const char *c = src; *c && n + 1 < cap; c++)
        dst[n++] = ((unsigned char) *c >= 0x20 && *c != 0x7f) ? *c : '?';
    dst[n] = '\0';
}

/*  REGIORESULT {"req", "results"} + one blob per read, or {"req",
    "error", "class"}: from the worker the request went to, for a pending
    request; anything else is dropped, with a warning. */
void
bf_broker_worker_regio_result (bf_broker_t *self, bf_broker_worker_t *w, bf_msg_t *msg)
{
    const char *req = NULL, *error = NULL, *cls = NULL;
    if (bf_body_str (&req, msg->body, "req", S_REQ_LEN, true) != BF_OK) {
        bf_warn ("REGIORESULT from worker '%s' without a request id: dropped", w->name);
        return;
    }
    s_pending_t *p = self->regio ? zhashx_lookup (self->regio, req) : NULL;
    if (!p || strcmp (p->worker_rid, w->rid) != 0) {
        bf_warn ("REGIORESULT from worker '%s' for request %.32s, which %s: dropped", w->name,
                 req, p ? "went to another worker" : "is not pending (answered, or timed out)");
        return;
    }
    if (bf_body_str (&error, msg->body, "error", BF_REGIO_ERROR_MAX, false) == BF_EINVAL
        || bf_body_str (&cls, msg->body, "class", 16, false) == BF_EINVAL)
        error = "the worker's error is not a line of at most 512 bytes";
    if (error) {
        char clean[BF_REGIO_ERROR_MAX + 1];
        s_clean (clean, sizeof clean, error);
        s_fail (self, p->client, bf_regio_class_valid (cls) ? cls : BF_REGIO_CLASS_INFRA, "%s",
                clean);
    }
    else if (bf_regio_decode_results (&p->batch, json_object_get (msg->body, "results"),
                                      msg->blobs) != BF_OK) {
        bf_warn ("worker '%s' sent a malformed register answer: %s", w->name, bf_error_last ());
        s_fail (self, p->client, BF_REGIO_CLASS_INFRA, "worker '%s' sent a malformed answer "
                "for board '%s': %s", w->name, p->board, bf_error_last ());
    }
    else {
        json_t *results = NULL;
        zmsg_t *blobs = NULL;
        bf_regio_encode_results (&results, &blobs, &p->batch);
        json_t *body = json_pack ("{s:s, s:o}", "board", p->board, "results", results);
        bf_broker_reply (self, p->client, BF_PROTO_CLIENT, "OK", body, &blobs);
        zmsg_destroy (&blobs);
        json_decref (body);
    }
    zhashx_delete (self->regio, req);
}

void
bf_broker_regio_expire (bf_broker_t *self, int64_t now)
{
    if (!self->regio || zhashx_size (self->regio) == 0)
        return;
    zlistx_t *late = zlistx_new ();
    for (s_pending_t *p = zhashx_first (self->regio); p; p = zhashx_next (self->regio))
        if (now >= p->deadline)
            zlistx_add_end (late, p);
    for (s_pending_t *p = zlistx_first (late); p; p = zlistx_next (late)) {
        bf_warn ("register request %.12s on board '%s': no answer from worker '%s'", p->req,
                 p->board, p->worker);
        s_fail (self, p->client, BF_REGIO_CLASS_INFRA, "no answer from worker '%s' for board "
                "'%s' within %lld ms", p->worker, p->board,
                (long long) (p->timeout_ms + S_MARGIN_MS));
        zhashx_delete (self->regio, p->req);
    }
    zlistx_destroy (&late);
}

void
bf_broker_regio_worker_gone (bf_broker_t *self, bf_broker_worker_t *w, const char *why)
{
    if (!self->regio || zhashx_size (self->regio) == 0)
        return;
    zlistx_t *gone = zlistx_new ();
    for (s_pending_t *p = zhashx_first (self->regio); p; p = zhashx_next (self->regio))
        if (strcmp (p->worker_rid, w->rid) == 0)
            zlistx_add_end (gone, p);
    for (s_pending_t *p = zlistx_first (gone); p; p = zlistx_next (gone)) {
        s_fail (self, p->client, BF_REGIO_CLASS_INFRA, "worker '%s' of board '%s' went away "
                "before it answered (%s)", p->worker, p->board, why);
        zhashx_delete (self->regio, p->req);
    }
    zlistx_destroy (&gone);
}
