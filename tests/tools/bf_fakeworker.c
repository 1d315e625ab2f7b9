/*  bf_fakeworker - a test tool: a hostile worker.  It registers with a
    broker as worker NAME (over CURVE with --cert and --broker-key) and then
    tries one trick, printing every message it gets as "got COMMAND BODY".

    usage: bf_fakeworker ENDPOINT NAME MODE [ARG...] [options]
      forge JOB ATTEMPT   send a successful RESULT with a forged bitstream
                          for a job (it was never dispatched to this worker)
      plant KEY           wait for a JOB, answer it with a forged bitstream
                          and cache_key KEY (another design's key)
      claim JOB ATTEMPT   register claiming to hold the job (READY "jobs")
      idle SECONDS        stay registered, sending heartbeats
      regio TRICKS        declare board "fb0" (up5k sg48) and answer each REGIO with the
                          next of the comma-separated TRICKS: "ok" (every read word
                          0x0f0f0f0f), "short" (each read blob a byte short), "kinds"
                          (results of the wrong kind), "foreign" (first an answer under
                          another request id, then "ok"), "error" (an error line with
                          control characters), "silent" (no answer); until --wait
    options:
      --cert FILE --broker-key FILE   CURVE (this worker's secret, the broker's public key)
      --toolchain HEX     the toolchain identity READY claims (default 64 'f's)
      --wait SECONDS      how long forge/plant/claim wait for answers (default 10)
      --tag TAG           the one worker tag READY declares (default none)
      --size BYTES        pad the forged bitstream with zeros to BYTES (a device's size)
    Exit status: 0 when the trick was sent (forge/plant: and ACKed; claim:
    and answered), 1 when the broker refused or did not answer, 2 on usage.
    The forged bitstream is the 32 bytes "FORGED BITSTREAM FROM A FAKE WKR".
*/
#include "../../src/common/bf_curve.h"
#include "../../src/common/bf_proto.h"
#include "../../src/common/bf_sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_FORGED "FORGED BITSTREAM FROM A FAKE WKR"

typedef struct {
    zsock_t *sock;
    zpoller_t *poller;
    const char *name;
    int64_t hb_at;
} s_peer_t;

static void
s_send (s_peer_t *p, const char *command, json_t *body, zmsg_t **blobs)
{
    zmsg_t *m = bf_msg_encode (BF_PROTO_WORKER, command, body, blobs);
    zmsg_send (&m, p->sock);
    json_decref (body);
}

/*  Waits up to ms for a message; prints it.  Returns it (caller frees),
    or NULL on timeout.  Heartbeats meanwhile. */
static bf_msg_t *
s_recv (s_peer_t *p, int ms)
{
    int64_t end = zclock_mono () + ms;
    while (zclock_mono () < end && !zsys_interrupted) {
        if (zclock_mono () >= p->hb_at) {
            s_send (p, "HEARTBEAT", json_object (), NULL);
            p->hb_at = zclock_mono () + 100;   /* well inside any test's lease */
        }
        if (!zpoller_wait (p->poller, 200))
            continue;
        zmsg_t *raw = zmsg_recv (p->sock);
        bf_msg_t *m = NULL;
        if (!raw || bf_msg_decode (&m, &raw) != 0)
            continue;
        char *text = json_dumps (m->body, JSON_COMPACT | JSON_SORT_KEYS);
        printf ("got %s %s\n", m->command, text ? text : "{}");
        fflush (stdout);
        free (text);
        if (strcmp (m->command, "HEARTBEAT") == 0) {
            bf_msg_destroy (&m);
            continue;
        }
        return m;
    }
    return NULL;
}

/*  RESULT "succeeded" for job at attempt, forged bitstream and report,
    under cache key key. */
static size_t s_size;

static void
s_forge (s_peer_t *p, const char *job, int64_t attempt, const char *key)
{
    const char *report = "{\"fmax\":{}}";
    size_t n = s_size > strlen (S_FORGED) ? s_size : strlen (S_FORGED);
    char *bits = calloc (1, n);
    memcpy (bits, S_FORGED, strlen (S_FORGED));
    char bd[BF_SHA256_HEX_LEN + 1], rd[BF_SHA256_HEX_LEN + 1];
    bf_sha256_hex (bd, bits, n);
    bf_sha256_hex (rd, report, strlen (report));
    zmsg_t *blobs = zmsg_new ();
    zmsg_addmem (blobs, bits, n);
    free (bits);
    zmsg_addmem (blobs, report, strlen (report));
    s_send (p, "RESULT", json_pack ("{s:s, s:I, s:s, s:s, s:s, s:s, s:s}", "job", job,
                                    "attempt", (json_int_t) attempt, "cache_key", key,
                                    "outcome", "succeeded", "stage", "done", "bitstream", bd,
                                    "report", rd), &blobs);
}

static const char *
s_str (json_t *o, const char *key)
{
    const char *v = json_string_value (json_object_get (o, key));
    return v ? v : "";
}

/*  Waits for the ACK of job; true when it came. */
static bool
s_wait_ack (s_peer_t *p, const char *job, int ms)
{
    int64_t end = zclock_mono () + ms;
    while (zclock_mono () < end) {
        bf_msg_t *m = s_recv (p, (int) (end - zclock_mono ()));
        if (!m)
            break;
        bool ack = strcmp (m->command, "ACK") == 0
                   && strcmp (s_str (m->body, "job"), job) == 0;
        bf_msg_destroy (&m);
        if (ack)
            return true;
    }
    return false;
}

/*  REGIO answered with a trick (see the header). */
static void
s_regio (s_peer_t *p, bf_msg_t *m, const char *trick)
{
    const char *req = s_str (m->body, "req");
    json_t *ops = json_object_get (m->body, "ops");
    if (strcmp (trick, "silent") == 0)
        return;
    if (strcmp (trick, "error") == 0) {
        s_send (p, "REGIORESULT", json_pack ("{s:s, s:s, s:s}", "req", req, "class", "design",
                                             "error", "bus error\033[31m: red\nline"), NULL);
        return;
    }
    if (strcmp (trick, "foreign") == 0)
        s_send (p, "REGIORESULT", json_pack ("{s:s, s:[]}", "req",
                                             "00000000000000000000000000000000", "results"),
                NULL);
    json_t *res = json_array ();
    zmsg_t *blobs = zmsg_new ();
    size_t i;
    json_t *o;
    json_array_foreach (ops, i, o) {
        const char *op = s_str (o, "op");
        json_array_append_new (res, json_pack ("{s:s}", "op", strcmp (trick, "kinds") == 0
                                               ? "ident" : op));
        if (strcmp (op, "read") == 0) {
            size_t n = 4 * (size_t) json_integer_value (json_object_get (o, "count"));
            if (strcmp (trick, "short") == 0)
                n--;
            char *b = malloc (n + 1);
            memset (b, 0x0f, n);
            zmsg_addmem (blobs, b, n);
            free (b);
        }
    }
    s_send (p, "REGIORESULT", json_pack ("{s:s, s:o}", "req", req, "results", res), &blobs);
}

int
main (int argc, char **argv)
{
    if (argc < 4) {
        fprintf (stderr, "usage: bf_fakeworker ENDPOINT NAME forge|plant|claim|idle ARG...\n");
        return 2;
    }
    const char *endpoint = argv[1], *cert = NULL, *broker_key = NULL;
    const char *toolchain = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    int wait_ms = 10000;
    const char *tag = NULL;
    size_t size = 0;
    const char *mode = argv[3];
    const char *pos[2] = { NULL, NULL };
    int npos = 0;
    for (int i = 4; i < argc; i++) {
        if (strcmp (argv[i], "--cert") == 0 && i + 1 < argc)
            cert = argv[++i];
        else if (strcmp (argv[i], "--broker-key") == 0 && i + 1 < argc)
            broker_key = argv[++i];
        else if (strcmp (argv[i], "--toolchain") == 0 && i + 1 < argc)
            toolchain = argv[++i];
        else if (strcmp (argv[i], "--size") == 0 && i + 1 < argc)
            size = (size_t) atoll (argv[++i]);
        else if (strcmp (argv[i], "--tag") == 0 && i + 1 < argc)
            tag = argv[++i];
        else if (strcmp (argv[i], "--wait") == 0 && i + 1 < argc)
            wait_ms = atoi (argv[++i]) * 1000;
        else if (npos < 2)
            pos[npos++] = argv[i];
        else {
            fprintf (stderr, "bf_fakeworker: unexpected '%s'\n", argv[i]);
            return 2;
        }
    }
    s_size = size;
    zsys_init ();
    zsys_set_logstream (NULL);
    s_peer_t p = { .sock = zsock_new (ZMQ_DEALER), .name = argv[2] };
    bf_curve_t *curve = NULL;
    if (cert && broker_key) {
        if (bf_curve_new (&curve, cert, broker_key) != 0) {
            fprintf (stderr, "bf_fakeworker: %s\n", "cannot load the keys");
            return 2;
        }
        bf_curve_apply (curve, p.sock);
    }
    zsock_set_linger (p.sock, 500);
    zsock_connect (p.sock, "%s", endpoint);
    p.poller = zpoller_new (p.sock, NULL);
    p.hb_at = zclock_mono () + 100;

    json_t *jobs = json_array ();
    if (strcmp (mode, "claim") == 0 && pos[0] && pos[1])
        json_array_append_new (jobs, json_pack ("{s:s, s:b, s:I}", "job", pos[0], "done", 0,
                                                "attempt", (json_int_t) atoll (pos[1])));
    json_t *tc = json_pack ("{s:s, s:{s:s}}", "id", toolchain, "versions", "yosys",
                            "Yosys 0.23 (fake)");
    json_t *tags = tag ? json_pack ("[s]", tag) : json_array ();
    json_t *boards = strcmp (mode, "regio") == 0
                     ? json_pack ("[{s:s, s:s, s:s, s:s, s:s, s:b}]", "name", "fb0", "family",
                                  "ice40", "device", "up5k", "package", "sg48", "cable",
                                  "a fake", "virtual", 0)
                     : json_array ();
    s_send (&p, "READY", json_pack ("{s:s, s:i, s:[s], s:o, s:o, s:o, s:o, s:b}", "name",
                                     p.name, "slots", 1, "families", "ice40", "toolchain", tc,
                                     "tags", tags, "jobs", jobs, "boards", boards, "sandbox", 1),
            NULL);
    int rc = 1;
    if (strcmp (mode, "forge") == 0 && pos[0] && pos[1]) {
        s_recv (&p, 300);       /* a DISCONNECT would show here */
        s_forge (&p, pos[0], atoll (pos[1]),
                 "0000000000000000000000000000000000000000000000000000000000000000");
        rc = s_wait_ack (&p, pos[0], wait_ms) ? 0 : 1;
    }
    else if (strcmp (mode, "plant") == 0 && pos[0]) {
        int64_t end = zclock_mono () + wait_ms;
        while (zclock_mono () < end) {
            bf_msg_t *m = s_recv (&p, (int) (end - zclock_mono ()));
            if (!m)
                break;
            if (strcmp (m->command, "JOB") == 0) {
                char job[64];
                snprintf (job, sizeof job, "%s", json_string_value (json_object_get (m->body,
                                                                                    "job")));
                int64_t attempt = json_integer_value (json_object_get (m->body, "attempt"));
                s_forge (&p, job, attempt, pos[0]);
                rc = s_wait_ack (&p, job, wait_ms) ? 0 : 1;
                bf_msg_destroy (&m);
                break;
            }
            bf_msg_destroy (&m);
        }
    }
    else if (strcmp (mode, "claim") == 0 && pos[0]) {
        bf_msg_t *m = s_recv (&p, wait_ms);
        rc = m ? 0 : 1;
        bf_msg_destroy (&m);
        /* a little longer (2 s at most: a recovered job would bring no
           message at all), until the broker drops this registration */
        int64_t end = zclock_mono () + 2000;
        while (zclock_mono () < end && (m = s_recv (&p, (int) (end - zclock_mono ())))) {
            bool gone = strcmp (m->command, "DISCONNECT") == 0;
            bf_msg_destroy (&m);
            if (gone)
                break;
        }
    }
    else if (strcmp (mode, "idle") == 0 && pos[0]) {
        int64_t end = zclock_mono () + atoll (pos[0]) * 1000;
        rc = 0;
        while (zclock_mono () < end) {
            bf_msg_t *m = s_recv (&p, (int) (end - zclock_mono ()));
            if (m && strcmp (m->command, "DISCONNECT") == 0)
                rc = 1;
            bf_msg_destroy (&m);
        }
    }
    else if (strcmp (mode, "regio") == 0 && pos[0]) {
        char tricks[256];
        snprintf (tricks, sizeof tricks, "%s", pos[0]);
        char *save = NULL, *trick = strtok_r (tricks, ",", &save);
        int64_t end = zclock_mono () + wait_ms;
        rc = 0;
        while (zclock_mono () < end && !zsys_interrupted) {
            bf_msg_t *m = s_recv (&p, (int) (end - zclock_mono ()));
            if (m && strcmp (m->command, "REGIO") == 0) {
                s_regio (&p, m, trick ? trick : "ok");
                if (trick)
                    trick = strtok_r (NULL, ",", &save);
            }
            bf_msg_destroy (&m);
        }
    }
    else {
        fprintf (stderr, "bf_fakeworker: unknown mode '%s' or missing argument\n", mode);
        rc = 2;
    }
    s_send (&p, "DISCONNECT", json_object (), NULL);
    zpoller_destroy (&p.poller);
    zsock_destroy (&p.sock);
    bf_curve_destroy (&curve);
    return rc;
}
