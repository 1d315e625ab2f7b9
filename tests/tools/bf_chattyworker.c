/*  bf_chattyworker - a test tool: a worker that talks too much.  It
    registers with the tag "chatty", takes one job, streams LOG_BYTES of
    log text in LOG messages, prints "logged JOB" and waits for the file
    GO to exist, then sends a RESULT (a design failure) whose log blob is
    LOG_BYTES long, waits for the ACK and exits.  So a test can see that
    the broker caps what it keeps, whatever a worker sends.

    usage: bf_chattyworker ENDPOINT NAME LOG_BYTES GO [CERT BROKER_KEY]
    Exit status: 0 after the ACK, 1 on a timeout (30 s) or a refusal.
*/
#include "../../src/common/bf_curve.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_proto.h"
#include "../../src/common/bf_sha256.h"
#include "../../src/common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_CHUNK (32u << 10)

static void
s_send (zsock_t *s, const char *command, json_t *body, zmsg_t **blobs)
{
    zmsg_t *msg = bf_msg_encode (BF_PROTO_WORKER, command, body, blobs);
    zmsg_send (&msg, s);
}

/*  The next message from the broker other than a HEARTBEAT, or NULL after
    `ms` of silence.  Answers heartbeats so the lease holds. */
static bf_msg_t *
s_recv (zsock_t *s, int ms)
{
    int64_t end = bf_mono_ms () + ms;
    while (bf_mono_ms () < end) {
        zpoller_t *p = zpoller_new (s, NULL);
        void *which = zpoller_wait (p, 100);
        zpoller_destroy (&p);
        json_t *none = json_object ();
        s_send (s, "HEARTBEAT", none, NULL);
        json_decref (none);
        if (!which)
            continue;
        zmsg_t *raw = zmsg_recv (s);
        bf_msg_t *msg = NULL;
        if (bf_msg_decode (&msg, &raw) != BF_OK)
            continue;
        if (strcmp (msg->command, "HEARTBEAT") != 0)
            return msg;
        bf_msg_destroy (&msg);
    }
    return NULL;
}

int
main (int argc, char **argv)
{
    if (argc != 5 && argc != 7) {
        fprintf (stderr, "usage: bf_chattyworker ENDPOINT NAME LOG_BYTES GO [CERT BROKER_KEY]\n");
        return 2;
    }
    zsys_init ();
    zsys_set_logstream (NULL);
    size_t bytes = (size_t) strtoull (argv[3], NULL, 10);
    zsock_t *s = zsock_new (ZMQ_DEALER);
    bf_curve_t *curve = NULL;
    if (argc == 7) {
        if (bf_curve_new (&curve, argv[5], argv[6]) != BF_OK)
            return 1;
        bf_curve_apply (curve, s);
    }
    zsock_connect (s, "%s", argv[1]);
    char tc[BF_SHA256_HEX_LEN + 1];
    bf_sha256_hex (tc, "chatty toolchain", 16);
    json_t *ready = json_pack ("{s:s, s:i, s:[s], s:{s:s, s:{}}, s:[s], s:[]}", "name", argv[2],
                               "slots", 1, "families", "ice40", "toolchain", "id", tc,
                               "versions", "tags", "chatty", "jobs");
    s_send (s, "READY", ready, NULL);
    json_decref (ready);
    int status = 1;
    bf_msg_t *job = s_recv (s, 30000);
    if (!job || strcmp (job->command, "JOB") != 0)
        goto out;
    const char *id = json_string_value (json_object_get (job->body, "job"));
    const char *key = json_string_value (json_object_get (job->body, "cache_key"));
    json_int_t attempt = json_integer_value (json_object_get (job->body, "attempt"));
    /* Lines of text, LOG_BYTES of them in all. */
    char *text = xmalloc (bytes + 1);
    for (size_t i = 0; i < bytes; i++)
        text[i] = (i % 64 == 63) ? '\n' : (char) ('a' + (char) (i % 26));
    for (size_t off = 0; off < bytes; off += S_CHUNK) {
        json_t *body = json_pack ("{s:s, s:s}", "job", id, "stage", "synth");
        zmsg_t *blobs = zmsg_new ();
        zmsg_addmem (blobs, text + off, bytes - off < S_CHUNK ? bytes - off : S_CHUNK);
        s_send (s, "LOG", body, &blobs);
        json_decref (body);
    }
    printf ("logged %s\n", id);
    fflush (stdout);
    while (access (argv[4], F_OK) != 0) {
        bf_msg_t *m = s_recv (s, 100);
        bf_msg_destroy (&m);
    }
    char digest[BF_SHA256_HEX_LEN + 1];
    bf_sha256_hex (digest, text, bytes);
    json_t *body = json_pack ("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "job", id, "attempt",
                              attempt, "cache_key", key, "outcome", "failed", "failure_class", "design", "stage", "synth",
                              "error", "ERROR: chatty", "log", digest);
    zmsg_t *blobs = zmsg_new ();
    zmsg_addmem (blobs, text, bytes);
    s_send (s, "RESULT", body, &blobs);
    json_decref (body);
    free (text);
    bf_msg_t *ack = s_recv (s, 30000);
    status = ack && strcmp (ack->command, "ACK") == 0 ? 0 : 1;
    bf_msg_destroy (&ack);
    json_t *bye = json_object ();
    s_send (s, "DISCONNECT", bye, NULL);
    json_decref (bye);
out:
    bf_msg_destroy (&job);
    zsock_destroy (&s);
    bf_curve_destroy (&curve);
    return status;
}
