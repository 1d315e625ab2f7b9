/*  bf_broker_http - the HTTP API's side of the broker loop (bf_http.h):
    the inproc ROUTER that bf_http's threads ask, who asks (a bearer
    token's key and role, or anonymous on loopback), which commands an
    HTTP request may run (read-only ones), and the HTTP status of each
    reply.  The command handlers and tenancy rules are the ZeroMQ side's
    own (bf_broker_handle, bf_broker_tenants.c): a token stands for its
    key as CURVE does for a ZeroMQ peer.

    Inproc messages: [token SHA-256 hex | "anonymous"] + a BFC01 client
    message (bf_msg_encode); the reply is ["200" | "400" | ...] + the
    handler's reply (OK or ERROR, {"error"} for the latter).
*/
#include "bf_broker_int.h"
#include "../common/bf_datadir.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_util.h"

#include <stdlib.h>
#include <string.h>

/*  The commands an HTTP request may ask: all read-only. */
static const struct {
    const char *name;
    bool one_job;               /* its "id" names a job (404 when not in the view) */
    bool missing_is_404;        /* an ERROR means "no such object" (FETCH) */
} s_allowed[] = {
    { "JOBS", false, false }, { "STATUS", true, false }, { "LOGS", true, false },
    { "FETCH", true, true }, { "WORKERS", false, false }, { "BOARDS", false, false },
    { "CACHESTATS", false, false }, { "FARM", false, false }, { "METRICS", false, false },
};

int
bf_broker_http_start (bf_broker_t *self)
{
    /* on the jobs' connection, so that its writes join their batches */
    self->tokens = bf_tokens_open_on (bf_jobs_db (self->jobs));
    int rc = BF_OK;
    if (!self->cfg.http_addr)
        return rc;
    self->http_sock = zsock_new (ZMQ_ROUTER);
    zsock_set_router_mandatory (self->http_sock, 1);
    zsock_set_sndtimeo (self->http_sock, 0);
    self->http_ep = xasprintf ("inproc://bitfarm-http-%p", (void *) self);
    if (zsock_bind (self->http_sock, "%s", self->http_ep) < 0)
        return bf_error_set (BF_EIO, "cannot bind '%s': %s", self->http_ep,
                             zmq_strerror (errno));
    char *root = NULL;
    if (!self->cfg.http_root) {
        char *data = bf_datadir ();
        if (data)
            root = xasprintf ("%s/dashboard", data);
        free (data);
    }
    bf_http_config_t hc = {
        .addr = self->cfg.http_addr, .port_fallback = self->cfg.http_port_fallback,
        .root = self->cfg.http_root ? self->cfg.http_root : root,
        .cert_path = self->cfg.http_cert, .key_path = self->cfg.http_key,
        .require_token = self->cfg.http_require_token,
        .metrics_public = self->cfg.metrics_public, .insecure = self->cfg.insecure,
        .broker_ep = self->http_ep,
    };
    rc = bf_http_new (&self->http, &hc);
    free (root);
    if (rc != BF_OK)
        return rc;
    bf_info ("http API on %s/api/v1/ (metrics %s/metrics)", bf_http_url (self->http),
             bf_http_url (self->http));
    if (self->cfg.http_url_file) {
        char *line = xasprintf ("%s\n", bf_http_url (self->http));
        if (bf_file_write_atomic (self->cfg.http_url_file, line, strlen (line), 0600) != BF_OK)
            bf_warn ("%s", bf_error_last ());
        free (line);
    }
    return BF_OK;
}

const char *
bf_broker_http_url (bf_broker_t *self)
{
    return self->http ? bf_http_url (self->http) : NULL;
}

void
bf_broker_http_stop (bf_broker_t *self)
{
    bf_http_destroy (&self->http);   /* joins its threads: nothing asks after this */
    zsock_destroy (&self->http_sock);
    zmsg_destroy (&self->captured);
    if (self->cfg.http_url_file && self->http_ep)
        remove (self->cfg.http_url_file);
    free (self->http_ep);
    self->http_ep = NULL;
    bf_tokens_destroy (&self->tokens);
}

/*  Sets self->peer_* for an HTTP request: 0, or the HTTP status of a
    refusal with its text in why. */
static int
s_identify (bf_broker_t *self, const char *who, char *why, size_t whylen)
{
    self->peer_key[0] = '\0';
    if (strcmp (who, "anonymous") == 0) {
        /* loopback without --http-require-token: the local farm's access */
        snprintf (self->peer_name, sizeof self->peer_name, "http");
        self->peer_roles = BF_AUTH_CLIENT | BF_AUTH_ADMIN;
        return 0;
    }
    bf_token_row_t row;
    if (bf_tokens_lookup (self->tokens, &row, who) != BF_OK) {
        snprintf (why, whylen, "unknown or revoked token");
        return 401;
    }
    int status = 0;
    snprintf (self->peer_name, sizeof self->peer_name, "%s", row.name);
    self->peer_roles = strcmp (row.role, "admin") == 0 ? BF_AUTH_CLIENT | BF_AUTH_ADMIN
                                                       : BF_AUTH_CLIENT;
    if (self->auth) {
        /* The token's key must still be allowed (KEYS/clients or KEYS/admins). */
        if (!(bf_auth_roles (self->auth, row.key, NULL) & BF_AUTH_CLIENT)) {
            snprintf (why, whylen, "the token's key '%s' is no longer allowed", row.name);
            status = 401;
        }
        snprintf (self->peer_key, sizeof self->peer_key, "%s", row.key);
    }
    bf_token_row_release (&row);
    return status;
}

/*  The reply kept for the request, with its HTTP status, to the asker. */
static void
s_answer (bf_broker_t *self, zframe_t *rid, int status, zmsg_t **msg_p)
{
    char text[8];
    snprintf (text, sizeof text, "%d", status);
    zmsg_pushstr (*msg_p, text);
    zframe_t *copy = zframe_dup (rid);
    zmsg_prepend (*msg_p, &copy);
    if (zmsg_send (msg_p, self->http_sock) != 0) {
        bf_debug ("http: the asker is gone: %s", zmq_strerror (errno));
        zmsg_destroy (msg_p);
    }
}

static void
s_refuse (bf_broker_t *self, zframe_t *rid, int status, const char *why)
{
    json_t *body = json_pack ("{s:s}", "error", why);
    zmsg_t *msg = bf_msg_encode (BF_PROTO_CLIENT, "ERROR", body, NULL);
    json_decref (body);
    s_answer (self, rid, status, &msg);
}

void
bf_broker_http_serve (bf_broker_t *self)
{
    zmsg_t *raw = zmsg_recv (self->http_sock);
    if (!raw)
        return;
    zframe_t *rid = zmsg_pop (raw);
    char *who = zmsg_popstr (raw);
    bf_msg_t *msg = NULL;
    char why[256];
    int status;
    if (!rid || !who || bf_msg_decode (&msg, &raw) != BF_OK) {
        if (rid)
            s_refuse (self, rid, 400, "malformed request");
        goto out;
    }
    size_t i, n = sizeof s_allowed / sizeof s_allowed[0];
    for (i = 0; i < n && strcmp (s_allowed[i].name, msg->command) != 0; i++)
        ;
    if (i == n) {
        s_refuse (self, rid, 405, "not a command of the HTTP API");
        goto out;
    }
    if ((status = s_identify (self, who, why, sizeof why)) != 0) {
        s_refuse (self, rid, status, why);
        goto out;
    }
    if (s_allowed[i].one_job) {
        /* The owner rule first, for the status: another key's job is no job. */
        const char *prefix = json_string_value (json_object_get (msg->body, "id"));
        char id[BF_JOB_ID_LEN + 1];
        int rc = prefix ? bf_jobs_resolve_owned (self->jobs, id, prefix, bf_broker_view (self))
                        : BF_EINVAL;
        if (rc != BF_OK) {
            s_refuse (self, rid, rc == BF_ENOTFOUND ? 404 : 400,
                      prefix ? bf_error_last () : "no job id");
            goto out;
        }
    }
    self->capture_rid = rid;
    if (strcmp (msg->command, "FARM") == 0)
        bf_broker_client_farm (self, rid, msg);
    else if (strcmp (msg->command, "METRICS") == 0)
        bf_broker_client_metrics (self, rid, msg);
    else
        bf_broker_handle (self, rid, msg);
    self->capture_rid = NULL;
    zmsg_t *reply = self->captured;
    self->captured = NULL;
    bf_msg_t *r = NULL;
    if (!reply || bf_msg_decode (&r, &reply) != BF_OK) {
        s_refuse (self, rid, 500, "no answer from the handler");
        goto out;
    }
    status = 200;
    if (strcmp (r->command, "ERROR") == 0) {
        const char *cls = json_string_value (json_object_get (r->body, "class"));
        status = cls && strcmp (cls, "denied") == 0 ? 403 : s_allowed[i].missing_is_404 ? 404
                 : 400;
        json_object_del (r->body, "class");
    }
    zmsg_t *out = bf_msg_encode (BF_PROTO_CLIENT, r->command, r->body, &r->blobs);
    s_answer (self, rid, status, &out);
    bf_msg_destroy (&r);
out:
    free (who);
    zmsg_destroy (&raw);
    bf_msg_destroy (&msg);
    zframe_destroy (&rid);
}
