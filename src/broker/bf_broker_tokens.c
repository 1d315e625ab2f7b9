/*  bf_broker_tokens - the HTTP API's bearer tokens over ZeroMQ (admin
    keys only, from the command table): TOKENCREATE, TOKENS, TOKENREVOKE.
    See bf_tokens.h and docs/http.md, "Access". */
#include "bf_broker_int.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"

#include <string.h>

/*  TOKENCREATE {"role": "client"|"admin", "key": NAME}: {"token", "id",
    "role", "name", "created_at", "created_by"}; the token is in no log. */
void
bf_broker_client_token_create (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *role, *name;
    char key[BF_CURVE_KEY_LEN + 1] = "";
    if (bf_body_str (&role, msg->body, "role", 8, true) != BF_OK
        || bf_body_str (&name, msg->body, "key", 64, true) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    if (self->auth && bf_auth_client_key (self->auth, key, name) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    if (!self->auth && (!*name || strspn (name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
                                          "rstuvwxyz0123456789._-") != strlen (name))) {
        bf_broker_error (self, rid, "bad key name '%.64s' (want 1..64 of A-Za-z0-9._-)", name);
        return;
    }
    char token[BF_TOKENS_LEN + 1];
    json_t *row = NULL;
    if (bf_tokens_create (self->tokens, token, &row, role, name, key, self->peer_name)
        != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    bf_info ("http token %s (%s, key '%s') created by '%s'",
             json_string_value (json_object_get (row, "id")), role, name, self->peer_name);
    json_object_set_new (row, "token", json_string (token));
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", row, NULL);
    json_decref (row);
}

/*  TOKENS {}: {"tokens": [{id, role, name, created_at, created_by}]}. */
void
bf_broker_client_tokens (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    (void) msg;
    json_t *body = json_pack ("{s:o}", "tokens", bf_tokens_list (self->tokens));
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
    json_decref (body);
}

/*  TOKENREVOKE {"id": 4..12 hex}: {"revoked": id}. */
void
bf_broker_client_token_revoke (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *prefix;
    char id[BF_TOKENS_ID_LEN + 1];
    if (bf_body_str (&prefix, msg->body, "id", BF_TOKENS_ID_LEN, true) != BF_OK
        || bf_tokens_revoke (self->tokens, id, prefix) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    bf_info ("http token %s revoked by '%s'", id, self->peer_name);
    json_t *body = json_pack ("{s:s}", "revoked", id);
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
    json_decref (body);
}
