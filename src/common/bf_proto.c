/*  bf_proto - see bf_proto.h and docs/protocol.md. */
#include "bf_proto.h"
#include "bf_error.h"
#include "bf_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
s_command_ok (const char *s, size_t len)
{
    if (len == 0 || len > BF_COMMAND_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return false;
    return true;
}

int
bf_msg_decode (bf_msg_t **out, zmsg_t **msg_p)
{
    zmsg_t *msg = *msg_p;
    *msg_p = NULL;
    bf_msg_t *self = NULL;
    int rc = BF_OK;
    if (!msg)
        return bf_error_set (BF_EPROTO, "empty message");
    if (zmsg_size (msg) < 4) {
        rc = bf_error_set (BF_EPROTO, "message has %zu frames, expected at least 4", zmsg_size (msg));
        goto out;
    }
    if (zmsg_size (msg) > 4 + BF_BLOBS_MAX) {
        rc = bf_error_set (BF_ETOOBIG, "message has %zu blob frames, limit %d",
                           zmsg_size (msg) - 4, BF_BLOBS_MAX);
        goto out;
    }
    if (zmsg_content_size (msg) > BF_MSG_MAX) {
        rc = bf_error_set (BF_ETOOBIG, "message of %zu bytes, limit %u", zmsg_content_size (msg),
                           BF_MSG_MAX);
        goto out;
    }
    zframe_t *f = zmsg_pop (msg);
    size_t fsize = zframe_size (f);
    zframe_destroy (&f);
    if (fsize != 0) {
        rc = bf_error_set (BF_EPROTO, "frame 0 must be empty");
        goto out;
    }
    self = xcalloc (1, sizeof *self);
    f = zmsg_pop (msg);
    if (zframe_size (f) != 5 || (memcmp (zframe_data (f), BF_PROTO_CLIENT, 5) != 0
                                 && memcmp (zframe_data (f), BF_PROTO_WORKER, 5) != 0)) {
        zframe_destroy (&f);
        rc = bf_error_set (BF_EPROTO, "unknown protocol in frame 1 (want '%s' or '%s')",
                           BF_PROTO_CLIENT, BF_PROTO_WORKER);
        goto out;
    }
    memcpy (self->proto, zframe_data (f), 5);
    zframe_destroy (&f);
    f = zmsg_pop (msg);
    if (!s_command_ok ((const char *) zframe_data (f), zframe_size (f))) {
        zframe_destroy (&f);
        rc = bf_error_set (BF_EPROTO, "malformed command in frame 2");
        goto out;
    }
    memcpy (self->command, zframe_data (f), zframe_size (f));
    zframe_destroy (&f);
    f = zmsg_pop (msg);
    if (zframe_size (f) > BF_BODY_MAX) {
        rc = bf_error_set (BF_ETOOBIG, "body of %zu bytes, limit %u", zframe_size (f), BF_BODY_MAX);
        zframe_destroy (&f);
        goto out;
    }
    json_error_t jerr;
    self->body = json_loadb ((const char *) zframe_data (f), zframe_size (f),
                             JSON_REJECT_DUPLICATES, &jerr);
    zframe_destroy (&f);
    if (!self->body || !json_is_object (self->body)) {
        rc = bf_error_set (BF_EPROTO, "body is not a JSON object%s%s",
                           self->body ? "" : ": ", self->body ? "" : jerr.text);
        goto out;
    }
    self->blobs = msg;
    msg = NULL;   /* transferred */
out:
    zmsg_destroy (&msg);
    if (rc != BF_OK)
        bf_msg_destroy (&self);
    *out = self;
    return rc;
}

zmsg_t *
bf_msg_encode (const char *proto, const char *command, json_t *body, zmsg_t **blobs_p)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, "", 0);
    zmsg_addstr (msg, proto);
    zmsg_addstr (msg, command);
    char *text = json_dumps (body, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        text = xstrdup ("{}");
    zmsg_addmem (msg, text, strlen (text));
    free (text);
    if (blobs_p && *blobs_p) {
        zframe_t *f;
        while ((f = zmsg_pop (*blobs_p)))
            zmsg_append (msg, &f);
        zmsg_destroy (blobs_p);
    }
    return msg;
}

void
bf_msg_destroy (bf_msg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_msg_t *self = *self_p;
    json_decref (self->body);
    zmsg_destroy (&self->blobs);
    free (self);
    *self_p = NULL;
}

void
bf_socket_policy (zsock_t *sock)
{
    zsock_set_maxmsgsize (sock, (int64_t) BF_MSG_MAX);
    zsock_set_linger (sock, 0);
    if (zsock_type (sock) == ZMQ_ROUTER)
        zsock_set_router_mandatory (sock, 1);
}

size_t
bf_blobs_view (zmsg_t *blobs, size_t max, const void **data, size_t *lens)
{
    size_t n = 0;
    for (zframe_t *f = blobs ? zmsg_first (blobs) : NULL; f && n < max; f = zmsg_next (blobs)) {
        data[n] = zframe_data (f);
        lens[n] = zframe_size (f);
        n++;
    }
    return n;
}

int
bf_msg_recv (zmsg_t **out, void *handle, size_t max_frames, uint64_t max_bytes, size_t head,
             bf_recv_info_t *info)
{
    bf_recv_info_t local;
    if (!info)
        info = &local;
    memset (info, 0, sizeof *info);
    info->fd = -1;
    *out = NULL;
    zmsg_t *msg = zmsg_new ();
    int rc = BF_OK;
    bool more = true;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, handle, 0) < 0) {
            zmq_msg_close (&part);
            if (info->frames == 0) {
                zmsg_destroy (&msg);
                return bf_error_set (BF_EPROTO, "no message: %s", zmq_strerror (errno));
            }
            break;   /* interrupted mid-message: what we have */
        }
        /* Not from the routing id frame a ROUTER makes up: from the first
           frame the peer sent. */
        if (info->fd < 0)
            info->fd = zmq_msg_get (&part, ZMQ_SRCFD);
        if (!info->user_id[0]) {
            const char *uid = zmq_msg_gets (&part, "User-Id");
            if (uid)
                snprintf (info->user_id, sizeof info->user_id, "%s", uid);
        }
        size_t size = zmq_msg_size (&part);
        more = zmq_msg_more (&part);
        info->frames++;
        info->bytes += size;
        if (rc == BF_OK && info->frames > max_frames)
            rc = bf_error_set (BF_ETOOBIG, "message of more than %zu frames, limit %zu: dropped",
                               max_frames, max_frames);
        else if (rc == BF_OK && info->bytes > max_bytes)
            rc = bf_error_set (BF_ETOOBIG, "message of more than %llu bytes, limit %llu: dropped",
                               (unsigned long long) max_bytes, (unsigned long long) max_bytes);
        if (rc == BF_OK || (zmsg_size (msg) < head && size <= BF_BODY_MAX))
            zmsg_addmem (msg, zmq_msg_data (&part), size);
        zmq_msg_close (&part);
    }
    if (rc != BF_OK)
        while (zmsg_size (msg) > head) {
            zframe_t *f = zmsg_last (msg);
            zmsg_remove (msg, f);
            zframe_destroy (&f);
        }
    *out = msg;
    return rc;
}
