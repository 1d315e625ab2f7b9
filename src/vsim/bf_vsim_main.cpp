/*  bf_vsim_main - the simulated board: runs a Verilated design and connects
    its UART pins, bit-accurately, to a byte stream, so that host code (the
    bf_uartbone codec over a file descriptor) talks to the design exactly as
    it would over a serial port.

    Built per design by Verilator (bf_vsimcmd.h gives the command): the model
    class is Vbfsim (--prefix Vbfsim) and the top's clock, UART input and
    UART output ports are named by the macros BF_VSIM_CLK, BF_VSIM_RX and
    BF_VSIM_TX (default clk, uart_rx, uart_tx: bf_regio_wrap's ports).

    Usage:
        MODEL --divisor N (--fd FD | --listen PATH) [--clk-hz HZ]
              [--catchup-ms MS] [--quiet-cycles N] [--max-cycles N]
      --divisor N     clock cycles per UART bit (the core's CLK_HZ / BAUD,
                      rounded: 104 for 12 MHz and 115200 baud); 8N1
      --fd FD         the byte stream is FD (a socketpair or pipe end, read
                      and written); EOF on it ends the simulation (exit 0)
      --listen PATH   listen on a unix stream socket at PATH (created; an
                      existing socket file is replaced) and serve one
                      connection at a time; runs until SIGTERM/SIGINT.
                      When a connection ends, the design may finish the
                      answer it is sending (at most 2 s of simulated time),
                      which is then dropped with any bytes not read, so the
                      next connection starts clean
      --clk-hz HZ     the clock's frequency, for idle catch-up (12000000)
      --catchup-ms MS at most this much simulated time is caught up after
                      an idle wait (250)
      --quiet-cycles N  cycles without UART activity after which the
                      simulation counts as idle (default 64 bit times)
      --max-cycles N  stop (exit 0) after N cycles; 0 = no limit

    Readiness: once the first 64 cycles (the wrapper's power-on reset) have
    run and the stream is usable (listening, with --listen), one line
    "bf-vsim: ready divisor=N" goes to stdout and stdout is flushed.

    Timing: while bytes are in flight or the UART was active in the last
    --quiet-cycles cycles, the model runs flat out (one cycle = two evals).
    When idle it blocks in poll(2) without simulating.  Bytes from the host
    are timestamped as they are read, and the design sees them after as many
    idle cycles (at --clk-hz, at most --catchup-ms) as the host's wall-clock
    gap since the last exchange (bytes handed in or answer bytes written),
    so a design sees an idle gap as a real board would (the bridge's 100 ms
    idle reset fires), even while the simulation lags the wall clock, and an
    idle board costs no CPU.  Counters in the design advance only by this
    simulated time.

    BF_VSIM_TRACE=1 in the environment logs the bytes in and out and each
    catch-up, with cycle numbers, on stderr.

    Exit: 0 on EOF (--fd), SIGTERM/SIGINT, $finish or --max-cycles; 2 for
    usage errors; 1 for I/O errors.  Messages go to stderr, one line each.
*/
#include "Vbfsim.h"
#include "verilated.h"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef BF_VSIM_CLK
#define BF_VSIM_CLK clk
#endif
#ifndef BF_VSIM_RX
#define BF_VSIM_RX uart_rx
#endif
#ifndef BF_VSIM_TX
#define BF_VSIM_TX uart_tx
#endif

double sc_time_stamp () { return 0; }

static volatile sig_atomic_t s_stop = 0;
static bool s_trace = false;            /* BF_VSIM_TRACE=1: events on stderr */
static void s_on_signal (int sig) { (void) sig; s_stop = 1; }

static const size_t IN_MAX = 65536;     /* host bytes buffered before back-pressure */

struct Sim {
    VerilatedContext *ctx;
    Vbfsim *top;
    uint64_t cycles = 0;
    uint64_t max_cycles = 0;
    unsigned div;
    /* host -> design serializer */
    std::deque<uint8_t> in;
    int tx_bit = -1;            /* -1 idle, 0 start, 1..8 data, 9 stop */
    unsigned tx_cnt = 0;
    uint8_t tx_byte = 0;
    /* design -> host deserializer */
    int rx_bit = -1;
    unsigned rx_cnt = 0;
    uint8_t rx_byte = 0;
    std::deque<uint8_t> out;
    uint64_t last_activity = 0;
    uint64_t framing_errors = 0;
};

static void
s_step (Sim &s)
{
    /* drive the design's UART input for this cycle */
    if (s.tx_bit < 0 && !s.in.empty ()) {
        s.tx_byte = s.in.front ();
        s.in.pop_front ();
        s.tx_bit = 0;
        s.tx_cnt = s.div;
    }
    int level = 1;
    if (s.tx_bit == 0)
        level = 0;
    else if (s.tx_bit >= 1 && s.tx_bit <= 8)
        level = (s.tx_byte >> (s.tx_bit - 1)) & 1;
    s.top->BF_VSIM_RX = level;
    if (s.tx_bit >= 0) {
        s.last_activity = s.cycles;
        if (--s.tx_cnt == 0) {
            s.tx_cnt = s.div;
            if (++s.tx_bit > 9)
                s.tx_bit = -1;
        }
    }

    s.top->BF_VSIM_CLK = 1;
    s.top->eval ();
    s.top->BF_VSIM_CLK = 0;
    s.top->eval ();
    s.cycles++;

    /* sample the design's UART output */
    int txd = s.top->BF_VSIM_TX & 1;
    if (s.rx_bit < 0) {
        if (!txd) {
            s.rx_bit = 0;
            s.rx_cnt = s.div / 2;
            s.rx_byte = 0;
        }
    } else if (s.rx_cnt-- == 0) {
        s.rx_cnt = s.div - 1;
        if (s.rx_bit == 0 && txd) {
            s.rx_bit = -1;                      /* a glitch */
        } else if (s.rx_bit >= 1 && s.rx_bit <= 8) {
            s.rx_byte |= (uint8_t) (txd << (s.rx_bit - 1));
            s.rx_bit++;
        } else if (s.rx_bit == 9) {
            if (txd)
                s.out.push_back (s.rx_byte);
            else
                s.framing_errors++;
            s.rx_bit = -1;
        } else {
            s.rx_bit++;
        }
    }
    if (s.rx_bit >= 0)
        s.last_activity = s.cycles;
}

static bool
s_done (const Sim &s)
{
    return s_stop || s.ctx->gotFinish () || (s.max_cycles && s.cycles >= s.max_cycles);
}

static uint64_t
s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static bool
s_parse_u64 (const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = nullptr;
    errno = 0;
    unsigned long long x = strtoull (v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || x < min || x > max)
        return false;
    *out = x;
    return true;
}

static int
s_listen (const char *path)
{
    struct sockaddr_un sa;
    memset (&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen (path) >= sizeof sa.sun_path) {
        fprintf (stderr, "bf-vsim: socket path '%s' too long\n", path);
        return -1;
    }
    strcpy (sa.sun_path, path);
    struct stat st;
    if (lstat (path, &st) == 0 && S_ISSOCK (st.st_mode))
        unlink (path);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind (fd, (struct sockaddr *) &sa, sizeof sa) != 0 || listen (fd, 1) != 0) {
        fprintf (stderr, "bf-vsim: cannot listen on '%s': %s\n", path, strerror (errno));
        if (fd >= 0)
            close (fd);
        return -1;
    }
    return fd;
}

/*  Host bytes as they were read from the stream, with the wall-clock time
    they arrived and the cycle at which the design is to start seeing them. */
struct Chunk {
    std::vector<uint8_t> bytes;
    uint64_t t_ns;              /* when they were read */
    uint64_t sched;
};

/*  Serves one stream until EOF (returns 0), a stop (0) or an error (1).

    Timing: the wall clock and the simulation are pinned together at the
    last exchange: (t_pin, c_pin) is (the arrival time, the cycle they are
    due) of the last bytes read, or (the time, the cycle) of the last answer
    bytes written.  Bytes that arrive at wall time t are due at cycle
    c_pin + (t - t_pin) * clk_hz, at most catchup later than c_pin and never
    before the bytes ahead of them; until then the design runs with its
    UART input idle.  So the gaps the host leaves
    between bytes are the gaps the design sees (up to the cap) even when the
    simulation lags the wall clock, since arrival times are taken between
    slices while the idle cycles run.  With --listen, a connection is read
    only once the previous one has ended, so a gap across connections is
    measured from when the harness gets to the new one. */
static int
s_serve (Sim &s, int fd, uint64_t clk_hz, uint64_t catchup_ms, uint64_t quiet)
{
    int flags = fcntl (fd, F_GETFL);
    if (flags >= 0)
        fcntl (fd, F_SETFL, flags | O_NONBLOCK);
    const uint64_t cap = catchup_ms * (clk_hz / 1000u);
    std::deque<Chunk> pending;
    size_t pending_bytes = 0;
    uint64_t t_pin = s_now_ns (), c_pin = s.cycles;
    bool eof = false;
    while (!s_done (s)) {
        /* hand the bytes that are due to the design's UART input */
        while (!pending.empty () && pending.front ().sched <= s.cycles) {
            Chunk &c = pending.front ();
            s.in.insert (s.in.end (), c.bytes.begin (), c.bytes.end ());
            pending_bytes -= c.bytes.size ();
            pending.pop_front ();
        }
        bool active = !s.in.empty () || s.tx_bit >= 0 || s.rx_bit >= 0
                      || s.cycles - s.last_activity < quiet;
        bool waiting = !pending.empty ();       /* idle cycles to run before the next bytes */
        if (eof && !active && !waiting && s.out.empty ())
            return 0;
        struct pollfd p = { fd, 0, 0 };
        if (!eof && pending_bytes + s.in.size () < IN_MAX)
            p.events |= POLLIN;
        if (!s.out.empty ())
            p.events |= POLLOUT;
        int n = poll (&p, 1, (active || waiting) ? 0 : -1);
        if (n < 0 && errno != EINTR) {
            fprintf (stderr, "bf-vsim: poll: %s\n", strerror (errno));
            return 1;
        }
        if (n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) && !eof) {
            uint8_t buf[4096];
            ssize_t r = read (fd, buf, sizeof buf);
            if (r > 0) {
                uint64_t now = s_now_ns ();
                uint64_t idle = (uint64_t) ((double) (now - t_pin) * (double) clk_hz / 1e9);
                if (idle > cap)
                    idle = cap;
                uint64_t sched = c_pin + idle;
                if (!pending.empty () && sched < pending.back ().sched)
                    sched = pending.back ().sched;
                pending.push_back (Chunk { std::vector<uint8_t> (buf, buf + r), now, sched });
                pending_bytes += (size_t) r;
                t_pin = now;
                c_pin = sched;
                if (s_trace)
                    fprintf (stderr, "bf-vsim: cycle %llu: %zd bytes in (first 0x%02x), "
                             "due at cycle %llu\n", (unsigned long long) s.cycles, r, buf[0],
                             (unsigned long long) sched);
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                eof = true;
            }
        }
        if (!s.out.empty ()) {
            uint8_t buf[4096];
            size_t k = 0;
            while (k < sizeof buf && k < s.out.size ()) {
                buf[k] = s.out[k];
                k++;
            }
            ssize_t w = write (fd, buf, k);
            if (w > 0) {
                if (s_trace)
                    fprintf (stderr, "bf-vsim: cycle %llu: %zd bytes out\n",
                             (unsigned long long) s.cycles, w);
                s.out.erase (s.out.begin (), s.out.begin () + w);
                t_pin = s_now_ns ();
                c_pin = s.cycles;
            } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                if (errno == EPIPE || errno == ECONNRESET)
                    return 0;           /* the peer went away */
                fprintf (stderr, "bf-vsim: write: %s\n", strerror (errno));
                return 1;
            }
        }
        /* a slice of cycles: while active, until a byte is ready for the
           host; while only waiting, up to the next bytes' cycle */
        uint64_t slice = active ? 4096 : 65536;
        if (!pending.empty ()) {
            uint64_t due = pending.front ().sched > s.cycles ? pending.front ().sched - s.cycles : 0;
            if (due < slice)
                slice = due;
        }
        if (active || waiting)
            for (uint64_t i = 0; i < slice && !s_done (s) && s.out.size () < 4096; i++) {
                size_t before = s.out.size ();
                s_step (s);
                if (s.out.size () != before && s.rx_bit < 0 && s.in.empty () && s.tx_bit < 0)
                    break;
            }
    }
    return 0;
}

/*  Between connections: lets the design finish what it is sending (at most
    max cycles), then drops it and the bytes no one read, so the next
    connection starts clean; bytes the host sent are still delivered. */
static void
s_drain (Sim &s, uint64_t max, uint64_t quiet)
{
    for (uint64_t i = 0; i < max && !s_done (s); i++) {
        bool busy = !s.in.empty () || s.tx_bit >= 0 || s.rx_bit >= 0
                    || s.cycles - s.last_activity < quiet;
        if (!busy)
            break;
        s_step (s);
    }
    s.out.clear ();
}

static int
s_usage (const char *msg)
{
    fprintf (stderr, "bf-vsim: %s\nusage: MODEL --divisor N (--fd FD | --listen PATH) "
             "[--clk-hz HZ] [--catchup-ms MS] [--quiet-cycles N] [--max-cycles N]\n", msg);
    return 2;
}

int
main (int argc, char **argv)
{
    uint64_t div = 0, fd = UINT64_MAX, clk_hz = 12000000, catchup_ms = 250, quiet = 0, maxc = 0;
    const char *listen_path = nullptr;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : nullptr;
        bool ok = v != nullptr;
        if (strcmp (a, "--divisor") == 0)
            ok = ok && s_parse_u64 (v, 4, 1u << 20, &div);
        else if (strcmp (a, "--fd") == 0)
            ok = ok && s_parse_u64 (v, 0, 1023, &fd);
        else if (strcmp (a, "--listen") == 0)
            listen_path = v;
        else if (strcmp (a, "--clk-hz") == 0)
            ok = ok && s_parse_u64 (v, 1000, 1000000000, &clk_hz);
        else if (strcmp (a, "--catchup-ms") == 0)
            ok = ok && s_parse_u64 (v, 0, 60000, &catchup_ms);
        else if (strcmp (a, "--quiet-cycles") == 0)
            ok = ok && s_parse_u64 (v, 1, 1u << 30, &quiet);
        else if (strcmp (a, "--max-cycles") == 0)
            ok = ok && s_parse_u64 (v, 0, UINT64_MAX, &maxc);
        else {
            char msg[300];
            snprintf (msg, sizeof msg, "unknown option '%.200s'", a);
            return s_usage (msg);
        }
        if (!ok) {
            char msg[300];
            snprintf (msg, sizeof msg, "invalid value '%.100s' for %.50s", v ? v : "", a);
            return s_usage (msg);
        }
        i++;
    }
    if (!div)
        return s_usage ("--divisor is required");
    if ((fd == UINT64_MAX) == (listen_path == nullptr))
        return s_usage ("give one of --fd and --listen");
    if (!quiet)
        quiet = 64 * div;
    const char *tr = getenv ("BF_VSIM_TRACE");
    s_trace = tr && strcmp (tr, "1") == 0;

    signal (SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction (SIGTERM, &sa, nullptr);
    sigaction (SIGINT, &sa, nullptr);

    Sim s;
    s.ctx = new VerilatedContext;
    s.top = new Vbfsim (s.ctx);
    s.div = (unsigned) div;
    s.max_cycles = maxc;
    s.top->BF_VSIM_RX = 1;
    s.top->BF_VSIM_CLK = 0;
    s.top->eval ();
    for (int i = 0; i < 64; i++)
        s_step (s);
    s.last_activity = 0;

    int rc = 0;
    int lfd = -1;
    if (listen_path && (lfd = s_listen (listen_path)) < 0)
        rc = 1;
    if (rc == 0) {
        printf ("bf-vsim: ready divisor=%u\n", s.div);
        fflush (stdout);
    }
    if (rc == 0 && lfd < 0) {
        rc = s_serve (s, (int) fd, clk_hz, catchup_ms, quiet);
    } else if (rc == 0) {
        while (!s_done (s)) {
            int c = accept4 (lfd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) {
                if (errno == EINTR)
                    continue;
                fprintf (stderr, "bf-vsim: accept: %s\n", strerror (errno));
                rc = 1;
                break;
            }
            rc = s_serve (s, c, clk_hz, catchup_ms, quiet);
            close (c);
            if (rc != 0)
                break;
            s_drain (s, 2 * clk_hz, quiet);
        }
        close (lfd);
        unlink (listen_path);
    }
    if (s.framing_errors)
        fprintf (stderr, "bf-vsim: %llu framing errors on the design's UART output\n",
                 (unsigned long long) s.framing_errors);
    s.top->final ();
    delete s.top;
    delete s.ctx;
    return rc;
}
