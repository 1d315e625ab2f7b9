/*  bf_sendraw - a test tool: sends random, truncated and oversized frames
    at a broker, then checks that it still answers PING.

    usage: bf_sendraw ENDPOINT COUNT SEED
    Exit status: 0 when the broker answered PING afterwards, 1 otherwise.
*/
#include "../../src/common/bf_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int argc, char **argv)
{
    if (argc != 4) {
        fprintf (stderr, "usage: bf_sendraw ENDPOINT COUNT SEED\n");
        return 2;
    }
    zsys_init ();
    zsys_set_logstream (NULL);
    int count = atoi (argv[2]);
    unsigned seed = (unsigned) atoi (argv[3]);
    static const char *words[] = { "", "BFC01", "BFW01", "SUBMIT", "UPLOAD", "READY", "RESULT",
                                   "LOG", "JOB", "STATUS", "{}", "{\"id\":\"abcd\"}", "[",
                                   "{\"manifest\":{\"version\":1}}", "{\"digests\":[\"x\"]}",
                                   "{\"job\":\"0123\",\"outcome\":\"succeeded\",\"cache_key\":\"a\"}" };
    int nwords = (int) (sizeof words / sizeof words[0]);
    for (int i = 0; i < count; i++) {
        /* a fresh peer now and then, so the broker sees unknown routing ids */
        zsock_t *s = zsock_new (ZMQ_DEALER);
        zsock_set_linger (s, 1000);
        zsock_connect (s, "%s", argv[1]);
        for (int k = 0; k < 20; k++) {
            zmsg_t *msg = zmsg_new ();
            int frames = (int) (rand_r (&seed) % 8);
            for (int f = 0; f < frames; f++) {
                int kind = (int) (rand_r (&seed) % 4);
                if (kind < 2)
                    zmsg_addstr (msg, words[rand_r (&seed) % (unsigned) nwords]);
                else {
                    char buf[256];
                    size_t len = rand_r (&seed) % sizeof buf;
                    for (size_t b = 0; b < len; b++)
                        buf[b] = (char) rand_r (&seed);
                    zmsg_addmem (msg, buf, len);
                }
            }
            if (zmsg_size (msg) == 0)
                zmsg_addmem (msg, "", 0);
            zmsg_send (&msg, s);
        }
        zsock_destroy (&s);
    }
    /* An oversized frame: over ZMQ_MAXMSGSIZE, the broker drops the peer. */
    zsock_t *big = zsock_new (ZMQ_DEALER);
    zsock_set_linger (big, 1000);
    zsock_connect (big, "%s", argv[1]);
    size_t n = (size_t) BF_MSG_MAX + 1024;
    char *huge = calloc (1, n);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, "", 0);
    zmsg_addstr (msg, "BFC01");
    zmsg_addstr (msg, "UPLOAD");
    zmsg_addstr (msg, "{\"digests\":[]}");
    zmsg_addmem (msg, huge, n);
    free (huge);
    zmsg_send (&msg, big);
    zsock_destroy (&big);

    zsock_t *c = zsock_new (ZMQ_DEALER);
    zsock_connect (c, "%s", argv[1]);
    json_t *body = json_object ();
    msg = bf_msg_encode (BF_PROTO_CLIENT, "PING", body, NULL);
    json_decref (body);
    zmsg_send (&msg, c);
    zpoller_t *p = zpoller_new (c, NULL);
    int rc = 1;
    if (zpoller_wait (p, 5000)) {
        zmsg_t *raw = zmsg_recv (c);
        bf_msg_t *m = NULL;
        if (bf_msg_decode (&m, &raw) == 0 && strcmp (m->command, "OK") == 0)
            rc = 0;
        bf_msg_destroy (&m);
    }
    zpoller_destroy (&p);
    zsock_destroy (&c);
    printf ("broker %s PING after %d random peers\n", rc == 0 ? "answered" : "did not answer", count);
    return rc;
}
