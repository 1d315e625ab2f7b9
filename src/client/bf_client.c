/*  bf_client - see bf_client.h. */
#include "bf_client.h"
#include "bf_submit_body.h"
#include "../common/bf_curve.h"
#include "../common/bf_error.h"
#include "../common/bf_manifest.h"
#include "../common/bf_proof.h"
#include "../common/bf_sha256.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_UPLOAD_BATCH (32u << 20)   /* bytes per UPLOAD message */

struct _bf_client_t {
    char *endpoint;
    int timeout_ms;
    zsock_t *dealer;
    bf_curve_t *curve;          /* NULL: plain */
    char err_class[16];         /* the last ERROR's "class", or "" */
};

int
bf_client_timeout (bf_client_t *self, int timeout_ms)
{
    int old = self->timeout_ms;
    if (timeout_ms > 0)
        self->timeout_ms = timeout_ms;
    return old;
}

const char *
bf_client_error_class (const bf_client_t *self)
{
    return self->err_class[0] ? self->err_class : NULL;
}

static int
s_connect (bf_client_t *self)
{
    zsock_destroy (&self->dealer);
    self->dealer = zsock_new (ZMQ_DEALER);
    bf_socket_policy (self->dealer);
    if (self->curve)
        bf_curve_apply (self->curve, self->dealer);
    if (zsock_connect (self->dealer, "%s", self->endpoint) < 0)
        return bf_error_set (BF_EINVAL, "cannot connect to '%s': %s", self->endpoint,
                             zmq_strerror (errno));
    return BF_OK;
}

int
bf_client_new (bf_client_t **out, const char *endpoint, int timeout_ms)
{
    bf_client_t *self = xcalloc (1, sizeof *self);
    self->endpoint = xstrdup (endpoint);
    self->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    int rc = s_connect (self);
    if (rc != BF_OK) {
        bf_client_destroy (&self);
        *out = NULL;
        return rc;
    }
    *out = self;
    return BF_OK;
}

void
bf_client_destroy (bf_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsock_destroy (&(*self_p)->dealer);
    bf_curve_destroy (&(*self_p)->curve);
    free ((*self_p)->endpoint);
    free (*self_p);
    *self_p = NULL;
}

int
bf_client_curve (bf_client_t *self, const char *cert_path, const char *broker_key_path)
{
    bf_curve_destroy (&self->curve);
    int rc = bf_curve_new (&self->curve, cert_path, broker_key_path);
    if (rc != BF_OK)
        return rc;
    return s_connect (self);
}

int
bf_client_request (bf_client_t *self, bf_msg_t **reply, const char *command, json_t *body,
                   zmsg_t **blobs_p)
{
    *reply = NULL;
    self->err_class[0] = '\0';
    zmsg_t *msg = bf_msg_encode (BF_PROTO_CLIENT, command, body, blobs_p);
    if (zmsg_send (&msg, self->dealer) != 0) {
        zmsg_destroy (&msg);
        return bf_error_set (BF_EIO, "cannot send to broker at '%s': %s", self->endpoint,
                             zmq_strerror (errno));
    }
    zpoller_t *poller = zpoller_new (self->dealer, NULL);
    if (self->curve)
        zpoller_add (poller, bf_curve_monitor (self->curve));
    int64_t deadline = zclock_mono () + self->timeout_ms;
    void *which = NULL;
    bool interrupted = false;
    while (!which && !interrupted) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            break;
        which = zpoller_wait (poller, (int) left);
        interrupted = zpoller_terminated (poller);
        if (which && which != self->dealer) {
            which = NULL;
            if (bf_curve_refused (self->curve)) {
                zpoller_destroy (&poller);
                s_connect (self);       /* its detail stays: connect fails only on a bad endpoint */
                return BF_EACCES;
            }
        }
    }
    zpoller_destroy (&poller);
    if (!which) {
        /* Forget the request: a late reply must not answer the next one. */
        s_connect (self);
        if (interrupted)
            return bf_error_set (BF_ETIMEDOUT, "interrupted");
        return bf_error_set (BF_ETIMEDOUT, "no answer from broker at '%s' within %d ms "
                             "(is bitfarm-broker running?)", self->endpoint, self->timeout_ms);
    }
    zmsg_t *raw = zmsg_recv (self->dealer);
    bf_msg_t *m = NULL;
    int rc = bf_msg_decode (&m, &raw);
    if (rc != BF_OK)
        return bf_error_set (BF_EPROTO, "bad reply from broker: %s", bf_error_last ());
    if (strcmp (m->command, "ERROR") == 0) {
        const char *text = json_string_value (json_object_get (m->body, "error"));
        const char *cls = json_string_value (json_object_get (m->body, "class"));
        if (cls && strlen (cls) < sizeof self->err_class && strspn (cls, "abcdefghijklmnopqrstuvwxyz")
            == strlen (cls))
            snprintf (self->err_class, sizeof self->err_class, "%s", cls);
        rc = bf_error_set (BF_ERROR, "%s", text ? text : "broker error");
        bf_msg_destroy (&m);
        return rc;
    }
    *reply = m;
    return BF_OK;
}

static int
s_upload (bf_client_t *self, const bf_design_t *design, json_t *missing, uint64_t *uploaded)
{
    size_t i = 0, n = json_array_size (missing);
    while (i < n) {
        json_t *digests = json_array ();
        zmsg_t *blobs = zmsg_new ();
        size_t batch = 0;
        for (; i < n && (batch == 0 || batch < S_UPLOAD_BATCH); i++) {
            const char *digest = json_string_value (json_array_get (missing, i));
            const char *path = digest ? bf_design_path (design, digest) : NULL;
            if (!path) {
                json_decref (digests);
                zmsg_destroy (&blobs);
                return bf_error_set (BF_EPROTO, "broker asked for an input we did not offer");
            }
            char *data = NULL;
            size_t len = 0;
            int rc = bf_design_read (design, &data, &len, digest);
            if (rc != BF_OK) {
                json_decref (digests);
                zmsg_destroy (&blobs);
                return rc;
            }
            char now[BF_SHA256_HEX_LEN + 1];
            bf_sha256_hex (now, data, len);
            if (strcmp (now, digest) != 0) {
                free (data);
                json_decref (digests);
                zmsg_destroy (&blobs);
                return bf_error_set (BF_EINVAL, "'%s' changed while it was being submitted", path);
            }
            zmsg_addmem (blobs, data, len);
            json_array_append_new (digests, json_string (digest));
            batch += len;
            if (uploaded)
                *uploaded += len;
            free (data);
        }
        json_t *body = json_pack ("{s:o}", "digests", digests);
        bf_msg_t *reply = NULL;
        int rc = bf_client_request (self, &reply, "UPLOAD", body, &blobs);
        json_decref (body);
        bf_msg_destroy (&reply);
        if (rc != BF_OK)
            return rc;
    }
    return BF_OK;
}

/*  On a CURVE connection, the proofs that this key holds each input
    (bf_proof.h), as SUBMIT's "proofs" object digest -> proof; NULL when
    plain.  A file that cannot be read gets no proof: the broker then asks
    for it (NEED), and the upload says why. */
static json_t *
s_proofs (bf_client_t *self, const bf_design_t *design)
{
    if (!self->curve)
        return NULL;
    const char *key = bf_curve_public (self->curve);
    json_t *inputs = bf_manifest_input_digests (bf_design_manifest (design));
    json_t *proofs = json_object ();
    size_t i;
    json_t *v;
    json_array_foreach (inputs, i, v) {
        const char *digest = json_string_value (v);
        char proof[BF_SHA256_HEX_LEN + 1];
        if (!digest || bf_design_proof (design, proof, digest, key) != BF_OK)
            continue;
        json_object_set_new (proofs, digest, json_string (proof));
    }
    json_decref (inputs);
    return proofs;
}

int
bf_client_submit (bf_client_t *self, json_t **job, const bf_design_t *design,
                  const bf_submit_opts_t *opts, uint64_t *uploaded)
{
    static const bf_submit_opts_t defaults = { 0 };
    if (!opts)
        opts = &defaults;
    *job = NULL;
    if (uploaded)
        *uploaded = 0;
    json_t *body = bf_submit_body (bf_design_manifest (design), opts);
    json_t *proofs = s_proofs (self, design);
    if (proofs)
        json_object_set_new (body, "proofs", proofs);
    int rc = BF_OK;
    for (int round = 0; round < 3; round++) {
        bf_msg_t *reply = NULL;
        if ((rc = bf_client_request (self, &reply, "SUBMIT", body, NULL)) != BF_OK)
            break;
        if (strcmp (reply->command, "OK") == 0) {
            *job = json_incref (reply->body);
            bf_msg_destroy (&reply);
            break;
        }
        if (strcmp (reply->command, "NEED") != 0) {
            rc = bf_error_set (BF_EPROTO, "unexpected reply '%s' to SUBMIT", reply->command);
            bf_msg_destroy (&reply);
            break;
        }
        rc = s_upload (self, design, json_object_get (reply->body, "missing"), uploaded);
        bf_msg_destroy (&reply);
        if (rc != BF_OK)
            break;
        rc = bf_error_set (BF_EIO, "broker kept asking for inputs after they were uploaded");
    }
    json_decref (body);
    return *job ? BF_OK : rc;
}

int
bf_client_status_body (bf_client_t *self, json_t **job, json_t *body)
{
    bf_msg_t *reply = NULL;
    int rc = bf_client_request (self, &reply, "STATUS", body, NULL);
    json_decref (body);
    if (rc == BF_OK)
        *job = json_incref (reply->body);
    bf_msg_destroy (&reply);
    return rc;
}

int
bf_client_status (bf_client_t *self, json_t **job, const char *id, bool events)
{
    return bf_client_status_body (self, job,
                                  json_pack ("{s:s, s:b}", "id", id, "events", events));
}

int
bf_client_fetch (bf_client_t *self, char **data, size_t *len, const char *id, const char *what)
{
    json_t *body = json_pack ("{s:s, s:s}", "id", id, "what", what);
    bf_msg_t *reply = NULL;
    int rc = bf_client_request (self, &reply, "FETCH", body, NULL);
    json_decref (body);
    if (rc != BF_OK)
        return rc;
    zframe_t *f = zmsg_pop (reply->blobs);
    const char *sha = json_string_value (json_object_get (reply->body, "sha256"));
    char actual[BF_SHA256_HEX_LEN + 1] = "";
    if (f)
        bf_sha256_hex (actual, zframe_data (f), zframe_size (f));
    if (!f || !sha || strcmp (actual, sha) != 0)
        rc = bf_error_set (BF_ECORRUPT, "the %s received does not match its digest", what);
    else {
        *data = xmalloc (zframe_size (f) + 1);
        memcpy (*data, zframe_data (f), zframe_size (f));
        (*data)[zframe_size (f)] = '\0';
        *len = zframe_size (f);
    }
    zframe_destroy (&f);
    bf_msg_destroy (&reply);
    return rc;
}

int
bf_client_program (bf_client_t *self, json_t **job, const char *board, const char *source,
                   const bf_submit_opts_t *opts)
{
    static const bf_submit_opts_t defaults = { 0 };
    if (!opts)
        opts = &defaults;
    *job = NULL;
    char *data = NULL;
    size_t len = 0;
    char digest[BF_SHA256_HEX_LEN + 1];
    json_t *src;
    struct stat sb;
    if (stat (source, &sb) == 0) {
        int rc = bf_file_read (&data, &len, source, BF_MAX_FILE_SIZE);
        if (rc != BF_OK)
            return rc;
        bf_sha256_hex (digest, data, len);
        src = json_pack ("{s:s, s:I}", "sha256", digest, "size", (json_int_t) len);
        if (self->curve) {
            char proof[BF_SHA256_HEX_LEN + 1];
            bf_proof_hex (proof, bf_curve_public (self->curve), data, len);
            json_object_set_new (src, "proof", json_string (proof));
        }
    }
    else
        src = json_pack ("{s:s}", "ref", source);
    json_t *body = json_pack ("{s:s, s:o, s:i}", "board", board, "source", src, "priority",
                              opts->priority);
    if (opts->timeout_ms > 0)
        json_object_set_new (body, "timeout_ms", json_integer (opts->timeout_ms));
    if (opts->token)
        json_object_set_new (body, "token", json_string (opts->token));
    int rc = BF_OK;
    for (int round = 0; round < 2 && !*job; round++) {
        bf_msg_t *reply = NULL;
        if ((rc = bf_client_request (self, &reply, "PROGRAM", body, NULL)) != BF_OK)
            break;
        if (strcmp (reply->command, "OK") == 0)
            *job = json_incref (reply->body);
        else if (data && round == 0) {      /* NEED: upload the bitstream, then again */
            zmsg_t *blobs = zmsg_new ();
            zmsg_addmem (blobs, data, len);
            json_t *up = json_pack ("{s:[s]}", "digests", digest);
            bf_msg_t *r2 = NULL;
            rc = bf_client_request (self, &r2, "UPLOAD", up, &blobs);
            json_decref (up);
            bf_msg_destroy (&r2);
        }
        else
            rc = bf_error_set (BF_EIO, "the broker lacks the bitstream %.12s", digest);
        bf_msg_destroy (&reply);
        if (rc != BF_OK)
            break;
    }
    free (data);
    json_decref (body);
    return *job ? BF_OK : rc;
}
