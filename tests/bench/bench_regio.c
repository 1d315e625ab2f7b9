/*  bench_regio - register I/O speed on a simulated board (issue 17), each
    probe as a rate against two references measured or computed in the
    same run:

      the wire limit   what the bridge's own bytes allow at the profile's
                       baud, 8N1 (10 bits a byte): a read of n words is
                       ceil(n / 255) commands of 6 request bytes and 1
                       status byte (bitfarm's 0xB2/0xB4 reads, as the
                       worker sends them) plus 4n answer bytes; a write is
                       ceil(n / 255) * 6 + 4n bytes; ident 6 + 13.  A read's
                       answer must arrive before the next command goes out,
                       so nothing overlaps.  The core adds a few clock
                       cycles per command (its bus accesses overlap the
                       answer's bytes): left out.
      the baseline     the same batches through bf_bridge_run (the worker's
                       own bridge code) straight on the model's unix
                       socket, one connection held for the whole probe.
      the farm         bf_regs (the C client API): client -> broker ->
                       worker -> a request thread that connects to the
                       same socket -> bf_bridge_run, one request a batch.

    Probes: single-word reads of the fixture's ID register (N of them, with
    p50/p99 latency; the baseline also with a new connection per read, as
    the worker connects per request, to show what that costs); 4096-word reads and writes, fixed-address (one RAM
    word 4096 times, in one operation) and incrementing (16 operations of
    the fixture's 256 RAM words, in one batch); each write batch ends with
    ident, the write barrier, so its time includes the bus taking every
    word.  Every answer is checked (the ID, the RAM's words, ident's
    status): a wrong one fails the run.

    The simulated board runs flat out, not at its clock's rate: the
    baseline's ratio to the wire limit is the model's speed against a real
    board (about 1 on these machines; less when they are loaded).

    usage: bench_regio PROFILE SOCKET ENDPOINT BOARD TOKEN [N]
      PROFILE   the board profile (gateware/regio/profiles/NAME.ini): baud
      SOCKET    the model's socket (WORK_DIR/boards/BOARD.sim/board.sock)
      ENDPOINT  the broker; BOARD, TOKEN a board the run has reserved
      N         single reads per path (default 500)
    Exit: 0, 1 on a failed or wrong answer, 2 on usage. */
#include "../../src/client/bf_client.h"
#include "../../src/client/bf_regs.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_regio.h"
#include "../../src/common/bf_uartbone.h"
#include "../../src/common/bf_util.h"
#include "../../src/common/bf_vsimcmd.h"
#include "../../src/worker/bf_bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define S_RAM        0x400u      /* the fixture's 256-word RAM (byte address) */
#define S_RAM_WORDS  256u
#define S_BURST      4096u       /* words per burst probe */
#define S_ID_VALUE   0xb17fa4a0u /* the fixture's ID register, at 0 */
#define S_SINGLES_MAX 100000

typedef struct {
    const char *socket;         /* the baseline's */
    bf_client_t *client;        /* the farm's */
    bf_regs_t *regs;
    int baud;
    int fd;                     /* the baseline's connection while a probe runs; -1 */
} s_bench_t;

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
s_fail (const char *what)
{
    fprintf (stderr, "bench_regio: %s: %s\n", what, bf_error_last ());
    return 1;
}

/*  The batch's bytes on the wire, as the header says. */
static double
s_wire_bytes (const bf_regio_batch_t *b)
{
    double bytes = 0;
    for (size_t i = 0; i < b->n; i++) {
        const bf_regio_op_t *op = &b->ops[i];
        double cmds = (double) ((op->count + BF_UB_MAX_WORDS - 1) / BF_UB_MAX_WORDS);
        if (op->kind == BF_REGIO_READ)
            bytes += cmds * (BF_UB_HEADER_LEN + 1) + 4.0 * op->count;
        else if (op->kind == BF_REGIO_WRITE)
            bytes += cmds * BF_UB_HEADER_LEN + 4.0 * op->count;
        else
            bytes += BF_UB_HEADER_LEN + BF_UB_IDENT_LEN;
    }
    return bytes;
}

/*  The baseline's connection to the model, non-blocking as the worker's. */
static int
s_connect (s_bench_t *self)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen (self->socket) >= sizeof a.sun_path)
        return bf_error_set (BF_EINVAL, "socket path '%s' is too long", self->socket);
    snprintf (a.sun_path, sizeof a.sun_path, "%s", self->socket);
    int s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect (s, (struct sockaddr *) &a, sizeof a) != 0
        || fcntl (s, F_SETFL, fcntl (s, F_GETFL) | O_NONBLOCK) != 0) {
        int e = errno;
        if (s >= 0)
            close (s);
        return bf_error_set (BF_EIO, "cannot connect to '%s': %s", self->socket, strerror (e));
    }
    self->fd = s;
    return BF_OK;
}

/*  Runs b once, straight (farm false) or through the farm. */
static int
s_run (s_bench_t *self, bf_regio_batch_t *b, bool farm)
{
    if (farm)
        return bf_regs_run (self->regs, b);
    const char *cls = NULL;
    bf_bridge_opts_t o = { .board = "bench", .baud = self->baud,
                           .deadline = bf_mono_ms () + BF_REGIO_TIMEOUT_DEFAULT_MS };
    return bf_bridge_run (self->fd, b, &o, &cls);
}

/*  Checks b's answers: reads of the ID register give the ID, reads of the
    RAM give words[] (incrementing) or words[0] (fixed), idents status 0. */
static int
s_check (const bf_regio_batch_t *b, const uint32_t *ram)
{
    for (size_t i = 0; i < b->n; i++) {
        const bf_regio_op_t *op = &b->ops[i];
        if (op->kind == BF_REGIO_IDENT && op->status != 0)
            return bf_error_set (BF_EPROTO, "ident after the writes: status %u", op->status);
        if (op->kind != BF_REGIO_READ)
            continue;
        for (uint32_t k = 0; k < op->count; k++) {
            uint32_t want = op->addr == 0 ? S_ID_VALUE
                            : ram[(op->addr - S_RAM) / 4 + (op->fixed ? 0 : k)];
            if (op->words[k] != want)
                return bf_error_set (BF_EPROTO, "word %u of a read at 0x%x: 0x%08x, want 0x%08x",
                                     k, op->addr, op->words[k], want);
        }
    }
    return BF_OK;
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static void
s_row (const char *what, double rate, const char *unit, const char *extra, double wire,
       double base)
{
    printf ("%-50s %9.1f %-8s %s", what, rate, unit, extra);
    if (wire > 0)
        printf ("   x%.2f of wire", rate / wire);
    if (base > 0)
        printf ("   x%.2f of baseline", rate / base);
    printf ("\n");
}

/*  N single-word reads of the ID register, one batch each: path 0 on one
    connection, 1 on a new connection each (as the worker does), 2 through
    the farm. */
static int
s_singles (s_bench_t *self, int n, int path, double *rate, double *lat)
{
    bool farm = path == 2;
    int rc = BF_OK;
    double t0 = 0;
    for (int i = -5; i < n && rc == BF_OK; i++) {   /* five to warm up */
        bf_regio_batch_t b;
        bf_regio_batch_init (&b);
        bf_regio_add_read (&b, 0, 1, false);
        if (i == 0)
            t0 = s_now ();
        double t = s_now ();
        if (path == 1)
            rc = s_connect (self);
        if (rc == BF_OK)
            rc = s_run (self, &b, farm);
        if (path == 1 && self->fd >= 0) {
            close (self->fd);
            self->fd = -1;
        }
        if (i >= 0)
            lat[i] = s_now () - t;
        if (rc == BF_OK)
            rc = s_check (&b, NULL);
        bf_regio_batch_release (&b);
    }
    *rate = n / (s_now () - t0);
    return rc;
}

static int
s_probe_singles (s_bench_t *self, int n)
{
    double *lat = xcalloc ((size_t) n, sizeof *lat), rate[3] = { 0, 0, 0 }, p50[3], p99[3];
    bf_regio_batch_t one;
    bf_regio_batch_init (&one);
    bf_regio_add_read (&one, 0, 1, false);
    double wire_s = s_wire_bytes (&one) * 10.0 / self->baud, wire = 1.0 / wire_s;
    bf_regio_batch_release (&one);
    int rc = BF_OK;
    for (int path = 0; path < 3 && rc == BF_OK; path++) {
        if (path == 0 && (rc = s_connect (self)) != BF_OK)
            break;
        rc = s_singles (self, n, path, &rate[path], lat);
        if (path == 0) {
            close (self->fd);
            self->fd = -1;
        }
        qsort (lat, (size_t) n, sizeof *lat, s_cmp_double);
        p50[path] = lat[n / 2];
        p99[path] = lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
    }
    /* the client's hop alone: PING, which the broker answers itself */
    double ping50 = 0;
    for (int i = -5; i < n && rc == BF_OK; i++) {
        json_t *body = json_object ();
        bf_msg_t *reply = NULL;
        double t = s_now ();
        rc = bf_client_request (self->client, &reply, "PING", body, NULL);
        if (i >= 0)
            lat[i] = s_now () - t;
        bf_msg_destroy (&reply);
        json_decref (body);
    }
    if (rc == BF_OK) {
        qsort (lat, (size_t) n, sizeof *lat, s_cmp_double);
        ping50 = lat[n / 2];
    }
    free (lat);
    if (rc != BF_OK)
        return s_fail ("single reads");
    char extra[96];
    snprintf (extra, sizeof extra, "%6.3f ms on the wire", wire_s * 1e3);
    s_row ("wire limit: single-word read (11 bytes)", wire, "reads/s", extra, 0, 0);
    snprintf (extra, sizeof extra, "p50 %.3f ms, p99 %.3f ms", p50[0] * 1e3, p99[0] * 1e3);
    s_row ("baseline: single-word read, the model's socket", rate[0], "reads/s", extra, wire, 0);
    snprintf (extra, sizeof extra, "p50 %.3f ms, p99 %.3f ms", p50[1] * 1e3, p99[1] * 1e3);
    s_row ("  ... a new connection each (as the worker)", rate[1], "reads/s", extra, wire,
           rate[0]);
    snprintf (extra, sizeof extra, "p50 %.3f ms, p99 %.3f ms", p50[2] * 1e3, p99[2] * 1e3);
    s_row ("  ... through client, broker and worker", rate[2], "reads/s", extra, wire, rate[0]);
    printf ("%-50s %9.3f ms (p50; the rest of the farm's extra %.3f ms is the broker's\n"
            "%-50s relay, the worker and its request thread)\n",
            "  (of which a client-broker round trip, PING)", ping50 * 1e3,
            (p50[2] - p50[0]) * 1e3, "");
    return 0;
}

/*  One burst probe: the batch `make` builds, run once each way. */
typedef void (s_make_fn) (bf_regio_batch_t *b, const uint32_t *ram, uint32_t *next_ram);

static void
s_make_read_fixed (bf_regio_batch_t *b, const uint32_t *ram, uint32_t *next)
{
    (void) ram;
    (void) next;
    bf_regio_add_read (b, S_RAM, S_BURST, true);
}

static void
s_make_read_incr (bf_regio_batch_t *b, const uint32_t *ram, uint32_t *next)
{
    (void) ram;
    (void) next;
    for (uint32_t i = 0; i < S_BURST / S_RAM_WORDS; i++)
        bf_regio_add_read (b, S_RAM, S_RAM_WORDS, false);
}

static uint32_t s_seed = 0x5eed0000u;

static void
s_make_write_fixed (bf_regio_batch_t *b, const uint32_t *ram, uint32_t *next)
{
    uint32_t *w = xcalloc (S_BURST, sizeof *w);
    for (uint32_t i = 0; i < S_BURST; i++)
        w[i] = ++s_seed * 0x9e3779b1u;
    memcpy (next, ram, S_RAM_WORDS * sizeof *next);
    next[0] = w[S_BURST - 1];         /* the last word stays */
    bf_regio_add_write (b, S_RAM, w, S_BURST, true);
    bf_regio_add_ident (b);
    free (w);
}

static void
s_make_write_incr (bf_regio_batch_t *b, const uint32_t *ram, uint32_t *next)
{
    (void) ram;
    uint32_t w[S_RAM_WORDS];
    for (uint32_t r = 0; r < S_BURST / S_RAM_WORDS; r++) {
        for (uint32_t i = 0; i < S_RAM_WORDS; i++)
            next[i] = w[i] = ++s_seed * 0x9e3779b1u;   /* the last pass stays */
        bf_regio_add_write (b, S_RAM, w, S_RAM_WORDS, false);
    }
    bf_regio_add_ident (b);
}

static int
s_probe_burst (s_bench_t *self, uint32_t *ram, s_make_fn *make, const char *what,
               const char *unit)
{
    double rate[2] = { 0, 0 }, wire = 0;
    int rc = BF_OK;
    uint32_t next[S_RAM_WORDS];
    for (int farm = 0; farm < 2 && rc == BF_OK; farm++) {
        bf_regio_batch_t b;
        bf_regio_batch_init (&b);
        make (&b, ram, next);
        wire = S_BURST / (s_wire_bytes (&b) * 10.0 / self->baud);
        if (!farm && (rc = s_connect (self)) != BF_OK) {
            bf_regio_batch_release (&b);
            break;
        }
        double t = s_now ();
        rc = s_run (self, &b, farm);
        rate[farm] = S_BURST / (s_now () - t);
        if (rc == BF_OK && b.ops[0].kind == BF_REGIO_WRITE)
            memcpy (ram, next, sizeof next);
        if (rc == BF_OK)
            rc = s_check (&b, ram);
        bf_regio_batch_release (&b);
        if (!farm) {
            close (self->fd);
            self->fd = -1;
        }
    }
    if (rc != BF_OK)
        return s_fail (what);
    char label[96], extra[64];
    snprintf (label, sizeof label, "wire limit: %s", what);
    snprintf (extra, sizeof extra, "%6.3f s on the wire", S_BURST / wire);
    s_row (label, wire, unit, extra, 0, 0);
    s_row ("baseline: the model's socket", rate[0], unit, "", wire, 0);
    s_row ("  ... through client, broker and worker", rate[1], unit, "", wire, rate[0]);
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf (stderr, "usage: bench_regio PROFILE SOCKET ENDPOINT BOARD TOKEN [N]\n");
        return 2;
    }
    int n = argc == 7 ? atoi (argv[6]) : 500;
    if (n < 1 || n > S_SINGLES_MAX) {
        fprintf (stderr, "bench_regio: N '%s' is out of range (1..%d)\n", argv[6],
                 S_SINGLES_MAX);
        return 2;
    }
    bf_regio_profile_t prof;
    if (bf_regio_profile_load (&prof, argv[1]) != BF_OK)
        return s_fail ("profile");
    s_bench_t self = { .socket = argv[2], .baud = (int) prof.baud, .fd = -1 };
    int rc = 1;
    if (bf_client_new (&self.client, argv[3], 20000) != BF_OK
        || bf_regs_open (&self.regs, self.client, argv[4], argv[5], 0) != BF_OK) {
        s_fail ("the farm");
        goto out;
    }
    printf ("register I/O: the regio fixture on simulated board '%s', %s profile, "
            "%u baud 8N1 (%u bytes/s);\n", argv[4], prof.name, (unsigned) prof.baud,
            (unsigned) prof.baud / 10);
    printf ("rates against the bridge's wire limit and against the baseline (the same batch "
            "straight\non the model's socket), x1.00: as fast; RAM x16: 16 incrementing "
            "operations over\nthe 256-word RAM in one batch; fixed: one RAM word 4096 times\n");
    uint32_t ram[S_RAM_WORDS];
    if (s_probe_singles (&self, n) != 0
        || s_probe_burst (&self, ram, s_make_write_incr,
                          "write 4096 words, RAM x16, + ident", "words/s") != 0
        || s_probe_burst (&self, ram, s_make_read_incr,
                          "read 4096 words, RAM x16", "words/s") != 0
        || s_probe_burst (&self, ram, s_make_write_fixed,
                          "write 4096 words, fixed, + ident", "words/s") != 0
        || s_probe_burst (&self, ram, s_make_read_fixed,
                          "read 4096 words, fixed", "words/s") != 0)
        goto out;
    rc = 0;
out:
    bf_regs_close (&self.regs);
    bf_client_destroy (&self.client);
    return rc;
}
