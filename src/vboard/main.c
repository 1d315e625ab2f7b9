/*  bitfarm-vboard - a virtual FPGA board behind a Xilinx Virtual Cable
    (XVC 1.0) server, so that openFPGALoader and bitfarm's program jobs can
    be tested without hardware.  See --help and docs/boards.md.

    XVC 1.0 (Xilinx, "XVC protocol", github.com/Xilinx/XilinxVirtualCable,
    README): a TCP stream of commands
        getinfo:                          -> "xvcServer_v1.0:<max vector bytes>\n"
        settck:<period ns, u32 LE>        -> <period ns, u32 LE>
        shift:<bits u32 LE><TMS><TDI>     -> <TDO>
    where each vector holds (bits + 7) / 8 bytes, LSB first.

    openFPGALoader's XVC client reads each reply with a single recv(2) and
    sends a command in two send(2) calls, so the server answers each command
    with a single write, sets TCP_NODELAY, and re-arms TCP_QUICKACK after
    every read: without them each shift waits out the peer's delayed ACK
    (about 40 ms) and 2 MB take 100 s instead of 1 s.
*/
#include "bf_jtag.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_opt.h"
#include "../common/bf_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define VECTOR_MAX 4096          /* bytes per TMS or TDI vector we accept */
#define CLIENTS_MAX 8
#define INBUF_MAX (16 + 2 * VECTOR_MAX)

static const char s_usage[] =
    "usage: bitfarm-vboard [options]\n"
    "\n"
    "A virtual FPGA board: an XVC 1.0 server (getinfo:, settck:, shift:) in\n"
    "front of an emulated JTAG TAP and the configuration logic of a Xilinx\n"
    "7-series FPGA (IDCODE, JPROGRAM, BYPASS poll, CFG_IN, JSTART).  Program it\n"
    "with:  openFPGALoader -c xvc-client --ip 127.0.0.1 --port PORT file.bin\n"
    "It records the SHA-256 of every configuration it receives.\n"
    "\n"
    "  --port N             TCP port to listen on (default 0: any free port)\n"
    "  --bind ADDR          IPv4 address to listen on (default 127.0.0.1)\n"
    "  --port-file PATH     write the port here once listening\n"
    "  --state-file PATH    keep a JSON record here: configurations with their\n"
    "                       digests, connections, drops and overlaps\n"
    "  --idcode HEX         the IDCODE to report (default 0x0362d093, XC7A35T)\n"
    "  --fail MODE          fail on purpose: drop (close the connection after\n"
    "                       --drop-after bytes of configuration data), idcode\n"
    "                       (report the unknown IDCODE 0x0badc0de) or config\n"
    "                       (DONE stays low, CRC error set)\n"
    "  --fail-times N       fail only the first N connections (default: all)\n"
    "  --drop-after SIZE    configuration bytes before a drop (default 1k)\n"
    "  --latency DURATION   delay each shift: reply, like a slow cable (default 0)\n"
    "  --log-file PATH      append the log here instead of stderr\n"
    "  --log-level LEVEL    debug, info (default), warn or error\n"
    "  -h, --help           print this help and exit\n"
    "\n"
    "Exit status: 0 after SIGINT/SIGTERM, 1 when it cannot listen, 2 for a\n"
    "usage error.\n";

typedef struct {
    int fd;
    bool failing;            /* this connection carries the injected failure */
    uint8_t *in;
    size_t len;
} client_t;

typedef struct {
    const char *state_file;
    uint32_t idcode;
    int fail;                /* 0, 'd'rop, 'i'dcode, 'c'onfig */
    int64_t fail_times;      /* -1: always */
    int64_t drop_after;
    int64_t latency_ms;
    int port;
    /* the record */
    int64_t connections, drops, overlaps, configurations, failed_configs;
    int active, max_active;
    json_t *history;         /* array of configurations */
    bf_jtag_t *jtag;         /* the one device: its state outlives connections */
} vboard_t;

static volatile sig_atomic_t s_stop;

static void
s_on_signal (int sig)
{
    (void) sig;
    s_stop = 1;
}

static void
s_save (vboard_t *vb)
{
    if (!vb->state_file)
        return;
    char id[16];
    snprintf (id, sizeof id, "0x%08x", vb->idcode);
    json_t *last = json_array_size (vb->history)
                       ? json_array_get (vb->history, json_array_size (vb->history) - 1)
                       : json_null ();
    json_t *o = json_pack ("{s:i, s:s, s:I, s:I, s:I, s:i, s:I, s:I, s:O, s:O}",
                           "port", vb->port, "idcode", id,
                           "connections", (json_int_t) vb->connections,
                           "drops", (json_int_t) vb->drops,
                           "overlaps", (json_int_t) vb->overlaps,
                           "max_active", vb->max_active,
                           "configurations", (json_int_t) vb->configurations,
                           "failed_configurations", (json_int_t) vb->failed_configs,
                           "last", last, "history", vb->history);
    char *text = o ? json_dumps (o, JSON_INDENT (1)) : NULL;
    if (!text || bf_file_write_atomic (vb->state_file, text, strlen (text), 0644) != BF_OK)
        bf_err ("cannot write the state file %s: %s", vb->state_file, bf_error_last ());
    free (text);
    json_decref (o);
}

static bool
s_fails_now (vboard_t *vb)
{
    if (!vb->fail)
        return false;
    if (vb->fail_times < 0)
        return true;
    if (vb->fail_times == 0)
        return false;
    vb->fail_times--;
    return true;
}

static void
s_close (vboard_t *vb, client_t *c, const char *why)
{
    bf_info ("connection %d closed: %s", c->fd, why);
    close (c->fd);
    c->fd = -1;
    free (c->in);
    c->in = NULL;
    c->len = 0;
    vb->active--;
    s_save (vb);
}

static void
s_quickack (int fd)
{
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

static void
s_accept (vboard_t *vb, int lfd, client_t *clients)
{
    int fd = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    int slot = -1;
    for (int i = 0; i < CLIENTS_MAX; i++)
        if (clients[i].fd < 0) {
            slot = i;
            break;
        }
    if (slot < 0) {
        bf_warn ("connection refused: already %d connections", CLIENTS_MAX);
        close (fd);
        return;
    }
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s_quickack (fd);
    client_t *c = &clients[slot];
    c->fd = fd;
    c->failing = s_fails_now (vb);
    int jfail = (c->failing && vb->fail == 'c') ? BF_JTAG_FAIL_CONFIG : 0;
    uint32_t idcode = (c->failing && vb->fail == 'i') ? 0x0BADC0DEu : vb->idcode;
    bf_jtag_set (vb->jtag, idcode, jfail);
    c->in = xmalloc (INBUF_MAX);
    c->len = 0;
    vb->connections++;
    if (++vb->active > 1) {
        vb->overlaps++;
        bf_warn ("overlap: %d connections at once", vb->active);
    }
    if (vb->active > vb->max_active)
        vb->max_active = vb->active;
    bf_info ("connection %d accepted%s", fd, c->failing ? " (failure injected)" : "");
    s_save (vb);
}

static uint32_t
s_u32le (const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/*  Runs every complete command in c->in.  Returns false when the
    connection must close (error or injected drop); *why says why. */
static bool
s_serve (vboard_t *vb, client_t *c, const char **why)
{
    static uint8_t tdo[VECTOR_MAX];
    for (;;) {
        size_t used = 0;
        if (c->len >= 8 && memcmp (c->in, "getinfo:", 8) == 0) {
            char info[48];
            int n = snprintf (info, sizeof info, "xvcServer_v1.0:%d\n", 2 * VECTOR_MAX);
            if (bf_write_all (c->fd, info, (size_t) n) < 0)
                return *why = "write failed", false;
            used = 8;
        }
        else if (c->len >= 11 && memcmp (c->in, "settck:", 7) == 0) {
            if (bf_write_all (c->fd, c->in + 7, 4) < 0)
                return *why = "write failed", false;
            used = 11;
        }
        else if (c->len >= 10 && memcmp (c->in, "shift:", 6) == 0) {
            uint32_t bits = s_u32le (c->in + 6);
            size_t nbytes = (bits + 7) / 8;
            if (bits == 0 || nbytes > VECTOR_MAX)
                return *why = "shift: vector length out of range", false;
            if (c->len < 10 + 2 * nbytes)
                return true;                 /* wait for the rest */
            bf_jtag_config_t cfg;
            uint64_t before = bf_jtag_config_bytes (vb->jtag);
            int n = bf_jtag_shift (vb->jtag, c->in + 10, c->in + 10 + nbytes, tdo, bits, &cfg);
            if (n > 0) {
                vb->configurations++;
                if (!cfg.done)
                    vb->failed_configs++;
                bf_info ("configuration %s: %llu bytes, sha256 %s",
                         cfg.done ? "done" : "failed (DONE low, CRC error)",
                         (unsigned long long) cfg.bytes, cfg.sha256);
                json_array_append_new (vb->history,
                                       json_pack ("{s:s, s:I, s:b}", "sha256", cfg.sha256,
                                                  "bytes", (json_int_t) cfg.bytes, "done",
                                                  cfg.done));
                s_save (vb);
            }
            if (c->failing && vb->fail == 'd' && bf_jtag_config_bytes (vb->jtag) >= (uint64_t) vb->drop_after
                && before < (uint64_t) vb->drop_after) {
                vb->drops++;
                return *why = "dropped on purpose (--fail drop)", false;
            }
            if (vb->latency_ms > 0)
                usleep ((useconds_t) vb->latency_ms * 1000);
            if (bf_write_all (c->fd, tdo, nbytes) < 0)
                return *why = "write failed", false;
            used = 10 + 2 * nbytes;
        }
        else if (c->len >= 8 || (c->len > 0 && !memchr (c->in, ':', c->len)
                                 && c->len >= 7)) {
            return *why = "unknown XVC command", false;
        }
        if (used == 0)
            return true;
        memmove (c->in, c->in + used, c->len - used);
        c->len -= used;
    }
}

static int
s_listen (const char *addr, int port, int *port_out)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    if (inet_pton (AF_INET, addr, &sa.sin_addr) != 1)
        return bf_error_set (BF_EINVAL, "invalid value '%.80s' for --bind (want an IPv4 address)", addr);
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (fd, 16) < 0) {
        int e = errno;
        if (fd >= 0)
            close (fd);
        return bf_error_set (BF_EIO, "cannot listen on %s:%d: %s", addr, port, strerror (e));
    }
    socklen_t len = sizeof sa;
    getsockname (fd, (struct sockaddr *) &sa, &len);
    *port_out = ntohs (sa.sin_port);
    return fd;
}

int
main (int argc, char **argv)
{
    vboard_t vb = { .idcode = BF_XC7A35T_IDCODE, .fail_times = -1, .drop_after = 1024 };
    const char *bind_addr = "127.0.0.1", *port_file = NULL, *log_file = NULL;
    bf_log_level_t level = BF_LOG_INFO;
    int64_t port = 0;
    static const struct option opts[] = {
        { "port", required_argument, 0, 'p' },       { "bind", required_argument, 0, 'b' },
        { "port-file", required_argument, 0, 'P' },  { "state-file", required_argument, 0, 's' },
        { "idcode", required_argument, 0, 'i' },     { "fail", required_argument, 0, 'F' },
        { "fail-times", required_argument, 0, 't' }, { "drop-after", required_argument, 0, 'd' },
        { "log-file", required_argument, 0, 'f' },   { "log-level", required_argument, 0, 'v' },
        { "latency", required_argument, 0, 'l' },
        { "help", no_argument, 0, 'h' },             { 0, 0, 0, 0 }
    };
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        int rc = BF_OK;
        switch (c) {
        case 'p': rc = bf_opt_int (&port, "--port", optarg, 0, 65535); break;
        case 'b': bind_addr = optarg; break;
        case 'P': port_file = optarg; break;
        case 's': vb.state_file = optarg; break;
        case 'i': {
            char *end;
            errno = 0;
            unsigned long v = strtoul (optarg, &end, 16);
            if (errno || *end || end == optarg || v > 0xFFFFFFFFul)
                rc = bf_error_set (BF_EINVAL, "invalid value '%.80s' for --idcode (want 32-bit hex)", optarg);
            vb.idcode = (uint32_t) v;
            break;
        }
        case 'F':
            if (strcmp (optarg, "drop") && strcmp (optarg, "idcode") && strcmp (optarg, "config"))
                rc = bf_error_set (BF_EINVAL, "invalid value '%.80s' for --fail (want drop, idcode or config)", optarg);
            vb.fail = optarg[0];
            break;
        case 't': rc = bf_opt_int (&vb.fail_times, "--fail-times", optarg, 0, 1000000); break;
        case 'd': rc = bf_opt_size (&vb.drop_after, "--drop-after", optarg, 1, (int64_t) 1 << 30); break;
        case 'l': rc = bf_opt_duration_ms (&vb.latency_ms, "--latency", optarg, 0, 10000); break;
        case 'f': log_file = optarg; break;
        case 'v':
            if (bf_log_parse_level (optarg, &level) != BF_OK)
                rc = bf_error_set (BF_EINVAL, "invalid value '%.80s' for --log-level", optarg);
            break;
        case 'h': fputs (s_usage, stdout); return 0;
        default: fputs (s_usage, stderr); return 2;
        }
        if (rc != BF_OK) {
            fprintf (stderr, "bitfarm-vboard: %s\n", bf_error_last ());
            return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "bitfarm-vboard: unexpected argument '%.80s'\n", argv[optind]);
        return 2;
    }
    bf_log_init ("vboard", level);
    if (log_file && bf_log_open (log_file) != BF_OK) {
        fprintf (stderr, "bitfarm-vboard: %s\n", bf_error_last ());
        return 1;
    }
    signal (SIGPIPE, SIG_IGN);
    struct sigaction sa = { .sa_handler = s_on_signal };
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);

    int lfd = s_listen (bind_addr, (int) port, &vb.port);
    if (lfd < 0) {
        fprintf (stderr, "bitfarm-vboard: %s\n", bf_error_last ());
        return 1;
    }
    vb.history = json_array ();
    vb.jtag = bf_jtag_new (vb.idcode, 0);
    s_save (&vb);
    if (port_file) {
        char text[16];
        int len = snprintf (text, sizeof text, "%d\n", vb.port);
        if (bf_file_write_atomic (port_file, text, (size_t) len, 0644) != BF_OK) {
            fprintf (stderr, "bitfarm-vboard: %s\n", bf_error_last ());
            return 1;
        }
    }
    bf_info ("listening on %s:%d, IDCODE 0x%08x%s%s", bind_addr, vb.port, vb.idcode,
             vb.fail ? ", failure injected: " : "",
             vb.fail == 'd' ? "drop" : vb.fail == 'i' ? "idcode" : vb.fail == 'c' ? "config" : "");

    client_t clients[CLIENTS_MAX];
    for (int i = 0; i < CLIENTS_MAX; i++)
        clients[i] = (client_t) { .fd = -1 };
    while (!s_stop) {
        struct pollfd pfd[CLIENTS_MAX + 1];
        int map[CLIENTS_MAX + 1];
        int np = 0;
        pfd[np] = (struct pollfd) { .fd = lfd, .events = POLLIN };
        map[np++] = -1;
        for (int i = 0; i < CLIENTS_MAX; i++)
            if (clients[i].fd >= 0) {
                pfd[np] = (struct pollfd) { .fd = clients[i].fd, .events = POLLIN };
                map[np++] = i;
            }
        if (poll (pfd, (nfds_t) np, 500) < 0)
            continue;
        /* Connections first, the listening socket last: a client that
            closed and a new one that connected in the same round are then
            counted one after the other, not as an overlap. */
        for (int k = np - 1; k >= 0; k--) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (map[k] < 0) {
                s_accept (&vb, lfd, clients);
                continue;
            }
            client_t *cl = &clients[map[k]];
            ssize_t r = read (cl->fd, cl->in + cl->len, INBUF_MAX - cl->len);
            if (r <= 0) {
                s_close (&vb, cl, r == 0 ? "peer closed" : strerror (errno));
                continue;
            }
            s_quickack (cl->fd);
            cl->len += (size_t) r;
            const char *why = NULL;
            if (!s_serve (&vb, cl, &why))
                s_close (&vb, cl, why);
        }
    }
    for (int i = 0; i < CLIENTS_MAX; i++)
        if (clients[i].fd >= 0)
            s_close (&vb, &clients[i], "shutting down");
    close (lfd);
    json_decref (vb.history);
    bf_jtag_destroy (&vb.jtag);
    bf_info ("stopped");
    return 0;
}
