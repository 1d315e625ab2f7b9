/*  bitfarm_session - register sessions on a reserved board: RESERVE,
    then REGIO through bf_regs, then RELEASE (include/bitfarm.h;
    docs/protocol.md sections 9 and 11). */
#include "bitfarm_int.h"
#include "../client/bf_regs.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct bitfarm_session {
    bitfarm_farm *farm;
    bf_regs_t *regs;
    char board[BF_TAG_MAX + 1];
    char token[40];
    bool attached;             /* the reservation is not ours to release */
};

/*  A register call's failure, by the class the worker or broker gave. */
static int
s_fail (bitfarm_session *s, int rc)
{
    return bf_lib_fail (rc, bf_regs_error_class (s->regs));
}

static int
s_open (bitfarm_farm *farm, const char *board, const char *token, bool attached,
        bitfarm_session **out)
{
    bitfarm_session *s = xcalloc (1, sizeof *s);
    s->farm = farm;
    s->attached = attached;
    snprintf (s->board, sizeof s->board, "%s", board);
    snprintf (s->token, sizeof s->token, "%s", token);
    int rc = bf_regs_open (&s->regs, farm->client, s->board, s->token, 0);
    if (rc != BF_OK) {
        free (s);
        return bf_lib_fail (rc, NULL);
    }
    *out = s;
    return bf_lib_ok ();
}

int
bitfarm_session_open (bitfarm_farm *farm, const char *board, const char *device,
                      int64_t lease_ms, const char *by, bitfarm_session **out)
{
    *out = NULL;
    if (!farm || (!board == !device))
        return bf_lib_error (BITFARM_EUSAGE, "a session needs a board or a device (one of "
                             "them)");
    if (lease_ms && (lease_ms < 1000 || lease_ms > 86400000))
        return bf_lib_error (BITFARM_EUSAGE, "lease of %lld ms out of range (1000 .. "
                             "86400000)", (long long) lease_ms);
    const char *name = board ? board : device;
    if (!*name || strlen (name) > (board ? BF_TAG_MAX : 16))
        return bf_lib_error (BITFARM_EUSAGE, "bad %s '%.40s'", board ? "board" : "device",
                             name);
    char label[160];
    bf_client_by_label (label, sizeof label, by, "libbitfarm");
    json_t *body = json_pack ("{s:s, s:I, s:s}", "by", label, "ttl_ms",
                              (json_int_t) (lease_ms ? lease_ms : 15 * 60000),
                              board ? "board" : "device", name);
    bf_msg_t *reply = NULL;
    int rc = bf_client_request (farm->client, &reply, "RESERVE", body, NULL);
    json_decref (body);
    if (rc != BF_OK)
        return bf_lib_request_fail (farm, rc);
    const char *got = json_string_value (json_object_get (reply->body, "board"));
    const char *token = json_string_value (json_object_get (reply->body, "token"));
    int code = got && token ? s_open (farm, got, token, false, out)
                            : bf_lib_error (BITFARM_EINFRA, "the broker's RESERVE reply has "
                                            "no board or token");
    if (code != BITFARM_OK && got && token) {
        /* a reply we cannot use: give the board back */
        json_t *rel = json_pack ("{s:s, s:s}", "board", got, "token", token);
        bf_msg_t *r2 = NULL;
        bf_client_request (farm->client, &r2, "RELEASE", rel, NULL);
        bf_msg_destroy (&r2);
        json_decref (rel);
    }
    bf_msg_destroy (&reply);
    return code;
}

int
bitfarm_session_attach (bitfarm_farm *farm, const char *board, const char *token,
                        bitfarm_session **out)
{
    *out = NULL;
    if (!farm || !board || !token)
        return bf_lib_error (BITFARM_EUSAGE, "attach needs a board and a reservation token");
    if (!*board || strlen (board) > BF_TAG_MAX)
        return bf_lib_error (BITFARM_EUSAGE, "bad board '%.40s'", board);
    return s_open (farm, board, token, true, out);
}

int
bitfarm_session_close (bitfarm_session **session_p)
{
    if (!session_p || !*session_p)
        return bf_lib_ok ();
    bitfarm_session *s = *session_p;
    int code = BITFARM_OK;
    if (!s->attached) {
        json_t *body = json_pack ("{s:s, s:s}", "board", s->board, "token", s->token);
        bf_msg_t *reply = NULL;
        int rc = bf_client_request (s->farm->client, &reply, "RELEASE", body, NULL);
        json_decref (body);
        bf_msg_destroy (&reply);
        code = rc == BF_OK ? BITFARM_OK : bf_lib_request_fail (s->farm, rc);
    }
    bf_regs_close (&s->regs);
    free (s);
    *session_p = NULL;
    return code == BITFARM_OK ? bf_lib_ok () : code;
}

const char *
bitfarm_session_board (const bitfarm_session *session)
{
    return session ? session->board : NULL;
}

const char *
bitfarm_session_token (const bitfarm_session *session)
{
    return session ? session->token : NULL;
}

int
bitfarm_session_program (bitfarm_session *session, const char *source, int64_t timeout_ms)
{
    bitfarm_job *job = NULL;
    int rc = bitfarm_program (session->farm, session->board, source, session->token, &job);
    if (rc == BITFARM_OK)
        rc = bitfarm_job_wait (job, timeout_ms, NULL, NULL);
    bitfarm_job_free (&job);
    return rc;
}

static int
s_count (size_t count)
{
    if (count < 1 || count > BF_REGIO_OP_WORDS_MAX)
        return bf_lib_error (BITFARM_EUSAGE, "count of %zu words out of range (1 .. %d)",
                             count, BF_REGIO_OP_WORDS_MAX);
    return BITFARM_OK;
}

int
bitfarm_session_read (bitfarm_session *session, uint32_t addr, uint32_t *out, size_t count,
                      unsigned flags)
{
    int rc = s_count (count);
    if (rc != BITFARM_OK)
        return rc;
    rc = bf_regs_read (session->regs, out, addr, (int64_t) count, flags & BITFARM_FIXED);
    return rc == BF_OK ? bf_lib_ok () : s_fail (session, rc);
}

int
bitfarm_session_write (bitfarm_session *session, uint32_t addr, const uint32_t *words,
                       size_t count, unsigned flags)
{
    int rc = s_count (count);
    if (rc != BITFARM_OK)
        return rc;
    rc = bf_regs_write (session->regs, addr, words, (int64_t) count, flags & BITFARM_FIXED);
    return rc == BF_OK ? bf_lib_ok () : s_fail (session, rc);
}

int
bitfarm_session_poll (bitfarm_session *session, uint32_t addr, uint32_t mask, uint32_t want,
                      int64_t timeout_ms, uint32_t *out)
{
    int rc = bf_regs_poll (session->regs, out, addr, mask, want, timeout_ms);
    if (rc == BF_OK)
        return bf_lib_ok ();
    int code = s_fail (session, rc);
    /* the worker's "poll timeout: ..." is a time limit passing (class design) */
    if (code == BITFARM_EDESIGN && strstr (bitfarm_error_last ()->message, "poll timeout:"))
        code = bf_lib_error (BITFARM_ETIMEOUT, "%s", bitfarm_error_last ()->message);
    return code;
}

int
bitfarm_session_ident (bitfarm_session *session, uint32_t *magic, uint32_t *version,
                       uint32_t *user_id, uint32_t *status)
{
    bf_regs_ident_t id;
    int rc = bf_regs_ident (session->regs, &id);
    if (rc != BF_OK)
        return s_fail (session, rc);
    if (magic)
        *magic = id.magic;
    if (version)
        *version = id.version;
    if (user_id)
        *user_id = id.user_id;
    if (status)
        *status = id.status;
    return bf_lib_ok ();
}
