/*  bf_regs - see bf_regs.h. */
#include "bf_regs.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <stdlib.h>
#include <string.h>

#define S_MARGIN_MS 3000     /* the client waits longer than the broker does */

struct _bf_regs_t {
    bf_client_t *client;        /* borrowed */
    char board[BF_TAG_MAX + 1];
    char token[40];
    int64_t timeout_ms;
    const char *cls;            /* the last failure's class, static; NULL */
};

int
bf_regs_open (bf_regs_t **out, bf_client_t *client, const char *board, const char *token,
              int64_t timeout_ms)
{
    *out = NULL;
    if (!board || !bf_tag_valid (board))
        return bf_error_set (BF_EINVAL, "invalid board name '%.40s' (1..32 of a-z 0-9 _ . -)",
                             board ? board : "");
    if (!token || !*token)
        return bf_error_set (BF_EINVAL, "register I/O on board '%s' needs a reservation token: "
                             "`bitfarm reserve %s`, then --token or $BITFARM_TOKEN", board,
                             board);
    if (strlen (token) != 32 || strspn (token, "0123456789abcdef") != 32)
        return bf_error_set (BF_EINVAL, "invalid reservation token '%.40s' (32 hex characters, "
                             "from `bitfarm reserve`)", token);
    if (timeout_ms != 0 && (timeout_ms < BF_REGIO_TIMEOUT_MIN_MS
                            || timeout_ms > BF_REGIO_TIMEOUT_MAX_MS))
        return bf_error_set (BF_EINVAL, "request timeout %lld ms is out of range (%d..%d ms)",
                             (long long) timeout_ms, BF_REGIO_TIMEOUT_MIN_MS,
                             BF_REGIO_TIMEOUT_MAX_MS);
    bf_regs_t *self = xcalloc (1, sizeof *self);
    self->client = client;
    snprintf (self->board, sizeof self->board, "%s", board);
    snprintf (self->token, sizeof self->token, "%s", token);
    self->timeout_ms = timeout_ms ? timeout_ms : BF_REGIO_TIMEOUT_DEFAULT_MS;
    *out = self;
    return BF_OK;
}

void
bf_regs_close (bf_regs_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

const char *
bf_regs_error_class (const bf_regs_t *self)
{
    return self->cls;
}

/*  The broker's class names, as static strings. */
static const char *
s_class (const char *name)
{
    if (name && strcmp (name, BF_REGIO_CLASS_USAGE) == 0)
        return BF_REGIO_CLASS_USAGE;
    if (name && strcmp (name, BF_REGIO_CLASS_DESIGN) == 0)
        return BF_REGIO_CLASS_DESIGN;
    return BF_REGIO_CLASS_INFRA;
}

int
bf_regs_run (bf_regs_t *self, bf_regio_batch_t *batch)
{
    self->cls = BF_REGIO_CLASS_USAGE;
    if (batch->n == 0)
        return bf_error_set (BF_EINVAL, "an empty batch: nothing to do");
    /* The request's time covers its polls' (and a second more). */
    int64_t tmo = 1000;
    for (size_t i = 0; i < batch->n; i++)
        tmo += batch->ops[i].kind == BF_REGIO_POLL ? batch->ops[i].timeout_ms : 0;
    tmo = tmo < self->timeout_ms ? self->timeout_ms
          : tmo > BF_REGIO_TIMEOUT_MAX_MS ? BF_REGIO_TIMEOUT_MAX_MS : tmo;
    json_t *ops = NULL;
    zmsg_t *blobs = NULL;
    bf_regio_encode_request (&ops, &blobs, batch);
    json_t *body = json_pack ("{s:s, s:s, s:o, s:I}", "board", self->board, "token", self->token,
                              "ops", ops, "timeout_ms", (json_int_t) tmo);
    /* The broker answers within the request's time and its own margin. */
    int wait = (int) (tmo + S_MARGIN_MS);
    int old = bf_client_timeout (self->client, 0);
    bf_client_timeout (self->client, old > wait ? old : wait);
    bf_msg_t *reply = NULL;
    int rc = bf_client_request (self->client, &reply, "REGIO", body, &blobs);
    bf_client_timeout (self->client, old);
    zmsg_destroy (&blobs);
    json_decref (body);
    if (rc == BF_ERROR)
        self->cls = s_class (bf_client_error_class (self->client));
    else if (rc != BF_OK)
        self->cls = BF_REGIO_CLASS_INFRA;
    else if (bf_regio_decode_results (batch, json_object_get (reply->body, "results"),
                                      reply->blobs) != BF_OK) {
        self->cls = BF_REGIO_CLASS_INFRA;
        rc = bf_error_set (BF_EPROTO, "bad register answer from the broker: %s",
                           bf_error_last ());
    }
    else
        self->cls = NULL;
    bf_msg_destroy (&reply);
    return rc;
}

int
bf_regs_read (bf_regs_t *self, uint32_t *out, int64_t addr, int64_t count, bool fixed)
{
    bf_regio_batch_t b;
    bf_regio_batch_init (&b);
    self->cls = BF_REGIO_CLASS_USAGE;
    int rc = bf_regio_add_read (&b, addr, count, fixed);
    if (rc == BF_OK && (rc = bf_regs_run (self, &b)) == BF_OK)
        memcpy (out, b.ops[0].words, (size_t) count * sizeof (uint32_t));
    bf_regio_batch_release (&b);
    return rc;
}

int
bf_regs_write (bf_regs_t *self, int64_t addr, const uint32_t *words, int64_t count, bool fixed)
{
    bf_regio_batch_t b;
    bf_regio_batch_init (&b);
    self->cls = BF_REGIO_CLASS_USAGE;
    int rc = bf_regio_add_write (&b, addr, words, count, fixed);
    if (rc == BF_OK)
        rc = bf_regs_run (self, &b);
    bf_regio_batch_release (&b);
    return rc;
}

int
bf_regs_poll (bf_regs_t *self, uint32_t *out, int64_t addr, uint32_t mask, uint32_t want,
              int64_t timeout_ms)
{
    bf_regio_batch_t b;
    bf_regio_batch_init (&b);
    self->cls = BF_REGIO_CLASS_USAGE;
    int rc = bf_regio_add_poll (&b, addr, mask, want, timeout_ms);
    if (rc == BF_OK && (rc = bf_regs_run (self, &b)) == BF_OK && out)
        *out = b.ops[0].got;
    bf_regio_batch_release (&b);
    return rc;
}

int
bf_regs_ident (bf_regs_t *self, bf_regs_ident_t *out)
{
    bf_regio_batch_t b;
    bf_regio_batch_init (&b);
    self->cls = BF_REGIO_CLASS_USAGE;
    int rc = bf_regio_add_ident (&b);
    if (rc == BF_OK && (rc = bf_regs_run (self, &b)) == BF_OK) {
        out->magic = b.ops[0].magic;
        out->version = b.ops[0].version;
        out->user_id = b.ops[0].user_id;
        out->status = b.ops[0].status;
    }
    bf_regio_batch_release (&b);
    return rc;
}
